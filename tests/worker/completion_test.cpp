// How a run ends: returning completes the workflow, a TemporalFailure fails the workflow, and any
// other exception fails only the workflow task (the run stays open for a fixed deployment).
#include <catch2/catch.hpp>
#include <stdexcept>

#include "history_builder.h"
#include "reprise/workflow.h"
#include "three_ways.h"

using namespace std::chrono_literals;
using namespace reprise;
using namespace reprise::testing;

namespace {

Workflow<> nothing(WorkflowContext&) { co_return; }

Workflow<> refuse(WorkflowContext&) {
  throw ApplicationError("order rejected", "Rejected", true);
  co_return;
}

Workflow<> propagate(WorkflowContext& ctx) {
  co_await ctx.execute_activity("charge", {.start_to_close_timeout = 1s});  // fails, uncaught
}

Workflow<> buggy(WorkflowContext&) {
  throw std::out_of_range("index 7 out of range");
  co_return;
}

Workflow<int> wants_int(WorkflowContext&, int n) { co_return n; }

Workflow<int> countdown(WorkflowContext& ctx, int n) {
  if (n > 0) throw ctx.continue_as_new(n - 1);
  co_return 0;
}

WorkflowRegistry registry() {
  WorkflowRegistry r;
  r.register_workflow("nothing", nothing);
  r.register_workflow("refuse", refuse);
  r.register_workflow("propagate", propagate);
  r.register_workflow("buggy", buggy);
  r.register_workflow("wants_int", wants_int);
  r.register_workflow("countdown", countdown);
  return r;
}

// 1 Started  2 WFTScheduled  3 WFTStarted
std::vector<HistoryEvent> first_task(const std::string& type, Payloads input = {}) {
  HistoryBuilder h(type, std::move(input));
  h.workflow_task();
  return h.events();
}

}  // namespace

TEST_CASE("a void workflow completes with one binary/null payload, as TypeScript's undefined") {
  auto r = registry();
  auto answers = run_three_ways(r, first_task("nothing"));
  const auto& result = answers[0].commands.at(0).complete_workflow_execution_command_attributes().result();
  REQUIRE(result.payloads_size() == 1);
  CHECK(result.payloads(0).metadata().at("encoding") == "binary/null");
}

TEST_CASE("a workflow that throws ApplicationError fails the workflow with that failure") {
  auto r = registry();
  auto answers = run_three_ways(r, first_task("refuse"));
  REQUIRE(describe(answers[0].commands) == std::vector<std::string>{"FailWorkflowExecution"});
  const auto& failure = answers[0].commands[0].fail_workflow_execution_command_attributes().failure();
  CHECK(failure.message() == "order rejected");
  CHECK(failure.application_failure_info().type() == "Rejected");
  CHECK(failure.application_failure_info().non_retryable());
}

TEST_CASE("an uncaught ActivityError fails the workflow with the activity's failure as cause") {
  // 1 Started  2 WFTScheduled  3 WFTStarted  4 WFTCompleted  5 ActivityTaskScheduled{"1" charge}
  // 6 ActivityTaskStarted  7 ActivityTaskFailed{"card declined"}  8 WFTScheduled  9 WFTStarted
  // 10 WFTCompleted  11 WorkflowExecutionFailed
  auto r = registry();
  HistoryBuilder h("propagate");
  h.workflow_task();
  h.task_completed();
  h.activity_failed(h.activity_scheduled("1", "charge"), ApplicationError("card declined", "Declined").to_failure());
  h.workflow_task();
  auto answers = run_three_ways(r, h.events());
  const auto& failure = answers[1].commands.at(0).fail_workflow_execution_command_attributes().failure();
  CHECK(failure.message() == "Activity task failed");
  CHECK(failure.activity_failure_info().activity_type().name() == "charge");
  CHECK(failure.activity_failure_info().scheduled_event_id() == 5);
  CHECK(failure.cause().message() == "card declined");

  h.task_completed();
  h.workflow_failed(failure);
  run_three_ways(r, h.events());  // the closed history replays
}

TEST_CASE("any other exception fails the workflow task, not the workflow, and names the exception") {
  auto r = registry();
  auto message = expect_task_failure_three_ways(r, first_task("buggy"),
                                                enums::WORKFLOW_TASK_FAILED_CAUSE_WORKFLOW_WORKER_UNHANDLED_FAILURE);
  CHECK(message == "index 7 out of range");
  WorkflowRun run(r, test_start("buggy"));
  auto activation = run.activate(first_task("buggy"));
  CHECK(activation.commands.empty());
  CHECK(activation.failure->failure.application_failure_info().type() == "std::out_of_range");
  CHECK_FALSE(activation.workflow_closed);
}

TEST_CASE("an unknown workflow type or an input that does not decode fails the workflow task") {
  auto r = registry();
  CHECK_THAT(expect_task_failure_three_ways(r, first_task("missing"),
                                            enums::WORKFLOW_TASK_FAILED_CAUSE_WORKFLOW_WORKER_UNHANDLED_FAILURE),
             Catch::Contains("workflow type \"missing\" is not registered"));
  CHECK_THAT(expect_task_failure_three_ways(r, first_task("wants_int", payloads(std::string("seven"))),
                                            enums::WORKFLOW_TASK_FAILED_CAUSE_WORKFLOW_WORKER_UNHANDLED_FAILURE),
             Catch::Contains("does not fit the requested type"));
}

TEST_CASE("throwing ctx.continue_as_new(args) closes the run with ContinueAsNewWorkflowExecution") {
  auto r = registry();
  auto answers = run_three_ways(r, first_task("countdown", payloads(3)));
  REQUIRE(describe(answers[0].commands) == std::vector<std::string>{"ContinueAsNewWorkflowExecution"});
  const auto& attributes = answers[0].commands[0].continue_as_new_workflow_execution_command_attributes();
  CHECK(attributes.workflow_type().name() == "countdown");
  CHECK(attributes.task_queue().name() == "test-queue");
  CHECK(DataConverter().from_payloads<int>(attributes.input()) == 2);
}
