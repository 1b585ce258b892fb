// Cancelling a workflow (temporal-semantics.md 1.7): WorkflowExecutionCancelRequested makes
// ctx.cancel_requested() true; a workflow that then throws CanceledError ends the run with
// CancelWorkflowExecution (WorkflowExecutionCanceled in history). A CanceledError thrown without a
// request is an ordinary failure. Each history is run three ways (three_ways.h).
#include <catch2/catch.hpp>

#include "history_builder.h"
#include "reprise/workflow.h"
#include "three_ways.h"

using namespace std::chrono_literals;
using namespace reprise;
using namespace reprise::testing;

namespace {

// Waits to be cancelled, cleans up with an activity, then accepts the cancellation.
Workflow<std::string> until_cancelled(WorkflowContext& ctx) {
  co_await ctx.wait_condition([&] { return ctx.cancel_requested(); });
  co_await ctx.execute_activity<std::string>("clean_up", {.start_to_close_timeout = 10s});
  throw CanceledError("cancelled on request");
}

Workflow<std::string> cancels_itself(WorkflowContext&) {
  throw CanceledError("nobody asked");
  co_return "";
}

WorkflowRegistry registry() {
  WorkflowRegistry r;
  r.register_workflow("until_cancelled", until_cancelled);
  r.register_workflow("cancels_itself", cancels_itself);
  return r;
}

// 1 Started 2-4 task 5 CancelRequested 6-8 task 9 ActivityTaskScheduled{clean_up} 10 Started
// 11 Completed 12 WFTScheduled 13 WFTStarted
HistoryBuilder cancelled_and_cleaned_up() {
  HistoryBuilder h("until_cancelled");
  h.workflow_task();
  h.task_completed();
  h.cancel_requested("the order was withdrawn");
  h.workflow_task();
  h.task_completed();
  h.activity_completed(h.activity_scheduled("1", "clean_up"), payloads(std::string("cleaned")));
  h.workflow_task();
  return h;
}

}  // namespace

TEST_CASE("a cancellation request wakes the workflow, which cleans up and ends the run as canceled") {
  auto r = registry();
  auto answers = run_three_ways(r, cancelled_and_cleaned_up().events());
  REQUIRE(answers.size() == 3);
  CHECK(describe(answers[0].commands).empty());  // waiting: nothing to do before the request
  CHECK(describe(answers[1].commands) ==
        std::vector<std::string>{R"(ScheduleActivityTask {activity_id: "1", activity_type: "clean_up"})"});
  CHECK(describe(answers[2].commands) == std::vector<std::string>{"CancelWorkflowExecution"});
}

TEST_CASE("a history that ends in WorkflowExecutionCanceled replays cleanly") {
  auto r = registry();
  auto h = cancelled_and_cleaned_up();
  h.task_completed();
  h.workflow_canceled();
  WorkflowRun run(r, test_start("until_cancelled"));
  auto activation = run.activate(h.history());
  REQUIRE(activation.ok());
  CHECK(activation.commands.empty());
}

TEST_CASE("CanceledError without a cancellation request fails the workflow") {
  auto r = registry();
  HistoryBuilder h("cancels_itself");
  h.workflow_task();
  auto answers = run_three_ways(r, h.events());
  REQUIRE(answers.size() == 1);
  REQUIRE(answers[0].commands.size() == 1);
  CHECK(answers[0].commands[0].command_type() == enums::COMMAND_TYPE_FAIL_WORKFLOW_EXECUTION);
  CHECK(answers[0].commands[0].fail_workflow_execution_command_attributes().failure().message() == "nobody asked");
}
