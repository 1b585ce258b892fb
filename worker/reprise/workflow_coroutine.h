// Workflow<T>: the coroutine type of workflow code, and the counter that proves frames are freed.
//
// Every function that co_awaits inside a workflow returns Workflow<T>: the workflow function itself
// (`Workflow<std::string> greet(WorkflowContext&, std::string)`) and any helper it calls. A
// Workflow<T> is *lazy*: calling the function allocates the frame and stops before the first line;
// the body starts when someone co_awaits the result. It is *owned*: the Workflow<T> object owns its
// frame and destroys it in its destructor, so a whole workflow is a tree of frames hanging from the
// root, and destroying the root (eviction, or the run completing) frees all of them.
//
// Resumption goes through the Scheduler (reprise/scheduler.h), never straight from one coroutine
// into another: awaiting a child puts the child in the ready queue, and a finishing child puts its
// parent there. An exception that escapes a body is stored and rethrown from co_await in the parent.
//
// Exercised by tests/worker/scheduler_test.cpp and tests/worker/frames_test.cpp.
#pragma once

#include <atomic>
#include <coroutine>
#include <exception>
#include <optional>
#include <stdexcept>
#include <utility>

#include "reprise/scheduler.h"

namespace reprise {

// How many workflow coroutine frames exist right now in this process (all runs together). Tests
// read it to prove that completion and eviction free every frame.
long live_workflow_frames();

namespace detail {

extern std::atomic<long> g_live_workflow_frames;

// What every workflow promise shares: the scheduler it belongs to, who to wake when it finishes,
// and the exception that escaped its body, if any.
class PromiseBase {
 public:
  PromiseBase() : scheduler_(Scheduler::current()) {
    if (scheduler_ == nullptr)
      throw std::logic_error(
          "a workflow coroutine was called outside workflow code: only code run by a WorkflowRun "
          "(or a Replayer) may create Workflow<T> coroutines");
    ++g_live_workflow_frames;
  }
  ~PromiseBase() {
    scheduler_->forget(self_);
    --g_live_workflow_frames;
  }
  PromiseBase(const PromiseBase&) = delete;
  PromiseBase& operator=(const PromiseBase&) = delete;

  std::suspend_always initial_suspend() noexcept { return {}; }  // lazy: start when awaited

  // At the end of the body: mark done and make the awaiting parent ready (never resume it here).
  struct FinalAwaiter {
    bool await_ready() noexcept { return false; }
    void await_suspend(std::coroutine_handle<>) noexcept {
      promise->done_ = true;
      if (promise->continuation_) promise->scheduler_->schedule(promise->continuation_);
    }
    void await_resume() noexcept {}
    PromiseBase* promise;
  };
  FinalAwaiter final_suspend() noexcept { return FinalAwaiter{this}; }

  void unhandled_exception() { error_ = std::current_exception(); }

  Scheduler* scheduler_;
  std::coroutine_handle<> self_;
  std::coroutine_handle<> continuation_;
  std::exception_ptr error_;
  bool done_ = false;
};

template <class T>
struct ReturnSlot {
  std::optional<T> value;
  template <class U = T>
  void return_value(U&& v) {
    value.emplace(std::forward<U>(v));
  }
};
template <>
struct ReturnSlot<void> {
  void return_void() {}
};

}  // namespace detail

template <class T = void>
class [[nodiscard]] Workflow {
 public:
  struct promise_type : detail::PromiseBase, detail::ReturnSlot<T> {
    Workflow get_return_object() {
      auto handle = std::coroutine_handle<promise_type>::from_promise(*this);
      self_ = handle;
      return Workflow(handle);
    }
  };
  using Handle = std::coroutine_handle<promise_type>;

  Workflow(Workflow&& other) noexcept : handle_(std::exchange(other.handle_, {})) {}
  Workflow& operator=(Workflow&& other) noexcept {
    if (this != &other) {
      if (handle_) handle_.destroy();
      handle_ = std::exchange(other.handle_, {});
    }
    return *this;
  }
  ~Workflow() {
    if (handle_) handle_.destroy();
  }

  // co_await starts the body (through the ready queue) and resumes the awaiting coroutine once it
  // has finished; it returns the co_returned value or rethrows what escaped. Await a Workflow once.
  struct Awaiter {
    Handle child;
    bool await_ready() const noexcept { return child.promise().done_; }
    void await_suspend(std::coroutine_handle<> parent) {
      child.promise().continuation_ = parent;
      child.promise().scheduler_->schedule(child);
    }
    T await_resume() {
      if (child.promise().error_) std::rethrow_exception(child.promise().error_);
      if constexpr (!std::is_void_v<T>) return std::move(*child.promise().value);
    }
  };
  Awaiter operator co_await() && noexcept { return Awaiter{handle_}; }
  Awaiter operator co_await() & noexcept { return Awaiter{handle_}; }

  // For the replay engine, which runs the root workflow without a parent: start, observe, collect.
  void start_detached() { handle_.promise().scheduler_->schedule(handle_); }
  bool done() const { return handle_.promise().done_; }
  T take_result() { return Awaiter{handle_}.await_resume(); }

 private:
  explicit Workflow(Handle handle) : handle_(handle) {}
  Handle handle_;
};

}  // namespace reprise
