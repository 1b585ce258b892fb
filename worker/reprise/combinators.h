// Conditions and fan-out/fan-in: ConditionAwaiter, all(...) and any(...).
//
//   co_await ctx.wait_condition([&] { return approved; });         // until a predicate holds
//   auto [a, b] = co_await all(ctx.start_activity<int>(...), ctx.start_activity<int>(...));
//   auto first = co_await any(ctx.wait_condition(pred), ctx.sleep(1h));   // first.index() == 0 ?
//
// all() and any() accept anything co_await-able in a workflow (activity and timer handles, other
// Workflow<T> coroutines, conditions) and are Workflow<T> coroutines themselves. Each argument is
// awaited by a small "watcher" coroutine that the combinator owns; all watchers start together (in
// argument order, through the ready queue) and report to a shared join point.
//   * all() returns a std::tuple of the results (std::monostate for void) once every argument has
//     finished, or rethrows the first failure as soon as it happens (like Promise.all).
//   * any() returns a std::variant whose index() is the argument that finished first and whose
//     alternative holds its result (std::monostate for void); a failure that comes first is rethrown
//     (like Promise.race). Losing watchers are destroyed with the combinator; operations they were
//     watching go on (an activity still runs; cancel its handle if that matters).
//
// Exercised by tests/worker/combinators_test.cpp.
#pragma once

#include <coroutine>
#include <cstddef>
#include <exception>
#include <functional>
#include <optional>
#include <source_location>
#include <tuple>
#include <utility>
#include <variant>
#include <vector>

#include "reprise/scheduler.h"
#include "reprise/workflow_coroutine.h"

namespace reprise {

// What `co_await ctx.wait_condition(pred)` waits on: the Scheduler re-checks the predicate whenever
// the ready queue runs dry and resumes the waiter once it holds. Movable until awaited.
class ConditionAwaiter {
 public:
  ConditionAwaiter(Scheduler* scheduler, std::function<bool()> predicate, std::source_location where)
      : scheduler_(scheduler), waiter_{std::move(predicate), {}}, where_(where) {}
  ConditionAwaiter(ConditionAwaiter&& other) noexcept
      : scheduler_(other.scheduler_), waiter_(std::move(other.waiter_)), where_(other.where_) {}
  ConditionAwaiter& operator=(ConditionAwaiter&&) = delete;
  ~ConditionAwaiter() {
    if (registered_) scheduler_->remove_condition(&waiter_);
  }

  bool await_ready() { return waiter_.predicate(); }
  void await_suspend(std::coroutine_handle<> handle) {
    waiter_.handle = handle;
    scheduler_->add_condition(&waiter_);
    scheduler_->note_blocked_at(where_);
    registered_ = true;
  }
  void await_resume() { registered_ = false; }

 private:
  Scheduler* scheduler_;
  Scheduler::ConditionWaiter waiter_;
  std::source_location where_;
  bool registered_ = false;
};

namespace detail {

template <class A>
decltype(auto) awaiter_of(A&& awaitable) {
  if constexpr (requires { std::forward<A>(awaitable).operator co_await(); })
    return std::forward<A>(awaitable).operator co_await();
  else
    return std::forward<A>(awaitable);
}
template <class A>
using await_result_t = decltype(awaiter_of(std::declval<A>()).await_resume());
template <class R>
using value_or_monostate_t = std::conditional_t<std::is_void_v<R>, std::monostate, R>;
template <class A>
using combinator_value_t = value_or_monostate_t<await_result_t<A>>;

// The join point: counts finished watchers and wakes the combinator once it may go on.
class JoinPoint {
 public:
  explicit JoinPoint(std::size_t needed) : needed_(needed) {}
  void arrive(std::exception_ptr error) {
    if (!error_ && error) error_ = error;
    ++arrived_;
    if (waiter_ && ready()) {
      Scheduler::current()->schedule(waiter_);
      waiter_ = {};
    }
  }
  bool await_ready() const { return ready(); }
  void await_suspend(std::coroutine_handle<> waiter) { waiter_ = waiter; }
  void await_resume() const {
    if (error_) std::rethrow_exception(error_);
  }

 private:
  bool ready() const { return arrived_ >= needed_ || error_; }
  std::size_t needed_;
  std::size_t arrived_ = 0;
  std::exception_ptr error_;
  std::coroutine_handle<> waiter_;
};

// Awaits one argument and stores its value (or failure) for all().
template <class A, class Slot>
Workflow<> watch_for_all(A awaitable, Slot& slot, JoinPoint& join) {
  std::exception_ptr error;
  try {
    if constexpr (std::is_void_v<await_result_t<A>>) {
      co_await std::move(awaitable);
      slot.emplace();
    } else {
      slot.emplace(co_await std::move(awaitable));
    }
  } catch (...) {
    error = std::current_exception();
  }
  join.arrive(error);
}

// Awaits one argument for any(): the first to finish fills the winner slot.
template <std::size_t I, class A, class Variant>
Workflow<> watch_for_any(A awaitable, std::optional<Variant>& winner, JoinPoint& join) {
  std::exception_ptr error;
  try {
    if constexpr (std::is_void_v<await_result_t<A>>) {
      co_await std::move(awaitable);
      if (!winner) winner.emplace(std::in_place_index<I>);
    } else {
      auto value = co_await std::move(awaitable);
      if (!winner) winner.emplace(std::in_place_index<I>, std::move(value));
    }
  } catch (...) {
    error = std::current_exception();
  }
  join.arrive(winner ? nullptr : error);
}

}  // namespace detail

template <class... Awaitables>
Workflow<std::tuple<detail::combinator_value_t<Awaitables>...>> all(Awaitables... awaitables) {
  detail::JoinPoint join(sizeof...(Awaitables));
  std::tuple<std::optional<detail::combinator_value_t<Awaitables>>...> slots;
  std::vector<Workflow<>> watchers;
  [&]<std::size_t... I>(std::index_sequence<I...>) {
    (watchers.push_back(detail::watch_for_all(std::move(awaitables), std::get<I>(slots), join)), ...);
  }
  (std::index_sequence_for<Awaitables...>{});
  for (auto& watcher : watchers) watcher.start_detached();
  co_await join;
  co_return std::apply([](auto&... slot) { return std::make_tuple(std::move(*slot)...); }, slots);
}

template <class... Awaitables>
Workflow<std::variant<detail::combinator_value_t<Awaitables>...>> any(Awaitables... awaitables) {
  using Result = std::variant<detail::combinator_value_t<Awaitables>...>;
  detail::JoinPoint join(1);
  std::optional<Result> winner;
  std::vector<Workflow<>> watchers;
  [&]<std::size_t... I>(std::index_sequence<I...>) {
    (watchers.push_back(detail::watch_for_any<I>(std::move(awaitables), winner, join)), ...);
  }
  (std::index_sequence_for<Awaitables...>{});
  for (auto& watcher : watchers) watcher.start_detached();
  co_await join;
  co_return std::move(*winner);
}

}  // namespace reprise
