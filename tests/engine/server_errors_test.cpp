// Refused requests: each gets the gRPC code Temporal uses and a message that names what was wrong,
// and nothing is written. A bad command is refused too, but as a workflow task failure: the
// WorkflowTaskFailed event records the cause and the worker's RPC gets INVALID_ARGUMENT
// ("<Cause>: <what was wrong>", as Temporal words it).
// Engine code: engine/workflow_lifecycle.cpp, engine/commands.cpp (validate_commands), engine/errors.h.
#include "test_server.h"

using namespace reprise::testing;
using Lines = std::vector<std::string>;

namespace {

ws::StartWorkflowExecutionRequest valid_start() {
  ws::StartWorkflowExecutionRequest req;
  req.set_namespace_("default");
  req.set_workflow_id("wf-errors");
  req.mutable_workflow_type()->set_name("TestWorkflow");
  req.mutable_task_queue()->set_name("errors");
  req.set_request_id(reprise::engine::new_uuid());
  return req;
}

grpc::Status start(TestServer& s, const ws::StartWorkflowExecutionRequest& req) {
  ws::StartWorkflowExecutionResponse resp;
  return call(s, &ws::WorkflowService::Stub::StartWorkflowExecution, req, resp);
}

grpc::Status list(TestServer& s, const std::string& query) {
  ws::ListWorkflowExecutionsRequest req;
  req.set_namespace_("default");
  req.set_query(query);
  ws::ListWorkflowExecutionsResponse resp;
  return call(s, &ws::WorkflowService::Stub::ListWorkflowExecutions, req, resp);
}

}  // namespace

TEST_CASE("a start request missing its workflow id, type or task queue is INVALID_ARGUMENT", "[server][errors]") {
  TestServer s;
  auto req = valid_start();
  req.clear_workflow_id();
  auto st = start(s, req);
  CHECK(st.error_code() == grpc::StatusCode::INVALID_ARGUMENT);
  CHECK(st.error_message() == "WorkflowId is not set on request");

  req = valid_start();
  req.clear_workflow_type();
  st = start(s, req);
  CHECK(st.error_code() == grpc::StatusCode::INVALID_ARGUMENT);
  CHECK(st.error_message() == "WorkflowType is not set on request");

  req = valid_start();
  req.clear_task_queue();
  st = start(s, req);
  CHECK(st.error_code() == grpc::StatusCode::INVALID_ARGUMENT);
  CHECK(st.error_message() == "TaskQueue is not set on request");

  req = valid_start();
  req.mutable_workflow_run_timeout()->set_seconds(-1);
  st = start(s, req);
  CHECK(st.error_code() == grpc::StatusCode::INVALID_ARGUMENT);
  CHECK(st.error_message() == "Invalid WorkflowRunTimeout: it cannot be negative");

  req = valid_start();
  req.mutable_retry_policy()->set_backoff_coefficient(0.5);
  st = start(s, req);
  CHECK(st.error_code() == grpc::StatusCode::INVALID_ARGUMENT);
  CHECK(st.error_message() == "BackoffCoefficient cannot be less than 1 on retry policy.");

  // Accepted and ignored would be worse than refused: a workflow retry policy and a cron schedule.
  req = valid_start();
  req.mutable_retry_policy()->set_maximum_attempts(3);
  st = start(s, req);
  CHECK(st.error_code() == grpc::StatusCode::INVALID_ARGUMENT);
  CHECK(st.error_message() ==
        "RetryPolicy of a workflow is not supported by Reprise yet (activities' retry policies are)");
  req = valid_start();
  req.set_cron_schedule("* * * * *");
  st = start(s, req);
  CHECK(st.error_code() == grpc::StatusCode::INVALID_ARGUMENT);
  CHECK(st.error_message() == "CronSchedule is not supported by Reprise yet");

  // None of them created anything.
  ws::DescribeWorkflowExecutionRequest describe_req;
  describe_req.set_namespace_("default");
  describe_req.mutable_execution()->set_workflow_id("wf-errors");
  ws::DescribeWorkflowExecutionResponse describe_resp;
  CHECK(call(s, &ws::WorkflowService::Stub::DescribeWorkflowExecution, describe_req, describe_resp).error_code() ==
        grpc::StatusCode::NOT_FOUND);
}

TEST_CASE("a request for an unknown namespace is NOT_FOUND", "[server][errors]") {
  TestServer s;
  auto req = valid_start();
  req.set_namespace_("no-such-namespace");
  auto st = start(s, req);
  CHECK(st.error_code() == grpc::StatusCode::NOT_FOUND);
  CHECK(st.error_message() == "namespace no-such-namespace is not found");

  ws::PollWorkflowTaskQueueRequest poll;
  poll.set_namespace_("no-such-namespace");
  poll.mutable_task_queue()->set_name("errors");
  ws::PollWorkflowTaskQueueResponse poll_resp;
  st = call(s, &ws::WorkflowService::Stub::PollWorkflowTaskQueue, poll, poll_resp);
  CHECK(st.error_code() == grpc::StatusCode::NOT_FOUND);
  CHECK(st.error_message() == "namespace no-such-namespace is not found");
}

TEST_CASE("a poll without a task queue is INVALID_ARGUMENT", "[server][errors]") {
  TestServer s;
  ws::PollActivityTaskQueueRequest req;
  req.set_namespace_("default");
  ws::PollActivityTaskQueueResponse resp;
  auto st = call(s, &ws::WorkflowService::Stub::PollActivityTaskQueue, req, resp);
  CHECK(st.error_code() == grpc::StatusCode::INVALID_ARGUMENT);
  CHECK(st.error_message() == "TaskQueue is not set on request");
}

TEST_CASE("signalling a workflow that does not exist is NOT_FOUND", "[server][errors]") {
  TestServer s;
  auto st = send_signal(s, "wf-nobody", "hello");
  CHECK(st.error_code() == grpc::StatusCode::NOT_FOUND);
  CHECK(st.error_message() == "workflow execution not found: WorkflowId wf-nobody");
}

TEST_CASE("a list query Reprise cannot parse is INVALID_ARGUMENT and says what it understands", "[server][errors]") {
  TestServer s;
  auto st = list(s, "WorkflowId > 'x'");
  CHECK(st.error_code() == grpc::StatusCode::INVALID_ARGUMENT);
  CHECK(st.error_message() ==
        "invalid query \"WorkflowId > 'x'\": Reprise understands WorkflowId, WorkflowType and ExecutionStatus "
        "compared with = to a quoted value, joined by AND");

  st = list(s, "StartTime = 'yesterday'");
  CHECK(st.error_code() == grpc::StatusCode::INVALID_ARGUMENT);
  CHECK(st.error_message() ==
        "invalid query: unknown field StartTime (Reprise filters on WorkflowId, WorkflowType and ExecutionStatus)");

  st = list(s, "ExecutionStatus = 'Sleeping'");
  CHECK(st.error_code() == grpc::StatusCode::INVALID_ARGUMENT);
  CHECK(st.error_message() ==
        "invalid ExecutionStatus 'Sleeping': use Running, Completed, Failed, Canceled, Terminated, ContinuedAsNew or "
        "TimedOut");
}

TEST_CASE("an activity command without timeouts fails the workflow task with BAD_SCHEDULE_ACTIVITY_ATTRIBUTES",
          "[server][errors]") {
  TestServer s;
  RawWorker w(s, "errors");
  w.start("wf-bad-activity");
  auto wt = w.next_workflow_task();

  Command no_timeouts = schedule_activity("1", "work");
  no_timeouts.mutable_schedule_activity_task_command_attributes()->clear_start_to_close_timeout();
  auto st = w.complete_workflow_task(wt.task_token(), {start_timer("1", 10s), no_timeouts});
  CHECK(st.error_code() == grpc::StatusCode::INVALID_ARGUMENT);
  CHECK(st.error_message() ==
        "BadScheduleActivityAttributes: a valid StartToCloseTimeout or ScheduleToCloseTimeout must be set on "
        "ScheduleActivityTaskCommand");

  // Nothing of the completion was applied: not even the valid timer before the bad command.
  auto events = history_of(s, "wf-bad-activity");
  CHECK(event_lines(events) == Lines{"1 WorkflowExecutionStarted", "2 WorkflowTaskScheduled", "3 WorkflowTaskStarted",
                                     "4 WorkflowTaskFailed"});
  const auto& failed = events[3].workflow_task_failed_event_attributes();
  CHECK(failed.cause() == enums::WORKFLOW_TASK_FAILED_CAUSE_BAD_SCHEDULE_ACTIVITY_ATTRIBUTES);
  CHECK(failed.failure().message() == st.error_message());
  CHECK(failed.identity() == "raw-worker");
}

TEST_CASE("a workflow task that would pass the pending-activities limit fails with PENDING_ACTIVITIES_LIMIT_EXCEEDED",
          "[server][errors]") {
  CHECK(reprise::engine::EngineOptions{}.max_pending_activities == 2000);  // Temporal's default
  TestServerOptions o;
  o.engine.max_pending_activities = 2;
  TestServer s(o);
  RawWorker w(s, "errors");
  w.start("wf-too-many");
  auto wt = w.next_workflow_task();
  auto st = w.complete_workflow_task(wt.task_token(), {schedule_activity("1", "work"), schedule_activity("2", "work"),
                                                       schedule_activity("3", "work")});
  CHECK(st.error_code() == grpc::StatusCode::INVALID_ARGUMENT);
  CHECK(st.error_message() ==
        "PendingActivitiesLimitExceeded: the number of pending activities, 2, has reached the per-workflow limit of 2");
  auto events = history_of(s, "wf-too-many");
  REQUIRE(event_lines(events) == Lines{"1 WorkflowExecutionStarted", "2 WorkflowTaskScheduled", "3 WorkflowTaskStarted",
                                       "4 WorkflowTaskFailed"});
  CHECK(events[3].workflow_task_failed_event_attributes().cause() ==
        enums::WORKFLOW_TASK_FAILED_CAUSE_PENDING_ACTIVITIES_LIMIT_EXCEEDED);

  // The next attempt schedules as many as the limit allows; a cancel of one not yet started frees
  // its place within the same completion.
  auto retry = w.next_workflow_task();
  CHECK(retry.attempt() == 2);
  REQUIRE(w.complete_workflow_task(retry.task_token(), {schedule_activity("1", "work"), schedule_activity("2", "work")})
              .ok());
  REQUIRE(send_signal(s, "wf-too-many", "wake").ok());
  auto third = w.next_workflow_task();
  CHECK(
      w.complete_workflow_task(third.task_token(), {request_cancel_activity(8), schedule_activity("3", "work")}).ok());
  CHECK(history_lines(s, "wf-too-many") ==
        Lines{"1 WorkflowExecutionStarted", "2 WorkflowTaskScheduled", "3 WorkflowTaskStarted", "4 WorkflowTaskFailed",
              "5 WorkflowTaskScheduled", "6 WorkflowTaskStarted", "7 WorkflowTaskCompleted", "8 ActivityTaskScheduled",
              "9 ActivityTaskScheduled", "10 WorkflowExecutionSignaled", "11 WorkflowTaskScheduled",
              "12 WorkflowTaskStarted", "13 WorkflowTaskCompleted", "14 ActivityTaskCancelRequested",
              "15 ActivityTaskCanceled", "16 ActivityTaskScheduled", "17 WorkflowTaskScheduled"});

  // A started activity asked to cancel stays pending until its worker reports: no place freed.
  auto fourth = w.next_workflow_task();
  auto started = w.next_activity_task();
  REQUIRE(started.activity_id() == "2");  // scheduled by event 9
  auto refused =
      w.complete_workflow_task(fourth.task_token(), {request_cancel_activity(9), schedule_activity("4", "work")});
  CHECK(refused.error_message() ==
        "PendingActivitiesLimitExceeded: the number of pending activities, 2, has reached the per-workflow limit of 2");
}

TEST_CASE("an activity id, type or task queue, a timer id or a marker name over 1,000 bytes fails the workflow task",
          "[server][errors]") {
  TestServer s;
  const std::string too_long(1001, 'x');
  const std::string longest(1000, 'x');
  Command marker;
  marker.set_command_type(enums::COMMAND_TYPE_RECORD_MARKER);
  marker.mutable_record_marker_command_attributes()->set_marker_name(too_long);
  // Each on a workflow and queue of its own: a first attempt's failure schedules the next at once,
  // which must not reach the next case's poll.
  auto refusal = [&](const std::string& id, Command c) {
    RawWorker w(s, id);
    w.start(id);
    auto wt = w.next_workflow_task();
    return w.complete_workflow_task(wt.task_token(), {std::move(c)}).error_message();
  };
  CHECK(refusal("wf-long-activity-id", schedule_activity(too_long, "work")) ==
        "BadScheduleActivityAttributes: ActivityId on ScheduleActivityTaskCommand exceeds length limit. "
        "Length=1001 Limit=1000");
  CHECK(refusal("wf-long-activity-type", schedule_activity("1", too_long)) ==
        "BadScheduleActivityAttributes: ActivityType on ScheduleActivityTaskCommand exceeds length limit. "
        "Length=1001 Limit=1000");
  Command long_queue = schedule_activity("1", "work");
  long_queue.mutable_schedule_activity_task_command_attributes()->mutable_task_queue()->set_name(too_long);
  CHECK(refusal("wf-long-activity-queue", long_queue) ==
        "BadScheduleActivityAttributes: TaskQueue on ScheduleActivityTaskCommand exceeds length limit. "
        "Length=1001 Limit=1000");
  CHECK(refusal("wf-long-timer-id", start_timer(too_long, 10s)) ==
        "BadStartTimerAttributes: TimerId on StartTimerCommand exceeds length limit. Length=1001 Limit=1000");
  CHECK(refusal("wf-long-marker", marker) ==
        "BadRecordMarkerAttributes: MarkerName on RecordMarkerCommand exceeds length limit. Length=1001 Limit=1000");
  CHECK(history_lines(s, "wf-long-marker").back() == "4 WorkflowTaskFailed");
  // 1,000 bytes is still allowed.
  RawWorker w(s, "wf-longest-ids");
  w.start("wf-longest-ids");
  auto wt = w.next_workflow_task();
  REQUIRE(
      w.complete_workflow_task(wt.task_token(), {schedule_activity(longest, longest), start_timer(longest, 10s)}).ok());
  CHECK(history_lines(s, "wf-longest-ids").back() == "6 TimerStarted");
}

TEST_CASE("a close command that is not the last command is refused without failing the workflow task",
          "[server][errors]") {
  TestServer s;
  RawWorker w(s, "errors");
  w.start("wf-close-not-last");
  auto wt = w.next_workflow_task();
  auto st = w.complete_workflow_task(wt.task_token(), {complete_workflow("\"done\""), start_timer("1", 10s)});
  CHECK(st.error_code() == grpc::StatusCode::INVALID_ARGUMENT);
  CHECK(st.error_message() ==
        "invalid command sequence: COMMAND_TYPE_COMPLETE_WORKFLOW_EXECUTION must be the last command");
  // As in Temporal, a malformed sequence is an invalid request, not a workflow task failure: nothing
  // is written and the task stays with the worker until it answers properly or times out.
  CHECK(history_lines(s, "wf-close-not-last").size() == 3);
  REQUIRE(w.complete_workflow_task(wt.task_token(), {start_timer("1", 10s), complete_workflow("\"done\"")}).ok());
  CHECK(history_lines(s, "wf-close-not-last").back() == "6 WorkflowExecutionCompleted");
}
