// Continue-as-new (temporal-semantics.md 1.10): a workflow closes its run with
// ContinueAsNewWorkflowExecution and the server starts the next run of the same workflow id in the
// same transaction. The old history ends with WorkflowExecutionContinuedAsNew{new_execution_run_id};
// the new one opens with WorkflowExecutionStarted{continued_execution_run_id, first_execution_run_id}.
// Engine code: engine/workflow_lifecycle.cpp (continue_as_new, begin_run), engine/commands.cpp.
#include "test_server.h"

using namespace reprise::testing;
using Lines = std::vector<std::string>;

namespace {

Command continue_as_new(
    const std::string& json_input,
    std::function<void(temporal::api::command::v1::ContinueAsNewWorkflowExecutionCommandAttributes&)> customize = {}) {
  Command c;
  c.set_command_type(enums::COMMAND_TYPE_CONTINUE_AS_NEW_WORKFLOW_EXECUTION);
  auto* a = c.mutable_continue_as_new_workflow_execution_command_attributes();
  auto* p = a->mutable_input()->add_payloads();
  (*p->mutable_metadata())["encoding"] = "json/plain";
  p->set_data(json_input);
  if (customize) customize(*a);
  return c;
}

}  // namespace

TEST_CASE("continue-as-new closes the run and starts the next run of the workflow id at once",
          "[server][continue-as-new]") {
  TestServerOptions options;
  options.sqlite = GENERATE(false, true);
  TestServer s(options);
  RawWorker w(s, "chain");
  const std::string first_run = w.start_and_complete_first_task("wf-chain", {continue_as_new("2")});

  auto old_events = history_of(s, "wf-chain", first_run);
  CHECK(event_lines(old_events) == Lines{"1 WorkflowExecutionStarted", "2 WorkflowTaskScheduled",
                                         "3 WorkflowTaskStarted", "4 WorkflowTaskCompleted",
                                         "5 WorkflowExecutionContinuedAsNew"});
  const auto& closed = old_events.at(4).workflow_execution_continued_as_new_event_attributes();
  const std::string next_run = closed.new_execution_run_id();
  REQUIRE_FALSE(next_run.empty());
  CHECK(next_run != first_run);
  CHECK(closed.workflow_type().name() == "TestWorkflow");  // unset in the command: carried over
  CHECK(closed.task_queue().name() == "chain");
  CHECK(closed.workflow_task_completed_event_id() == 4);
  CHECK(closed.initiator() == enums::CONTINUE_AS_NEW_INITIATOR_WORKFLOW);
  CHECK(closed.input().payloads(0).data() == "2");

  // The new run is the workflow id's current run, and it is running.
  auto current = describe(s, "wf-chain");
  CHECK(current.workflow_execution_info().execution().run_id() == next_run);
  CHECK(current.workflow_execution_info().status() == enums::WORKFLOW_EXECUTION_STATUS_RUNNING);
  auto next_events = history_of(s, "wf-chain", next_run);
  REQUIRE(event_lines(next_events) == Lines{"1 WorkflowExecutionStarted", "2 WorkflowTaskScheduled"});
  const auto& started = next_events.at(0).workflow_execution_started_event_attributes();
  CHECK(started.continued_execution_run_id() == first_run);
  CHECK(started.first_execution_run_id() == first_run);
  CHECK(started.original_execution_run_id() == next_run);
  CHECK(started.initiator() == enums::CONTINUE_AS_NEW_INITIATOR_WORKFLOW);
  CHECK(started.workflow_type().name() == "TestWorkflow");
  CHECK(started.input().payloads(0).data() == "2");
  CHECK(started.attempt() == 1);

  // A worker gets the new run's first workflow task, and the chain ends when that run completes.
  auto wt = w.next_workflow_task();
  CHECK(wt.workflow_execution().run_id() == next_run);
  CHECK(wt.history().events(0).workflow_execution_started_event_attributes().continued_execution_run_id() == first_run);
  REQUIRE(w.complete_workflow_task(wt.task_token(), {complete_workflow("\"done\"")}).ok());
  CHECK(history_lines(s, "wf-chain").back() == "5 WorkflowExecutionCompleted");
  ws::DescribeWorkflowExecutionRequest req;
  req.set_namespace_("default");
  req.mutable_execution()->set_workflow_id("wf-chain");
  req.mutable_execution()->set_run_id(first_run);
  ws::DescribeWorkflowExecutionResponse old_run;
  REQUIRE(call(s, &ws::WorkflowService::Stub::DescribeWorkflowExecution, req, old_run).ok());
  CHECK(old_run.workflow_execution_info().status() == enums::WORKFLOW_EXECUTION_STATUS_CONTINUED_AS_NEW);
}

TEST_CASE("continue-as-new may change the workflow type and task queue, and the chain keeps its deadline",
          "[server][continue-as-new]") {
  TestServer s;
  RawWorker w(s, "chain");
  const std::string first_run = w.start("wf-moved", "TestWorkflow",
                                        [](auto& req) { req.mutable_workflow_execution_timeout()->set_seconds(3600); });
  auto wt = w.next_workflow_task();
  REQUIRE(w.complete_workflow_task(wt.task_token(), {continue_as_new("{}",
                                                                     [](auto& a) {
                                                                       a.mutable_workflow_type()->set_name(
                                                                           "NextWorkflow");
                                                                       a.mutable_task_queue()->set_name("elsewhere");
                                                                     })})
              .ok());

  auto first_started = history_of(s, "wf-moved", first_run).at(0).workflow_execution_started_event_attributes();
  auto next_events = history_of(s, "wf-moved");
  const auto& started = next_events.at(0).workflow_execution_started_event_attributes();
  CHECK(started.workflow_type().name() == "NextWorkflow");
  CHECK(started.task_queue().name() == "elsewhere");
  CHECK(started.workflow_execution_timeout().seconds() == 3600);
  CHECK(started.workflow_execution_expiration_time().seconds() ==
        first_started.workflow_execution_expiration_time().seconds());
  // The new run's own execution-timeout timer is armed for the chain's deadline.
  const std::string next_run = describe(s, "wf-moved").workflow_execution_info().execution().run_id();
  bool armed = false;
  for (const auto& t : s.store->load_timers())
    if (t.execution.run_id == next_run && (t.kind == reprise::history::TimerKind::WorkflowRunTimeout ||
                                           t.kind == reprise::history::TimerKind::WorkflowExecutionTimeout))
      armed = t.fire_time_ms / 1000 == first_started.workflow_execution_expiration_time().seconds();
  CHECK(armed);

  // The next task goes to the new queue, not the old one.
  RawWorker elsewhere(s, "elsewhere");
  auto next_task = elsewhere.next_workflow_task();
  CHECK(next_task.workflow_type().name() == "NextWorkflow");
  CHECK(w.poll_workflow_task({}, false, kShortPoll).task_token().empty());
}

TEST_CASE("continue-as-new bounds the next run's timeouts as Temporal does", "[server][continue-as-new]") {
  TestServer s;
  RawWorker w(s, "chain");
  // An hour for the whole chain; the first run gets all of it.
  w.start("wf-bounds", "TestWorkflow", [](auto& req) { req.mutable_workflow_execution_timeout()->set_seconds(3600); });
  // Continues the current run asking for these timeouts (0 = unset); returns the next run's.
  auto continue_with = [&](int64_t run_s, int64_t task_s) {
    auto wt = w.next_workflow_task();
    REQUIRE(w.complete_workflow_task(wt.task_token(),
                                     {continue_as_new("1",
                                                      [&](auto& a) {
                                                        if (run_s) a.mutable_workflow_run_timeout()->set_seconds(run_s);
                                                        if (task_s)
                                                          a.mutable_workflow_task_timeout()->set_seconds(task_s);
                                                      })})
                .ok());
    return history_of(s, "wf-bounds").at(0).workflow_execution_started_event_attributes();
  };
  // More than the chain has, and a task timeout past the server's maximum (120 s).
  auto second = continue_with(7200, 600);
  CHECK(second.workflow_run_timeout().seconds() == 3600);
  CHECK(second.workflow_task_timeout().seconds() == 120);
  // A run timeout shorter than the task timeout bounds it too.
  auto third = continue_with(30, 60);
  CHECK(third.workflow_run_timeout().seconds() == 30);
  CHECK(third.workflow_task_timeout().seconds() == 30);
  // Unset ones carry over; the chain's execution timeout stays.
  auto fourth = continue_with(0, 0);
  CHECK(fourth.workflow_run_timeout().seconds() == 30);
  CHECK(fourth.workflow_task_timeout().seconds() == 30);
  CHECK(fourth.workflow_execution_timeout().seconds() == 3600);
}

TEST_CASE("continue-as-new drops the closing run's pending activities", "[server][continue-as-new]") {
  TestServer s;
  RawWorker w(s, "chain");
  w.start_and_complete_first_task("wf-drop", {schedule_activity("1", "Slow")});
  auto act = w.next_activity_task();
  // The activity completes while nobody decides: a workflow task, then continue-as-new.
  REQUIRE(w.complete_activity(act.task_token(), "\"late\"").ok());
  auto wt = w.next_workflow_task();
  REQUIRE(w.complete_workflow_task(wt.task_token(), {schedule_activity("2", "Never"), continue_as_new("1")}).ok());
  CHECK(w.poll_activity_task({}, kShortPoll).task_token().empty());
  CHECK(history_lines(s, "wf-drop") == Lines{"1 WorkflowExecutionStarted", "2 WorkflowTaskScheduled"});
}

TEST_CASE("continue-as-new with a start delay, a cron schedule or a retry policy fails the workflow task and says why",
          "[server][continue-as-new][errors]") {
  using Attributes = temporal::api::command::v1::ContinueAsNewWorkflowExecutionCommandAttributes;
  using Case = std::pair<std::function<void(Attributes&)>, std::string>;
  const auto [customize, expected] =
      GENERATE(Case{[](Attributes& a) { a.mutable_backoff_start_interval()->set_seconds(5); }, "BackoffStartInterval"},
               Case{[](Attributes& a) { a.set_cron_schedule("* * * * *"); }, "CronSchedule is not supported"},
               // Workflow retries are refused at start too, so no chain can claim one.
               Case{[](Attributes& a) { a.mutable_retry_policy()->set_maximum_attempts(3); },
                    "RetryPolicy of a workflow is not supported"},
               // A malformed policy is named for what is wrong with it first.
               Case{[](Attributes& a) { a.mutable_retry_policy()->set_maximum_attempts(-1); },
                    "MaximumAttempts cannot be negative on retry policy."});
  TestServer s;
  RawWorker w(s, "chain");
  w.start("wf-delay");
  auto wt = w.next_workflow_task();
  auto st = w.complete_workflow_task(wt.task_token(), {continue_as_new("1", customize)});
  CHECK(st.error_code() == grpc::StatusCode::INVALID_ARGUMENT);
  CHECK_THAT(st.error_message(), Catch::Contains(expected));
  auto events = history_of(s, "wf-delay");
  REQUIRE(events.at(3).event_type() == enums::EVENT_TYPE_WORKFLOW_TASK_FAILED);
  CHECK(events.at(3).workflow_task_failed_event_attributes().cause() ==
        enums::WORKFLOW_TASK_FAILED_CAUSE_BAD_CONTINUE_AS_NEW_ATTRIBUTES);
  CHECK(describe(s, "wf-delay").workflow_execution_info().status() == enums::WORKFLOW_EXECUTION_STATUS_RUNNING);
}

TEST_CASE("a CLOSE_EVENT wait without a run id gets the ContinuedAsNew of the run it started on",
          "[server][continue-as-new][history]") {
  TestServer s;
  RawWorker w(s, "chain");
  const std::string first_run = w.start("wf-wait-chain");
  auto wt = w.next_workflow_task();

  ws::GetWorkflowExecutionHistoryRequest req;
  req.set_namespace_("default");
  req.mutable_execution()->set_workflow_id("wf-wait-chain");  // no run id: the current run
  req.set_wait_new_event(true);
  req.set_history_event_filter_type(enums::HISTORY_EVENT_FILTER_TYPE_CLOSE_EVENT);
  // The first wait ends at its deadline with an empty page and a token, as a client's does.
  ws::GetWorkflowExecutionHistoryResponse empty;
  REQUIRE(call(s, &ws::WorkflowService::Stub::GetWorkflowExecutionHistory, req, empty, kShortPoll).ok());
  REQUIRE(empty.history().events_size() == 0);
  REQUIRE_FALSE(empty.next_page_token().empty());

  // The run continues as new; the client asks again with its token and learns where the chain went.
  REQUIRE(w.complete_workflow_task(wt.task_token(), {continue_as_new("1")}).ok());
  req.set_next_page_token(empty.next_page_token());
  ws::GetWorkflowExecutionHistoryResponse resp;
  auto st = call(s, &ws::WorkflowService::Stub::GetWorkflowExecutionHistory, req, resp, 30s);
  REQUIRE(st.error_message() == "");
  REQUIRE(resp.history().events_size() == 1);
  const auto& close = resp.history().events(0);
  CHECK(close.event_type() == enums::EVENT_TYPE_WORKFLOW_EXECUTION_CONTINUED_AS_NEW);
  CHECK(close.workflow_execution_continued_as_new_event_attributes().new_execution_run_id() != first_run);
}
