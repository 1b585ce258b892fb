// The deterministic scheduler: the one place where workflow coroutines are resumed.
//
// A workflow is a tree of coroutines (the workflow function, the helpers it co_awaits, the watchers
// of all()/any()). None of them ever resumes another directly. When something a coroutine waits for
// happens (history says an activity completed, a child coroutine returned, a condition became true)
// its handle is put at the back of the *ready queue*; `run_until_blocked()` then pops handles one at a
// time and resumes them, until no coroutine can make progress. That gives two properties:
//
//   * Determinism. The order of resumption depends only on the order in which the replay engine
//     applies history events and on the workflow code itself: one thread, FIFO, no clock.
//   * Bounded stack. Every resume starts from the loop below, so a workflow that awaits a million
//     children that finish at once uses one stack frame per level of the loop, not a million nested
//     frames (g++ 12 only turns symmetric transfer into a tail call with -foptimize-sibling-calls,
//     and not at all under AddressSanitizer: see stack-notes.md, pitfall 1).
//
// Conditions (`ctx.wait_condition(pred)`) are checked when the ready queue runs dry, in the order they
// were registered, as Temporal's TypeScript SDK does; a condition that became true is resumed like
// any other ready coroutine, and the loop goes round again.
//
// Not thread-safe by design: a workflow run lives on one thread at a time.
// Exercised by tests/worker/scheduler_test.cpp.
#pragma once

#include <coroutine>
#include <deque>
#include <functional>
#include <optional>
#include <source_location>
#include <vector>

namespace reprise {

class Scheduler {
 public:
  Scheduler() = default;
  Scheduler(const Scheduler&) = delete;
  Scheduler& operator=(const Scheduler&) = delete;

  // The scheduler whose run_until_blocked() is running on this thread, or nullptr outside one.
  // Workflow coroutines are created only while their run's scheduler is running (by workflow code);
  // their promise remembers it.
  static Scheduler* current();

  // Puts a suspended coroutine at the back of the ready queue.
  void schedule(std::coroutine_handle<> handle);

  // Removes every queued entry of a coroutine whose frame is being destroyed, so that it is never
  // resumed after death (a loser of any() may have been made ready just before its frame goes).
  void forget(std::coroutine_handle<> handle);

  // A coroutine suspended until `predicate()` is true. The waiter object lives in the suspended
  // coroutine's frame and removes itself in its destructor.
  struct ConditionWaiter {
    std::function<bool()> predicate;
    std::coroutine_handle<> handle;
  };
  void add_condition(ConditionWaiter* waiter);
  void remove_condition(ConditionWaiter* waiter);

  // Calls `first` (if given), then resumes ready coroutines until none is ready and no condition is
  // true; all of it with this scheduler as current(). Returns how many resumptions it made.
  // Exceptions never escape a resume (workflow promises capture them); an exception from `first`
  // or from a condition's predicate propagates.
  int run_until_blocked(const std::function<void()>& first = {});

  bool has_ready() const { return !ready_.empty(); }

  // Where workflow code last suspended on an operation (an activity, a timer, a condition): the
  // line a "missing command" nondeterminism error points at, since no command names it.
  void note_blocked_at(std::source_location where) { last_blocked_at_ = where; }
  std::optional<std::source_location> last_blocked_at() const { return last_blocked_at_; }

 private:
  // Moves the waiters whose predicate holds to the ready queue; returns whether it moved any.
  bool wake_true_conditions();

  std::deque<std::coroutine_handle<>> ready_;
  std::vector<ConditionWaiter*> conditions_;
  std::optional<std::source_location> last_blocked_at_;
};

}  // namespace reprise
