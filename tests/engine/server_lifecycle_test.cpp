// A run's life seen from outside (temporal-semantics.md 1.8, 2.4, 7.10): starting, with request-id
// idempotence and the workflow id reuse/conflict policies, and terminating, which first fails a
// workflow task in flight (FORCE_CLOSE_COMMAND) and flushes what was buffered.
// Engine code: engine/workflow_lifecycle.cpp.
#include "google/rpc/status.pb.h"
#include "temporal/api/errordetails/v1/message.pb.h"
#include "test_server.h"

using namespace reprise::testing;
using Lines = std::vector<std::string>;
using temporal::api::errordetails::v1::WorkflowExecutionAlreadyStartedFailure;

namespace {

ws::StartWorkflowExecutionRequest start_request(const std::string& workflow_id, const std::string& request_id = {}) {
  ws::StartWorkflowExecutionRequest req;
  req.set_namespace_("default");
  req.set_workflow_id(workflow_id);
  req.mutable_workflow_type()->set_name("TestWorkflow");
  req.mutable_task_queue()->set_name("lifecycle");
  req.set_request_id(request_id.empty() ? reprise::engine::new_uuid() : request_id);
  req.set_identity("test-client");
  return req;
}

grpc::Status start(TestServer& s, const ws::StartWorkflowExecutionRequest& req,
                   ws::StartWorkflowExecutionResponse& resp) {
  return call(s, &ws::WorkflowService::Stub::StartWorkflowExecution, req, resp);
}

// The typed details Temporal puts in grpc-status-details-bin for ALREADY_EXISTS.
WorkflowExecutionAlreadyStartedFailure already_started_details(const grpc::Status& st) {
  google::rpc::Status status;
  REQUIRE(status.ParseFromString(st.error_details()));
  CHECK(status.code() == grpc::StatusCode::ALREADY_EXISTS);
  REQUIRE(status.details_size() == 1);
  WorkflowExecutionAlreadyStartedFailure details;
  REQUIRE(status.details(0).UnpackTo(&details));
  return details;
}

void complete_run(RawWorker& w) {
  auto wt = w.next_workflow_task();
  REQUIRE(w.complete_workflow_task(wt.task_token(), {complete_workflow("\"done\"")}).ok());
}

}  // namespace

TEST_CASE("starting twice with the same request id returns the same run and writes one history",
          "[server][lifecycle][start]") {
  TestServer s;
  auto req = start_request("wf-idempotent", "request-1");
  ws::StartWorkflowExecutionResponse first, second;
  REQUIRE(start(s, req, first).ok());
  REQUIRE(start(s, req, second).ok());
  CHECK(second.run_id() == first.run_id());
  CHECK(history_lines(s, "wf-idempotent") == Lines{"1 WorkflowExecutionStarted", "2 WorkflowTaskScheduled"});
}

TEST_CASE("a second start of a running workflow id fails with ALREADY_EXISTS and the running run id",
          "[server][lifecycle][start]") {
  TestServer s;
  ws::StartWorkflowExecutionResponse first, second;
  REQUIRE(start(s, start_request("wf-running", "request-1"), first).ok());
  auto st = start(s, start_request("wf-running", "request-2"), second);
  CHECK(st.error_code() == grpc::StatusCode::ALREADY_EXISTS);
  CHECK(st.error_message() ==
        "Workflow execution is already running. WorkflowId: wf-running, RunId: " + first.run_id() + ".");
  auto details = already_started_details(st);
  CHECK(details.run_id() == first.run_id());
  CHECK(details.start_request_id() == "request-1");
  CHECK(history_lines(s, "wf-running").size() == 2);
}

TEST_CASE("conflict policy USE_EXISTING returns the running run", "[server][lifecycle][start]") {
  TestServer s;
  ws::StartWorkflowExecutionResponse first, second;
  REQUIRE(start(s, start_request("wf-use-existing"), first).ok());
  auto req = start_request("wf-use-existing");
  req.set_workflow_id_conflict_policy(enums::WORKFLOW_ID_CONFLICT_POLICY_USE_EXISTING);
  REQUIRE(start(s, req, second).ok());
  CHECK(second.run_id() == first.run_id());
  CHECK_FALSE(second.started());
  CHECK(history_lines(s, "wf-use-existing").size() == 2);
}

TEST_CASE("conflict policy TERMINATE_EXISTING terminates the running run and starts a new one",
          "[server][lifecycle][start]") {
  TestServer s;
  ws::StartWorkflowExecutionResponse first, second;
  REQUIRE(start(s, start_request("wf-terminate-existing"), first).ok());
  auto req = start_request("wf-terminate-existing");
  req.set_workflow_id_conflict_policy(enums::WORKFLOW_ID_CONFLICT_POLICY_TERMINATE_EXISTING);
  REQUIRE(start(s, req, second).ok());
  CHECK(second.run_id() != first.run_id());
  CHECK(second.started());

  auto old_run = history_of(s, "wf-terminate-existing", first.run_id());
  CHECK(event_lines(old_run) ==
        Lines{"1 WorkflowExecutionStarted", "2 WorkflowTaskScheduled", "3 WorkflowExecutionTerminated"});
  CHECK(history_lines(s, "wf-terminate-existing") == Lines{"1 WorkflowExecutionStarted", "2 WorkflowTaskScheduled"});
  CHECK(describe(s, "wf-terminate-existing").workflow_execution_info().execution().run_id() == second.run_id());
}

TEST_CASE("a start refused for a bad request leaves the running run alone, even with TERMINATE_EXISTING",
          "[server][lifecycle][start]") {
  TestServer s;
  ws::StartWorkflowExecutionResponse first, second;
  REQUIRE(start(s, start_request("wf-refused-start"), first).ok());
  auto req = start_request("wf-refused-start");
  req.set_workflow_id_conflict_policy(enums::WORKFLOW_ID_CONFLICT_POLICY_TERMINATE_EXISTING);
  req.mutable_workflow_start_delay()->set_seconds(5);  // not supported: refused
  auto st = start(s, req, second);
  CHECK(st.error_code() == grpc::StatusCode::INVALID_ARGUMENT);
  CHECK_THAT(st.error_message(), Catch::Contains("WorkflowStartDelay"));
  CHECK(history_lines(s, "wf-refused-start") == Lines{"1 WorkflowExecutionStarted", "2 WorkflowTaskScheduled"});
  CHECK(describe(s, "wf-refused-start").workflow_execution_info().execution().run_id() == first.run_id());
}

TEST_CASE("contradictory id reuse and conflict policies are refused and leave the running run alone",
          "[server][lifecycle][start][errors]") {
  using Case = std::tuple<enums::WorkflowIdReusePolicy, enums::WorkflowIdConflictPolicy, std::string>;
  const auto [reuse, conflict, expected] = GENERATE(
      Case{enums::WORKFLOW_ID_REUSE_POLICY_TERMINATE_IF_RUNNING, enums::WORKFLOW_ID_CONFLICT_POLICY_FAIL,
           "TERMINATE_IF_RUNNING cannot be used together with a WorkflowIDConflictPolicy"},
      Case{enums::WORKFLOW_ID_REUSE_POLICY_TERMINATE_IF_RUNNING, enums::WORKFLOW_ID_CONFLICT_POLICY_USE_EXISTING,
           "TERMINATE_IF_RUNNING cannot be used together with a WorkflowIDConflictPolicy"},
      Case{enums::WORKFLOW_ID_REUSE_POLICY_REJECT_DUPLICATE, enums::WORKFLOW_ID_CONFLICT_POLICY_TERMINATE_EXISTING,
           "REJECT_DUPLICATE cannot be used together with WorkflowIdConflictPolicy "
           "WORKFLOW_ID_CONFLICT_POLICY_TERMINATE_EXISTING"});
  TestServer s;
  ws::StartWorkflowExecutionResponse first, second;
  REQUIRE(start(s, start_request("wf-contradiction"), first).ok());
  auto req = start_request("wf-contradiction");
  req.set_workflow_id_reuse_policy(reuse);
  req.set_workflow_id_conflict_policy(conflict);
  auto st = start(s, req, second);
  CHECK(st.error_code() == grpc::StatusCode::INVALID_ARGUMENT);
  CHECK_THAT(st.error_message(), Catch::Contains(expected));
  CHECK(history_lines(s, "wf-contradiction") == Lines{"1 WorkflowExecutionStarted", "2 WorkflowTaskScheduled"});
  CHECK(describe(s, "wf-contradiction").workflow_execution_info().execution().run_id() == first.run_id());
}

TEST_CASE("reuse policy REJECT_DUPLICATE refuses a closed workflow id and ALLOW_DUPLICATE starts a new run",
          "[server][lifecycle][start]") {
  TestServer s;
  RawWorker w(s, "lifecycle");
  std::string first_run = w.start("wf-reuse");
  complete_run(w);

  auto reject = start_request("wf-reuse");
  reject.set_workflow_id_reuse_policy(enums::WORKFLOW_ID_REUSE_POLICY_REJECT_DUPLICATE);
  ws::StartWorkflowExecutionResponse resp;
  auto st = start(s, reject, resp);
  CHECK(st.error_code() == grpc::StatusCode::ALREADY_EXISTS);
  CHECK(already_started_details(st).run_id() == first_run);

  auto allow = start_request("wf-reuse");
  allow.set_workflow_id_reuse_policy(enums::WORKFLOW_ID_REUSE_POLICY_ALLOW_DUPLICATE);
  REQUIRE(start(s, allow, resp).ok());
  CHECK(resp.run_id() != first_run);
  CHECK(history_lines(s, "wf-reuse") == Lines{"1 WorkflowExecutionStarted", "2 WorkflowTaskScheduled"});
  CHECK(event_lines(history_of(s, "wf-reuse", first_run)).back() == "5 WorkflowExecutionCompleted");
}

TEST_CASE("terminating a workflow with a task in flight fails the task, flushes the buffer, then terminates",
          "[server][lifecycle][terminate]") {
  TestServer s;
  RawWorker w(s, "lifecycle");
  w.start("wf-terminate");
  auto wt = w.next_workflow_task();
  REQUIRE(send_signal(s, "wf-terminate", "buffered").ok());

  REQUIRE(terminate(s, "wf-terminate", "operator said so").ok());
  auto events = history_of(s, "wf-terminate");
  CHECK(event_lines(events) == Lines{"1 WorkflowExecutionStarted", "2 WorkflowTaskScheduled", "3 WorkflowTaskStarted",
                                     "4 WorkflowTaskFailed", "5 WorkflowExecutionSignaled",
                                     "6 WorkflowExecutionTerminated"});
  const auto& failed = events[3].workflow_task_failed_event_attributes();
  CHECK(failed.cause() == enums::WORKFLOW_TASK_FAILED_CAUSE_FORCE_CLOSE_COMMAND);
  CHECK(failed.identity() == "history-service");
  CHECK(failed.scheduled_event_id() == 2);
  CHECK(failed.started_event_id() == 3);
  const auto& terminated = events[5].workflow_execution_terminated_event_attributes();
  CHECK(terminated.reason() == "operator said so");
  CHECK(terminated.identity() == "test-client");
  CHECK(describe(s, "wf-terminate").workflow_execution_info().status() == enums::WORKFLOW_EXECUTION_STATUS_TERMINATED);

  // The worker's late answer and a second terminate find no running workflow.
  auto late = w.complete_workflow_task(wt.task_token(), {complete_workflow("\"too late\"")});
  CHECK(late.error_code() == grpc::StatusCode::NOT_FOUND);
  CHECK(late.error_message() == "workflow execution already completed");
  auto again = terminate(s, "wf-terminate");
  CHECK(again.error_code() == grpc::StatusCode::NOT_FOUND);
  CHECK(again.error_message() == "workflow execution already completed");
  CHECK(send_signal(s, "wf-terminate", "too late").error_code() == grpc::StatusCode::NOT_FOUND);
  CHECK(history_lines(s, "wf-terminate").size() == 6);
}

TEST_CASE("terminating a workflow whose task is only scheduled writes just WorkflowExecutionTerminated",
          "[server][lifecycle][terminate]") {
  TestServer s;
  RawWorker w(s, "lifecycle");
  w.start("wf-terminate-idle");
  REQUIRE(terminate(s, "wf-terminate-idle").ok());
  CHECK(history_lines(s, "wf-terminate-idle") ==
        Lines{"1 WorkflowExecutionStarted", "2 WorkflowTaskScheduled", "3 WorkflowExecutionTerminated"});
  CHECK(w.poll_workflow_task({}, false, kShortPoll).task_token().empty());  // its task is stale now
}

TEST_CASE("a run timeout with a task in flight fails the task, flushes the buffer, then times the run out",
          "[server][lifecycle][timeout]") {
  TestServer s;
  RawWorker w(s, "lifecycle");
  w.start("wf-run-timeout", "TestWorkflow", [](auto& req) { req.mutable_workflow_run_timeout()->set_seconds(5); });
  s.clock.advance(3s);
  auto wt = w.next_workflow_task();  // started at 3 s: its own timeout (5 s) would come at 8 s
  REQUIRE(send_signal(s, "wf-run-timeout", "buffered").ok());

  s.clock.advance(2s);
  auto events = wait_for_history(s, "wf-run-timeout", 6);
  CHECK(event_lines(events) == Lines{"1 WorkflowExecutionStarted", "2 WorkflowTaskScheduled", "3 WorkflowTaskStarted",
                                     "4 WorkflowTaskFailed", "5 WorkflowExecutionSignaled",
                                     "6 WorkflowExecutionTimedOut"});
  CHECK(events[0].workflow_execution_started_event_attributes().workflow_task_timeout().seconds() == 5);
  const auto& failed = events[3].workflow_task_failed_event_attributes();
  CHECK(failed.cause() == enums::WORKFLOW_TASK_FAILED_CAUSE_FORCE_CLOSE_COMMAND);
  CHECK(failed.identity() == "history-service");
  CHECK(events[5].workflow_execution_timed_out_event_attributes().retry_state() ==
        enums::RETRY_STATE_RETRY_POLICY_NOT_SET);
  CHECK(describe(s, "wf-run-timeout").workflow_execution_info().status() == enums::WORKFLOW_EXECUTION_STATUS_TIMED_OUT);
  CHECK(w.complete_workflow_task(wt.task_token(), {complete_workflow("\"late\"")}).error_code() ==
        grpc::StatusCode::NOT_FOUND);
}

TEST_CASE("an execution timeout times the run out with retry state TIMEOUT", "[server][lifecycle][timeout]") {
  TestServer s;
  RawWorker w(s, "lifecycle");
  w.start("wf-execution-timeout", "TestWorkflow",
          [](auto& req) { req.mutable_workflow_execution_timeout()->set_seconds(5); });
  s.clock.advance(5s);
  auto events = wait_for_history(s, "wf-execution-timeout", 3);
  CHECK(event_lines(events) ==
        Lines{"1 WorkflowExecutionStarted", "2 WorkflowTaskScheduled", "3 WorkflowExecutionTimedOut"});
  CHECK(events[2].workflow_execution_timed_out_event_attributes().retry_state() == enums::RETRY_STATE_TIMEOUT);
}

TEST_CASE("a cancel request reaches the workflow, which then cancels itself", "[server][lifecycle][cancel]") {
  TestServer s;
  RawWorker w(s, "lifecycle");
  w.start("wf-cancel-request");

  ws::RequestCancelWorkflowExecutionRequest req;
  req.set_namespace_("default");
  req.mutable_workflow_execution()->set_workflow_id("wf-cancel-request");
  req.set_identity("test-client");
  req.set_reason("no longer needed");
  req.set_request_id(reprise::engine::new_uuid());
  ws::RequestCancelWorkflowExecutionResponse resp;
  REQUIRE(call(s, &ws::WorkflowService::Stub::RequestCancelWorkflowExecution, req, resp).ok());

  auto wt = w.next_workflow_task();
  Command cancel;
  cancel.set_command_type(enums::COMMAND_TYPE_CANCEL_WORKFLOW_EXECUTION);
  cancel.mutable_cancel_workflow_execution_command_attributes();
  REQUIRE(w.complete_workflow_task(wt.task_token(), {cancel}).ok());

  auto events = history_of(s, "wf-cancel-request");
  // The task was already scheduled, so the request lands before its WorkflowTaskStarted and adds no task.
  CHECK(event_lines(events) == Lines{"1 WorkflowExecutionStarted", "2 WorkflowTaskScheduled",
                                     "3 WorkflowExecutionCancelRequested", "4 WorkflowTaskStarted",
                                     "5 WorkflowTaskCompleted", "6 WorkflowExecutionCanceled"});
  CHECK(events[2].workflow_execution_cancel_requested_event_attributes().cause() == "no longer needed");
  CHECK(events[2].workflow_execution_cancel_requested_event_attributes().identity() == "test-client");
  CHECK(events[5].workflow_execution_canceled_event_attributes().workflow_task_completed_event_id() == 5);
  CHECK(describe(s, "wf-cancel-request").workflow_execution_info().status() ==
        enums::WORKFLOW_EXECUTION_STATUS_CANCELED);
}

TEST_CASE("a signal retried with the same request id is written once", "[server][lifecycle][signal]") {
  TestServer s;
  RawWorker w(s, "lifecycle");
  w.start("wf-signal-once");
  REQUIRE(send_signal(s, "wf-signal-once", "pay", "1", "request-7").ok());
  REQUIRE(send_signal(s, "wf-signal-once", "pay", "1", "request-7").ok());
  CHECK(history_lines(s, "wf-signal-once") ==
        Lines{"1 WorkflowExecutionStarted", "2 WorkflowTaskScheduled", "3 WorkflowExecutionSignaled"});
}

TEST_CASE("the engine holds state for running workflows only, not for closed ones or unknown ids",
          "[server][lifecycle][memory]") {
  TestServer s;
  auto& engine = s.server->engine();
  RawWorker w(s, "memory");
  w.start_and_complete_first_task("wf-running", {});
  CHECK(engine.workflow_contexts() == 1);  // running: its mutable state stays cached

  for (int i = 0; i < 3; ++i) {
    const std::string id = "wf-closed-" + std::to_string(i);
    w.start_and_complete_first_task(id, {complete_workflow("1")});
    CHECK(describe(s, id).workflow_execution_info().status() == enums::WORKFLOW_EXECUTION_STATUS_COMPLETED);
    CHECK(history_lines(s, id).size() == 5);
  }
  ws::DescribeWorkflowExecutionRequest req;
  req.set_namespace_("default");
  req.mutable_execution()->set_workflow_id("wf-never-started");
  ws::DescribeWorkflowExecutionResponse resp;
  CHECK(call(s, &ws::WorkflowService::Stub::DescribeWorkflowExecution, req, resp).error_code() ==
        grpc::StatusCode::NOT_FOUND);
  CHECK(engine.workflow_contexts() == 1);  // only wf-running

  // A closed workflow dropped from memory is read back from the store when asked again.
  CHECK(history_lines(s, "wf-closed-0").back() == "5 WorkflowExecutionCompleted");
}

namespace {
grpc::Status request_cancel(TestServer& s, const std::string& workflow_id,
                            const std::string& first_execution_run_id = {}) {
  ws::RequestCancelWorkflowExecutionRequest req;
  req.set_namespace_("default");
  req.mutable_workflow_execution()->set_workflow_id(workflow_id);
  req.set_identity("test-client");
  req.set_request_id(reprise::engine::new_uuid());
  req.set_first_execution_run_id(first_execution_run_id);
  ws::RequestCancelWorkflowExecutionResponse resp;
  return call(s, &ws::WorkflowService::Stub::RequestCancelWorkflowExecution, req, resp);
}

grpc::Status terminate_chain(TestServer& s, const std::string& workflow_id, const std::string& first_execution_run_id) {
  ws::TerminateWorkflowExecutionRequest req;
  req.set_namespace_("default");
  req.mutable_workflow_execution()->set_workflow_id(workflow_id);
  req.set_identity("test-client");
  req.set_first_execution_run_id(first_execution_run_id);
  ws::TerminateWorkflowExecutionResponse resp;
  return call(s, &ws::WorkflowService::Stub::TerminateWorkflowExecution, req, resp);
}
}  // namespace

TEST_CASE("asking to cancel a workflow again changes nothing", "[server][lifecycle][cancel]") {
  TestServer s;
  RawWorker w(s, "lifecycle");
  w.start("wf-cancel-twice");
  auto wt = w.next_workflow_task();
  REQUIRE(w.complete_workflow_task(wt.task_token(), {start_timer("t", 60s)}).ok());
  REQUIRE(request_cancel(s, "wf-cancel-twice").ok());
  REQUIRE(request_cancel(s, "wf-cancel-twice").ok());
  CHECK(history_lines(s, "wf-cancel-twice") == Lines{"1 WorkflowExecutionStarted", "2 WorkflowTaskScheduled",
                                                     "3 WorkflowTaskStarted", "4 WorkflowTaskCompleted",
                                                     "5 TimerStarted", "6 WorkflowExecutionCancelRequested",
                                                     "7 WorkflowTaskScheduled"});
}

TEST_CASE("cancel and terminate naming the first run of another chain are NOT_FOUND and leave the run alone",
          "[server][lifecycle][cancel]") {
  TestServer s;
  RawWorker w(s, "lifecycle");
  const std::string first = w.start("wf-chain");
  REQUIRE(terminate(s, "wf-chain").ok());
  const std::string second = w.start("wf-chain");  // a new chain under the same workflow id

  const std::string expected =
      "workflow execution not found: the current run of wf-chain was not started by the chain of run " + first;
  auto st = request_cancel(s, "wf-chain", first);
  CHECK(st.error_code() == grpc::StatusCode::NOT_FOUND);
  CHECK(st.error_message() == expected);
  st = terminate_chain(s, "wf-chain", first);
  CHECK(st.error_code() == grpc::StatusCode::NOT_FOUND);
  CHECK(st.error_message() == expected);
  CHECK(history_lines(s, "wf-chain") == Lines{"1 WorkflowExecutionStarted", "2 WorkflowTaskScheduled"});

  REQUIRE(terminate_chain(s, "wf-chain", second).ok());
  CHECK(describe(s, "wf-chain").workflow_execution_info().execution().run_id() == second);
  CHECK(describe(s, "wf-chain").workflow_execution_info().status() == enums::WORKFLOW_EXECUTION_STATUS_TERMINATED);
}
