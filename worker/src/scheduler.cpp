// The deterministic scheduler's loop (see reprise/scheduler.h for why it iterates).
// Exercised by tests/worker/scheduler_test.cpp.
#include "reprise/scheduler.h"

#include <algorithm>

namespace reprise {

namespace {
thread_local Scheduler* t_current = nullptr;

// Sets the thread's current scheduler for the duration of one run_until_blocked(), restoring the
// previous one afterwards (a Replayer may replay one run while a test holds another).
class CurrentScope {
 public:
  explicit CurrentScope(Scheduler* s) : previous_(t_current) { t_current = s; }
  ~CurrentScope() { t_current = previous_; }
  CurrentScope(const CurrentScope&) = delete;
  CurrentScope& operator=(const CurrentScope&) = delete;

 private:
  Scheduler* previous_;
};
}  // namespace

Scheduler* Scheduler::current() { return t_current; }

void Scheduler::schedule(std::coroutine_handle<> handle) { ready_.push_back(handle); }

void Scheduler::forget(std::coroutine_handle<> handle) {
  ready_.erase(std::remove(ready_.begin(), ready_.end(), handle), ready_.end());
}

void Scheduler::add_condition(ConditionWaiter* waiter) { conditions_.push_back(waiter); }

void Scheduler::remove_condition(ConditionWaiter* waiter) {
  conditions_.erase(std::remove(conditions_.begin(), conditions_.end(), waiter), conditions_.end());
}

bool Scheduler::wake_true_conditions() {
  // A predicate may read state that an earlier woken coroutine changes, but woken coroutines only
  // run after this pass: every predicate sees the same state, in registration order.
  std::vector<ConditionWaiter*> still_waiting;
  bool woke = false;
  for (ConditionWaiter* waiter : conditions_) {
    if (waiter->predicate()) {
      ready_.push_back(waiter->handle);
      woke = true;
    } else {
      still_waiting.push_back(waiter);
    }
  }
  conditions_ = std::move(still_waiting);
  return woke;
}

int Scheduler::run_until_blocked(const std::function<void()>& first) {
  CurrentScope scope(this);
  if (first) first();
  int resumed = 0;
  do {
    while (!ready_.empty()) {
      std::coroutine_handle<> next = ready_.front();
      ready_.pop_front();
      next.resume();
      ++resumed;
    }
  } while (wake_true_conditions());
  return resumed;
}

}  // namespace reprise
