// Operation: something workflow code started whose outcome history delivers later (an activity, a
// timer), and the handles through which workflow code awaits or cancels it.
//
// An Operation is where a state machine and the coroutines meet. The machine (worker/machines/)
// settles it when the deciding event is applied: resolve(payloads) for ActivityTaskCompleted or
// TimerFired, reject(error) for ActivityTaskFailed, a cancellation, ... Settling makes every waiting
// coroutine ready in the Scheduler; they run when the replay engine next runs workflow code.
// Handles are cheap copies pointing at the operation; the run owns the operation and outlives every
// coroutine frame, so a handle kept in a frame never dangles.
//
// Exercised by tests/worker/activity_test.cpp and tests/worker/timer_test.cpp.
#pragma once

#include <algorithm>
#include <coroutine>
#include <exception>
#include <source_location>
#include <vector>

#include "reprise/converter.h"
#include "reprise/scheduler.h"

namespace reprise {

namespace detail {

class Operation {
 public:
  Operation(Scheduler& scheduler, std::source_location where) : scheduler_(scheduler), where_(where) {}
  virtual ~Operation() = default;
  Operation(const Operation&) = delete;
  Operation& operator=(const Operation&) = delete;

  bool settled() const { return settled_; }
  // The workflow-code line that started it.
  std::source_location where() const { return where_; }

  // Called by the state machine; settling twice keeps the first outcome.
  void resolve(Payloads value) { settle(std::move(value), nullptr); }
  void reject(std::exception_ptr error) { settle({}, std::move(error)); }

  // Called by workflow code through a handle. What it does depends on the kind and its state.
  virtual void cancel(std::source_location where) = 0;

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

  Scheduler& scheduler_;
  std::source_location where_;
  bool settled_ = false;
  Payloads value_;
  std::exception_ptr error_;
  std::vector<std::coroutine_handle<>> waiters_;
};

// What `co_await handle` creates: waits for the operation, then decodes its value as T.
template <class T>
class OperationAwaiter {
 public:
  OperationAwaiter(Operation* op, const DataConverter* converter) : op_(op), converter_(converter) {}
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
  Operation* op_;
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
  ActivityHandle(detail::Operation* op, const DataConverter* converter) : op_(op), converter_(converter) {}
  detail::OperationAwaiter<T> operator co_await() const { return {op_, converter_}; }
  void cancel(std::source_location where = std::source_location::current()) { op_->cancel(where); }
  bool settled() const { return op_->settled(); }

 private:
  detail::Operation* op_;
  const DataConverter* converter_;
};

// The handle of a durable timer (WorkflowContext::sleep / start_timer). `co_await timer` returns
// when it fires, or throws CanceledError once cancel() was called.
class TimerHandle {
 public:
  TimerHandle(detail::Operation* op, const DataConverter* converter) : op_(op), converter_(converter) {}
  detail::OperationAwaiter<void> operator co_await() const { return {op_, converter_}; }
  void cancel(std::source_location where = std::source_location::current()) { op_->cancel(where); }
  bool settled() const { return op_->settled(); }

 private:
  detail::Operation* op_;
  const DataConverter* converter_;
};

}  // namespace reprise
