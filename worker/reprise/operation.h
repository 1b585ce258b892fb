// Operation: something workflow code started whose outcome history delivers later (an activity, a
// timer), and the handles through which workflow code awaits or cancels it.
//
// An Operation is where a state machine and the coroutines meet. The machine (worker/machines/)
// settles it when the deciding event is applied: resolve(payloads) for ActivityTaskCompleted or
// TimerFired, reject(error) for ActivityTaskFailed, a cancellation, ... Settling makes every waiting
// coroutine ready in the Scheduler; they run when the replay engine next runs workflow code.
//
// Who keeps what: handles (and the awaiters made from them) and the machine share the operation
// (reference counted), so a handle kept in a coroutine frame never dangles. The run lets a machine
// go once history can address nothing more to it (the activity closed, the timer fired); its
// operation lives on, settled, as long as a handle does, and cancel() through it does nothing.
// That keeps a long run's memory to what is still in flight (bench/README.md, "sticky cache").
//
// Exercised by tests/worker/activity_test.cpp, tests/worker/timer_test.cpp and
// tests/worker/frames_test.cpp.
#pragma once

#include <algorithm>
#include <boost/smart_ptr/intrusive_ptr.hpp>
#include <coroutine>
#include <exception>
#include <source_location>
#include <vector>

#include "reprise/converter.h"
#include "reprise/scheduler.h"

namespace reprise {

namespace detail {

// What an Operation's cancel() reaches: its machine, while the run keeps it.
class Cancelable {
 public:
  virtual void cancel(std::source_location where) = 0;

 protected:
  ~Cancelable() = default;
};

class Operation;
using OperationRef = boost::intrusive_ptr<Operation>;

class Operation final {
 public:
  Operation(Scheduler& scheduler, std::source_location where, Cancelable* machine)
      : scheduler_(scheduler), where_(where), machine_(machine) {}
  Operation(const Operation&) = delete;
  Operation& operator=(const Operation&) = delete;

  bool settled() const { return settled_; }
  // The workflow-code line that started it.
  std::source_location where() const { return where_; }

  // Called by the state machine; settling twice keeps the first outcome.
  void resolve(Payloads value) { settle(std::move(value), nullptr); }
  void reject(std::exception_ptr error) { settle({}, std::move(error)); }

  // Called by workflow code through a handle. What it does depends on the kind and its state.
  void cancel(std::source_location where) {
    if (machine_ != nullptr) machine_->cancel(where);
  }
  // Called by the machine as the run lets it go.
  void detach_machine() { machine_ = nullptr; }

  void add_waiter(std::coroutine_handle<> waiter) {
    waiters_.push_back(waiter);
    scheduler_.note_blocked_at(where_);
  }
  void remove_waiter(std::coroutine_handle<> waiter) {
    waiters_.erase(std::remove(waiters_.begin(), waiters_.end(), waiter), waiters_.end());
  }
  // The outcome; rethrows a rejection. Only once settled().
  const Payloads& value() const {
    if (error_) std::rethrow_exception(error_);
    return value_;
  }

 private:
  void settle(Payloads value, std::exception_ptr error) {
    if (settled_) return;
    settled_ = true;
    value_ = std::move(value);
    error_ = std::move(error);
    for (auto waiter : waiters_) scheduler_.schedule(waiter);
    waiters_.clear();
  }

  friend void intrusive_ptr_add_ref(Operation* op) { ++op->references_; }
  friend void intrusive_ptr_release(Operation* op) {
    if (--op->references_ == 0) delete op;
  }

  Scheduler& scheduler_;
  std::source_location where_;
  Cancelable* machine_;
  int references_ = 0;
  bool settled_ = false;
  Payloads value_;
  std::exception_ptr error_;
  std::vector<std::coroutine_handle<>> waiters_;
};

// What `co_await handle` creates: waits for the operation, then decodes its value as T.
template <class T>
class OperationAwaiter {
 public:
  OperationAwaiter(OperationRef op, const DataConverter* converter) : op_(std::move(op)), converter_(converter) {}
  OperationAwaiter(const OperationAwaiter&) = delete;
  OperationAwaiter& operator=(const OperationAwaiter&) = delete;
  // A coroutine frame destroyed while waiting (eviction, a loser of any()) leaves the wait list.
  ~OperationAwaiter() {
    if (waiting_) op_->remove_waiter(waiting_);
  }

  bool await_ready() const noexcept { return op_->settled(); }
  void await_suspend(std::coroutine_handle<> waiter) {
    waiting_ = waiter;
    op_->add_waiter(waiter);
  }
  T await_resume() {
    waiting_ = {};
    const Payloads& value = op_->value();
    if constexpr (!std::is_void_v<T>) return converter_->from_payloads<T>(value);
  }

 private:
  OperationRef op_;
  const DataConverter* converter_;
  std::coroutine_handle<> waiting_;
};

}  // namespace detail

// The handle of an activity started with WorkflowContext::start_activity<T>. `co_await handle`
// gives its T result or throws ActivityError; it may be awaited any number of times, also from
// all()/any(). cancel() asks for cancellation (see ActivityCancellationType in options.h).
template <class T>
class ActivityHandle {
 public:
  ActivityHandle(detail::OperationRef op, const DataConverter* converter) : op_(std::move(op)), converter_(converter) {}
  detail::OperationAwaiter<T> operator co_await() const { return {op_, converter_}; }
  void cancel(std::source_location where = std::source_location::current()) { op_->cancel(where); }
  bool settled() const { return op_->settled(); }

 private:
  detail::OperationRef op_;
  const DataConverter* converter_;
};

// The handle of a durable timer (WorkflowContext::sleep / start_timer). `co_await timer` returns
// when it fires, or throws CanceledError once cancel() was called.
class TimerHandle {
 public:
  TimerHandle(detail::OperationRef op, const DataConverter* converter) : op_(std::move(op)), converter_(converter) {}
  detail::OperationAwaiter<void> operator co_await() const { return {op_, converter_}; }
  void cancel(std::source_location where = std::source_location::current()) { op_->cancel(where); }
  bool settled() const { return op_->settled(); }

 private:
  detail::OperationRef op_;
  const DataConverter* converter_;
};

}  // namespace reprise
