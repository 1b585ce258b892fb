// The deterministic scheduler and Workflow<T>, without any history: resumption order, iteration
// instead of recursion, exceptions through co_await, conditions, and frames that die while queued.
#include "reprise/scheduler.h"

#include <catch2/catch.hpp>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include "reprise/combinators.h"
#include "reprise/workflow_coroutine.h"

using namespace reprise;

namespace {

// Starts `make()` as a root coroutine on `scheduler` and runs until everything is blocked.
template <class Make>
auto run_root(Scheduler& scheduler, Make make) {
  std::optional<decltype(make())> root;
  scheduler.run_until_blocked([&] {
    root.emplace(make());
    root->start_detached();
  });
  return root;
}

Workflow<int> one() { co_return 1; }

Workflow<long> sum_of_ones(int n) {
  long sum = 0;
  for (int i = 0; i < n; ++i) sum += co_await one();
  co_return sum;
}

Workflow<int> nested(int depth) {
  if (depth == 0) co_return 0;
  co_return 1 + co_await nested(depth - 1);
}

Workflow<> append(std::vector<std::string>& log, std::string name) {
  log.push_back(name);
  co_return;
}

Workflow<> throws() {
  throw std::runtime_error("boom");
  co_return;
}

Workflow<std::string> catches() {
  try {
    co_await throws();
  } catch (const std::runtime_error& e) {
    co_return std::string("caught ") + e.what();
  }
  co_return "nothing";
}

}  // namespace

TEST_CASE("a million helpers that finish at once run in a loop, not on a growing stack") {
  Scheduler scheduler;
  auto root = run_root(scheduler, [] { return sum_of_ones(1'000'000); });
  REQUIRE(root->done());
  CHECK(root->take_result() == 1'000'000);
}

TEST_CASE("helpers nested a hundred thousand deep unwind through the ready queue") {
  Scheduler scheduler;
  auto root = run_root(scheduler, [] { return nested(100'000); });
  REQUIRE(root->done());
  CHECK(root->take_result() == 100'000);
}

TEST_CASE("coroutines resume in the order they became ready") {
  Scheduler scheduler;
  std::vector<std::string> log;
  auto root = run_root(scheduler, [&]() -> Workflow<> {
    co_await all(append(log, "first"), append(log, "second"), append(log, "third"));
  });
  CHECK(log == std::vector<std::string>{"first", "second", "third"});
}

TEST_CASE("an exception escaping a helper is rethrown where the helper is awaited") {
  Scheduler scheduler;
  auto root = run_root(scheduler, [] { return catches(); });
  CHECK(root->take_result() == "caught boom");
}

TEST_CASE("conditions are re-checked when nothing else is ready, in the order they were awaited") {
  Scheduler scheduler;
  std::vector<std::string> log;
  int stage = 0;
  auto waiter = [&](int until, std::string name) -> Workflow<> {
    co_await ConditionAwaiter(
        &scheduler, [&stage, until] { return stage >= until; }, std::source_location::current());
    log.push_back(name);
  };
  auto root = run_root(scheduler, [&]() -> Workflow<> { co_await all(waiter(2, "later"), waiter(1, "sooner")); });
  CHECK(log.empty());
  stage = 2;
  scheduler.run_until_blocked();
  CHECK(log == std::vector<std::string>{"later", "sooner"});
  CHECK(root->done());
}

TEST_CASE("calling a workflow coroutine outside workflow code throws std::logic_error") {
  CHECK_THROWS_AS(one(), std::logic_error);
}

TEST_CASE("a frame destroyed while it waits in the ready queue is never resumed") {
  Scheduler scheduler;
  const long before = live_workflow_frames();
  bool ran = false;
  scheduler.run_until_blocked([&] {
    auto doomed = [&]() -> Workflow<> {
      ran = true;
      co_return;
    }();
    doomed.start_detached();
    CHECK(scheduler.has_ready());
  });  // `doomed` was destroyed at the end of the lambda, before the loop could resume it
  CHECK_FALSE(ran);
  CHECK(live_workflow_frames() == before);
}
