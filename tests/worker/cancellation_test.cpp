// Cancelling activities: RequestCancelActivityTask matched against ActivityTaskCancelRequested,
// the handle failing at once (try_cancel) or when history says so (wait_cancellation_completed),
// an abandoned activity whose end history still records, and an activity cancelled before it was
// ever sent.
#include <catch2/catch.hpp>

#include "history_builder.h"
#include "reprise/workflow.h"
#include "three_ways.h"

using namespace std::chrono_literals;
using namespace reprise;
using namespace reprise::testing;

namespace {

bool cancelled(const ActivityError& e) {
  try {
    std::rethrow_exception(e.cause());
  } catch (const CanceledError&) {
    return true;
  } catch (...) {
    return false;
  }
}

template <ActivityCancellationType kType>
Workflow<std::string> cancel_after_a_second(WorkflowContext& ctx) {
  auto work = ctx.start_activity("work", {.start_to_close_timeout = 1h, .cancellation_type = kType});
  co_await ctx.sleep(1s);
  work.cancel();
  try {
    co_await work;
    co_return "finished";
  } catch (const ActivityError& e) {
    co_return cancelled(e) ? "cancelled" : "failed";
  }
}

// Abandons the activity, then keeps running while the activity (which was never told) finishes.
Workflow<std::string> abandon_then_wait(WorkflowContext& ctx) {
  auto work = ctx.start_activity(
      "work", {.start_to_close_timeout = 1h, .cancellation_type = ActivityCancellationType::abandon});
  co_await ctx.sleep(1s);
  work.cancel();
  co_await ctx.sleep(1s);
  try {
    co_await work;
    co_return "finished";
  } catch (const ActivityError& e) {
    co_return cancelled(e) ? "cancelled" : "failed";
  }
}

Workflow<std::string> cancel_at_once(WorkflowContext& ctx) {
  auto work = ctx.start_activity("work", {.start_to_close_timeout = 1h});
  work.cancel();
  co_await ctx.sleep(1s);
  co_return "done";
}

WorkflowRegistry registry() {
  WorkflowRegistry r;
  r.register_workflow("try_cancel", cancel_after_a_second<ActivityCancellationType::try_cancel>);
  r.register_workflow("wait_cancel", cancel_after_a_second<ActivityCancellationType::wait_cancellation_completed>);
  r.register_workflow("cancel_at_once", cancel_at_once);
  r.register_workflow("abandon_then_wait", abandon_then_wait);
  return r;
}

// 1 Started  2 WFTScheduled  3 WFTStarted  4 WFTCompleted  5 ActivityTaskScheduled{"1" work}
// 6 TimerStarted{"1" 1s}  7 TimerFired  8 WFTScheduled  9 WFTStarted
HistoryBuilder until_cancel(const std::string& type, std::int64_t& activity) {
  HistoryBuilder h(type);
  h.workflow_task();
  h.task_completed();
  activity = h.activity_scheduled("1", "work");
  h.timer_fired(h.timer_started("1", 1s), "1");
  h.workflow_task();
  return h;
}

}  // namespace

TEST_CASE("try_cancel sends RequestCancelActivityTask and fails the handle at once") {
  auto r = registry();
  std::int64_t activity = 0;
  auto h = until_cancel("try_cancel", activity);
  auto answers = run_three_ways(r, h.events());
  CHECK(describe(answers[1].commands) ==
        std::vector<std::string>{"RequestCancelActivityTask {scheduled_event_id: 5}", "CompleteWorkflowExecution"});
}

TEST_CASE("wait_cancellation_completed waits for ActivityTaskCanceled before failing the handle") {
  // ... 10 WFTCompleted  11 ActivityTaskCancelRequested{5}  12 ActivityTaskStarted  13 ActivityTaskCanceled
  // 14 WFTScheduled  15 WFTStarted
  auto r = registry();
  std::int64_t activity = 0;
  auto h = until_cancel("wait_cancel", activity);
  h.task_completed();
  h.activity_cancel_requested(activity);
  h.activity_canceled(activity);
  h.workflow_task();
  auto answers = run_three_ways(r, h.events());
  CHECK(describe(answers[1].commands) == std::vector<std::string>{"RequestCancelActivityTask {scheduled_event_id: 5}"});
  REQUIRE(describe(answers[2].commands) == std::vector<std::string>{"CompleteWorkflowExecution"});
  CHECK(DataConverter().from_payloads<std::string>(
            answers[2].commands[0].complete_workflow_execution_command_attributes().result()) == "cancelled");
}

TEST_CASE("an activity cancelled in the code run that started it is never sent") {
  auto r = registry();
  HistoryBuilder h("cancel_at_once");
  h.workflow_task();
  auto answers = run_three_ways(r, h.events());
  CHECK(describe(answers[0].commands) ==
        std::vector<std::string>{R"(StartTimer {timer_id: "1", start_to_fire_timeout: 1s})"});
}

TEST_CASE("an abandoned activity sends nothing, and its end arriving later in history is taken in silence") {
  // ... 10 WFTCompleted  11 TimerStarted{"2"}  12 ActivityTaskStarted  13 ActivityTaskCompleted{5}
  // 14 WFTScheduled  15 WFTStarted  16 WFTCompleted  17 TimerFired{"2"}  18 WFTScheduled  19 WFTStarted
  auto r = registry();
  std::int64_t activity = 0;
  auto h = until_cancel("abandon_then_wait", activity);
  h.task_completed();
  const auto second_timer = h.timer_started("2", 1s);
  h.activity_completed(activity, DataConverter().void_payloads());
  h.workflow_task();
  h.task_completed();
  h.timer_fired(second_timer, "2");
  h.workflow_task();
  auto answers = run_three_ways(r, h.events());
  REQUIRE(answers.size() == 4);
  CHECK(describe(answers[1].commands) ==
        std::vector<std::string>{R"(StartTimer {timer_id: "2", start_to_fire_timeout: 1s})"});
  CHECK(answers[2].commands.empty());
  REQUIRE(describe(answers[3].commands) == std::vector<std::string>{"CompleteWorkflowExecution"});
  CHECK(DataConverter().from_payloads<std::string>(
            answers[3].commands[0].complete_workflow_execution_command_attributes().result()) == "cancelled");
}
