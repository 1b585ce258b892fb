// What the engine does when the store fails at the worst moment (engine/history_engine.cpp commit()).
// A commit that fails before writing leaves nothing behind and the caller is told to retry
// (UNAVAILABLE); a commit that wrote and then failed (a crash between write and acknowledgement)
// is recognised as landed. Either way nothing is lost and nothing is written twice.
#include "test_server.h"

using namespace reprise::testing;
using reprise::history::FaultInjectingStore;
using Lines = std::vector<std::string>;

namespace {
// Runs a workflow up to a started activity and returns the activity task.
ws::PollActivityTaskQueueResponse run_to_activity(RawWorker& w, const std::string& id) {
  w.start(id);
  auto wt = w.next_workflow_task();
  REQUIRE(w.complete_workflow_task(wt.task_token(), {schedule_activity("1", "step")}).ok());
  return w.next_activity_task();
}
}  // namespace

TEST_CASE("a commit that fails before writing is refused as UNAVAILABLE and a retry lands once", "[server][faults]") {
  FaultyServer f;
  RawWorker w(*f.server, "faults");
  auto at = run_to_activity(w, "wf-fail-before");

  f.faults->fail_next_commit_before_write();
  auto first = w.complete_activity(at.task_token(), "1");
  CHECK(first.error_code() == grpc::StatusCode::UNAVAILABLE);
  CHECK(history_lines(*f.server, "wf-fail-before").size() == 5);  // nothing of the completion was kept

  REQUIRE(w.complete_activity(at.task_token(), "1").ok());
  CHECK(history_lines(*f.server, "wf-fail-before") == Lines{"1 WorkflowExecutionStarted", "2 WorkflowTaskScheduled",
                                                            "3 WorkflowTaskStarted", "4 WorkflowTaskCompleted",
                                                            "5 ActivityTaskScheduled", "6 ActivityTaskStarted",
                                                            "7 ActivityTaskCompleted", "8 WorkflowTaskScheduled"});
  // The workflow goes on: the new workflow task reaches a worker.
  auto wt = w.next_workflow_task();
  CHECK(wt.started_event_id() == 9);
}

TEST_CASE("a commit that wrote and then failed counts as landed: the retry is refused, nothing is duplicated",
          "[server][faults]") {
  FaultyServer f;
  RawWorker w(*f.server, "faults");
  auto at = run_to_activity(w, "wf-fail-after");

  f.faults->fail_next_commit_after_write();
  REQUIRE(w.complete_activity(at.task_token(), "1").ok());
  CHECK(f.faults->counters().failed_after_write == 1);

  // A worker that did not hear back retries; the activity is already closed.
  CHECK(w.complete_activity(at.task_token(), "1").error_code() == grpc::StatusCode::NOT_FOUND);
  auto lines = history_lines(*f.server, "wf-fail-after");
  CHECK(std::count(lines.begin(), lines.end(), "7 ActivityTaskCompleted") == 1);
  CHECK(lines.size() == 8);
  // The workflow task scheduled by the landed commit still reaches a worker.
  auto wt = w.next_workflow_task();
  CHECK(wt.started_event_id() == 9);
}

TEST_CASE("a start with TERMINATE_EXISTING ends the old run and begins the new one in one commit, or neither",
          "[server][faults][start]") {
  FaultyServer f;
  RawWorker w(*f.server, "faults");
  const std::string first_run = w.start("wf-replace");
  auto replace = [](ws::StartWorkflowExecutionRequest& req) {
    req.set_workflow_id_conflict_policy(enums::WORKFLOW_ID_CONFLICT_POLICY_TERMINATE_EXISTING);
    req.set_request_id("replace-1");
  };
  ws::StartWorkflowExecutionRequest req;
  req.set_namespace_("default");
  req.set_workflow_id("wf-replace");
  req.mutable_workflow_type()->set_name("TestWorkflow");
  req.mutable_task_queue()->set_name("faults");
  replace(req);
  ws::StartWorkflowExecutionResponse resp;

  // The commit fails: the old run is still running, untouched, and there is no new run.
  f.faults->fail_next_commit_before_write();
  CHECK(call(*f.server, &ws::WorkflowService::Stub::StartWorkflowExecution, req, resp).error_code() ==
        grpc::StatusCode::UNAVAILABLE);
  CHECK(history_lines(*f.server, "wf-replace") == Lines{"1 WorkflowExecutionStarted", "2 WorkflowTaskScheduled"});
  CHECK(describe(*f.server, "wf-replace").workflow_execution_info().execution().run_id() == first_run);

  // The retry lands both at once (one commit); its acknowledgement is lost, so the server asks the
  // store whether it was written.
  f.faults->fail_next_commit_after_write();
  const auto commits_before = f.faults->counters().commits;
  REQUIRE(call(*f.server, &ws::WorkflowService::Stub::StartWorkflowExecution, req, resp).ok());
  CHECK(f.faults->counters().commits - commits_before == 1);
  CHECK(resp.run_id() != first_run);
  CHECK(f.faults->counters().failed_after_write == 1);
  CHECK(event_lines(history_of(*f.server, "wf-replace", first_run)) ==
        Lines{"1 WorkflowExecutionStarted", "2 WorkflowTaskScheduled", "3 WorkflowExecutionTerminated"});
  CHECK(history_lines(*f.server, "wf-replace") == Lines{"1 WorkflowExecutionStarted", "2 WorkflowTaskScheduled"});
  CHECK(describe(*f.server, "wf-replace").workflow_execution_info().execution().run_id() == resp.run_id());
  // A client retrying the same request gets the run it created, not a third one.
  ws::StartWorkflowExecutionResponse again;
  REQUIRE(call(*f.server, &ws::WorkflowService::Stub::StartWorkflowExecution, req, again).ok());
  CHECK(again.run_id() == resp.run_id());
}
