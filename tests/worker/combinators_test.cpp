// Fan-out and fan-in: all() waits for every argument (or the first failure), any() for the first.
#include <catch2/catch.hpp>

#include "history_builder.h"
#include "reprise/workflow.h"
#include "three_ways.h"

using namespace std::chrono_literals;
using namespace reprise;
using namespace reprise::testing;

namespace {

Workflow<int> double_of(WorkflowContext& ctx, std::string type) {
  int value = co_await ctx.execute_activity<int>(type, {.start_to_close_timeout = 1s});
  co_return value * 2;
}

Workflow<int> fan_out(WorkflowContext& ctx) {
  auto a = ctx.start_activity<int>("a", {.start_to_close_timeout = 1s});
  auto [x, y, z] = co_await all(a, double_of(ctx, "b"), ctx.start_activity<int>("c", {.start_to_close_timeout = 1s}));
  co_return x + y + z;
}

Workflow<std::string> first_failure(WorkflowContext& ctx) {
  try {
    co_await all(ctx.start_activity("slow", {.start_to_close_timeout = 1s}),
                 ctx.start_activity("broken", {.start_to_close_timeout = 1s}));
    co_return "all succeeded";
  } catch (const ActivityError& e) {
    co_return e.activity_type() + " failed first";
  }
}

Workflow<std::string> race(WorkflowContext& ctx) {
  auto winner = co_await any(ctx.start_activity<std::string>("fetch", {.start_to_close_timeout = 1s}), ctx.sleep(10s));
  if (winner.index() == 1) co_return "timed out";
  co_return std::get<0>(winner);
}

WorkflowRegistry registry() {
  WorkflowRegistry r;
  r.register_workflow("fan_out", fan_out);
  r.register_workflow("first_failure", first_failure);
  r.register_workflow("race", race);
  return r;
}

template <class T>
T result_of(const TaskAnswer& answer) {
  return DataConverter().from_payloads<T>(
      answer.commands.at(0).complete_workflow_execution_command_attributes().result());
}

}  // namespace

TEST_CASE("all() starts every operation in one workflow task and returns their results in argument order") {
  // Handles start at the call, a Workflow<T> helper only when all() starts it: a, c, then b.
  // 1 Started  2 WFTScheduled  3 WFTStarted  4 WFTCompleted  5 Scheduled{"1" a}  6 Scheduled{"2" c}
  // 7 Scheduled{"3" b}  8,9 c done: 100  10 WFTScheduled  11 WFTStarted  12 WFTCompleted
  // 13,14 a done: 1  15,16 b done: 10  17 WFTScheduled  18 WFTStarted
  auto r = registry();
  HistoryBuilder h("fan_out");
  h.workflow_task();
  h.task_completed();
  auto a = h.activity_scheduled("1", "a");
  auto c = h.activity_scheduled("2", "c");
  auto b = h.activity_scheduled("3", "b");
  h.activity_completed(c, payloads(100));
  h.workflow_task();
  h.task_completed();
  h.activity_completed(a, payloads(1));
  h.activity_completed(b, payloads(10));
  h.workflow_task();
  auto answers = run_three_ways(r, h.events());
  CHECK(answers[0].commands.size() == 3);
  CHECK(answers[1].commands.empty());  // c alone is not enough
  CHECK(result_of<int>(answers[2]) == 1 + 20 + 100);
}

TEST_CASE("all() rethrows the first failure without waiting for the others") {
  // 1 Started  2 WFTScheduled  3 WFTStarted  4 WFTCompleted  5 Scheduled{"1" slow}  6 Scheduled{"2" broken}
  // 7 ActivityTaskStarted  8 ActivityTaskFailed{broken}  9 WFTScheduled  10 WFTStarted
  auto r = registry();
  HistoryBuilder h("first_failure");
  h.workflow_task();
  h.task_completed();
  h.activity_scheduled("1", "slow");
  h.activity_failed(h.activity_scheduled("2", "broken"), ApplicationError("oops").to_failure());
  h.workflow_task();
  auto answers = run_three_ways(r, h.events());
  CHECK(result_of<std::string>(answers[1]) == "broken failed first");
}

TEST_CASE("any() returns the first to finish, with its index") {
  // 1 Started  2 WFTScheduled  3 WFTStarted  4 WFTCompleted  5 Scheduled{"1" fetch}  6 TimerStarted{"1" 10s}
  // then either  7,8 fetch done: "page"           or  7 TimerFired
  //              9 WFTScheduled  10 WFTStarted         8 WFTScheduled  9 WFTStarted
  auto r = registry();
  HistoryBuilder h("race");
  h.workflow_task();
  h.task_completed();
  auto fetch = h.activity_scheduled("1", "fetch");
  auto timer = h.timer_started("1", 10s);
  SECTION("the activity wins") {
    h.activity_completed(fetch, payloads(std::string("page")));
    h.workflow_task();
    CHECK(result_of<std::string>(run_three_ways(r, h.events())[1]) == "page");
  }
  SECTION("the timer wins") {
    h.timer_fired(timer, "1");
    h.workflow_task();
    CHECK(result_of<std::string>(run_three_ways(r, h.events())[1]) == "timed out");
  }
}
