// Nondeterminism: each kind of mismatch between history and code gives a [TMPRL1100] error naming
// the history event (id, type, key attributes), the command the code produced instead, and the
// file:line of the workflow code that produced it.
//
// Every test replays the same history, recorded by this "old" code:
//   co_await ctx.execute_activity<std::string>("compose_greeting", {...});   // activity "1"
//   co_await ctx.sleep(5s);                                                  // timer "1"
// 1 Started  2 WFTScheduled  3 WFTStarted  4 WFTCompleted  5 ActivityTaskScheduled{"1" compose_greeting}
// 6 ActivityTaskStarted  7 ActivityTaskCompleted  8 WFTScheduled  9 WFTStarted  10 WFTCompleted
// 11 TimerStarted{"1" 5s}  12 TimerFired  13 WFTScheduled  14 WFTStarted
// against "new" code registered under the same workflow type.
#include <catch2/catch.hpp>

#include "history_builder.h"
#include "reprise/workflow.h"
#include "three_ways.h"

using namespace std::chrono_literals;
using namespace reprise;
using namespace reprise::testing;

namespace {

int g_line = 0;  // the line of the call the test expects in the message: each workflow sets it
                 // to __LINE__ + 1 just above the co_await or start_activity it means

std::vector<HistoryEvent> old_history() {
  HistoryBuilder h("greet");
  h.workflow_task();
  h.task_completed();
  h.activity_completed(h.activity_scheduled("1", "compose_greeting"), payloads(std::string("Hello")));
  h.workflow_task();
  h.task_completed();
  h.timer_fired(h.timer_started("1", 5s), "1");
  h.workflow_task();
  return h.events();
}

Workflow<> type_changed(WorkflowContext& ctx) {
  g_line = __LINE__ + 1;
  co_await ctx.execute_activity<std::string>("compose", {.start_to_close_timeout = 1s});
}
Workflow<> id_changed(WorkflowContext& ctx) {
  g_line = __LINE__ + 1;
  co_await ctx.execute_activity<std::string>("compose_greeting",
                                             {.activity_id = "greeting", .start_to_close_timeout = 1s});
}
Workflow<> timer_first(WorkflowContext& ctx) {
  g_line = __LINE__ + 1;
  co_await ctx.sleep(5s);
}
Workflow<> activity_instead_of_timer(WorkflowContext& ctx) {
  co_await ctx.execute_activity<std::string>("compose_greeting", {.start_to_close_timeout = 1s});
  g_line = __LINE__ + 1;
  co_await ctx.execute_activity<std::string>("notify", {.start_to_close_timeout = 1s});
}
Workflow<> timer_removed(WorkflowContext& ctx) {
  co_await ctx.execute_activity<std::string>("compose_greeting", {.start_to_close_timeout = 1s});
  g_line = __LINE__ + 1;
  co_await ctx.wait_condition([] { return false; });  // forever: no StartTimer any more
}
Workflow<> extra_activity(WorkflowContext& ctx) {
  auto greeting = ctx.start_activity<std::string>("compose_greeting", {.start_to_close_timeout = 1s});
  g_line = __LINE__ + 1;
  ctx.start_activity("audit", {.start_to_close_timeout = 1s});
  co_await greeting;
  co_await ctx.sleep(5s);
}
Workflow<> timer_id_changed(WorkflowContext& ctx) {
  co_await ctx.execute_activity<std::string>("compose_greeting", {.start_to_close_timeout = 1s});
  g_line = __LINE__ + 1;
  co_await ctx.start_timer(5s, {.timer_id = "nap"});
}

std::string failure_for(Workflow<> (*new_code)(WorkflowContext&)) {
  WorkflowRegistry r;
  r.register_workflow("greet", new_code);
  return expect_task_failure_three_ways(r, old_history(), enums::WORKFLOW_TASK_FAILED_CAUSE_NON_DETERMINISTIC_ERROR);
}

std::string here() { return "tests/worker/mismatch_test.cpp:" + std::to_string(g_line); }

}  // namespace

TEST_CASE("a changed activity type is nondeterminism naming the event, the command and the line") {
  auto message = failure_for(type_changed);
  CHECK(message ==
        "[TMPRL1100] Nondeterminism error: history event #5 ActivityTaskScheduled {activity_id: \"1\", "
        "activity_type: \"compose_greeting\"} does not match the command the workflow code produced: "
        "ScheduleActivityTask {activity_id: \"1\", activity_type: \"compose\"} at " +
            here() + " (activity type differs: history \"compose_greeting\", code \"compose\")");
}

TEST_CASE("a changed activity id is nondeterminism") {
  auto message = failure_for(id_changed);
  CHECK_THAT(message, Catch::StartsWith("[TMPRL1100] Nondeterminism error: history event #5 ActivityTaskScheduled") &&
                          Catch::Contains("activity id differs: history \"1\", code \"greeting\"") &&
                          Catch::Contains(here()));
}

TEST_CASE("a timer where history has an activity is nondeterminism") {
  auto message = failure_for(timer_first);
  CHECK_THAT(message, Catch::Contains("#5 ActivityTaskScheduled") &&
                          Catch::Contains("StartTimer {timer_id: \"1\", start_to_fire_timeout: 5s} at " + here()) &&
                          Catch::Contains("a StartTimer command produces TimerStarted, not ActivityTaskScheduled"));
}

TEST_CASE("an activity where history has a timer is nondeterminism") {
  auto message = failure_for(activity_instead_of_timer);
  CHECK_THAT(message,
             Catch::Contains("#11 TimerStarted {timer_id: \"1\", start_to_fire_timeout: 5s}") &&
                 Catch::Contains("ScheduleActivityTask {activity_id: \"2\", activity_type: \"notify\"} at " + here()));
}

TEST_CASE("a command history has but the code no longer produces is a missing command") {
  auto message = failure_for(timer_removed);
  CHECK(message ==
        "[TMPRL1100] Nondeterminism error: history event #11 TimerStarted {timer_id: \"1\", start_to_fire_timeout: 5s} "
        "has no matching command: the workflow code produced no further command (it is blocked at " +
            here() + ")");
}

TEST_CASE("a command the code produces but history does not have is an extra command") {
  auto message = failure_for(extra_activity);
  CHECK(message ==
        "[TMPRL1100] Nondeterminism error: the workflow code produced ScheduleActivityTask {activity_id: \"2\", "
        "activity_type: \"audit\"} at " +
            here() +
            ", but history has no event for it (the workflow task's "
            "command events end before history event #6 ActivityTaskStarted)");
}

TEST_CASE("a changed timer id is nondeterminism") {
  auto message = failure_for(timer_id_changed);
  CHECK_THAT(message, Catch::Contains("#11 TimerStarted") &&
                          Catch::Contains("timer id differs: history \"1\", code \"nap\"") && Catch::Contains(here()));
}
