// Events that arrive while a workflow task is in flight (temporal-semantics.md 1.0, 1.4, 7.2, 7.3).
// An activity result or a signal that comes in while a worker holds a workflow task is buffered: it
// gets no event id until that task ends, then lands after the task's own events (WorkflowTaskCompleted
// and the command events), completions behind the other buffered events, with started_event_id
// rewired to the just-written ActivityTaskStarted, and a new WorkflowTaskScheduled last. A close
// command while events wait in the buffer is refused as UNHANDLED_COMMAND.
// Engine code: engine/execution_update.cpp (append), engine/mutable_state.cpp (flush_buffered_events),
// engine/workflow_tasks.cpp (respond_workflow_task_completed).
#include "test_server.h"

using namespace reprise::testing;
using Lines = std::vector<std::string>;

namespace {
// Events 1-8: activity 5 started by a worker; a signal makes the workflow run again, and while that
// task (returned, in flight) is with the worker the activity completes with "result": buffered.
ws::PollWorkflowTaskQueueResponse activity_completes_during_task(TestServer& s, RawWorker& w,
                                                                 const std::string& workflow_id) {
  w.start_and_complete_first_task(workflow_id, {schedule_activity("1", "work")});
  auto at = w.next_activity_task();
  REQUIRE(send_signal(s, workflow_id, "go").ok());
  auto wt = w.next_workflow_task();
  REQUIRE(w.complete_activity(at.task_token(), "\"result\"").ok());
  return wt;
}
}  // namespace

TEST_CASE("an activity completion during a workflow task lands after the task's events with its started id rewired",
          "[server][buffer]") {
  TestServer s;
  RawWorker w(s, "buffering");
  auto wt = activity_completes_during_task(s, w, "wf-buffer-activity");
  CHECK(wt.started_event_id() == 8);
  CHECK(history_lines(s, "wf-buffer-activity").size() == 8);  // buffered: nothing written yet

  REQUIRE(w.complete_workflow_task(wt.task_token(), {start_timer("t", 30s)}).ok());
  auto events = history_of(s, "wf-buffer-activity");
  CHECK(event_lines(events) == Lines{"1 WorkflowExecutionStarted", "2 WorkflowTaskScheduled", "3 WorkflowTaskStarted",
                                     "4 WorkflowTaskCompleted", "5 ActivityTaskScheduled",
                                     "6 WorkflowExecutionSignaled", "7 WorkflowTaskScheduled", "8 WorkflowTaskStarted",
                                     "9 WorkflowTaskCompleted", "10 TimerStarted", "11 ActivityTaskStarted",
                                     "12 ActivityTaskCompleted", "13 WorkflowTaskScheduled"});
  CHECK(events[9].timer_started_event_attributes().workflow_task_completed_event_id() == 9);
  CHECK(events[10].activity_task_started_event_attributes().scheduled_event_id() == 5);
  const auto& completed = events[11].activity_task_completed_event_attributes();
  CHECK(completed.scheduled_event_id() == 5);
  CHECK(completed.started_event_id() == 11);

  auto next = w.next_workflow_task();
  CHECK(next.previous_started_event_id() == 8);
  CHECK(next.started_event_id() == 14);
}

TEST_CASE("asking to cancel an activity whose completion waits in the buffer writes the request, then the completion",
          "[server][buffer][cancel]") {
  TestServer s;
  RawWorker w(s, "buffering");
  // The activity ends while the worker decides to cancel it (a cancellation scope racing it).
  auto wt = activity_completes_during_task(s, w, "wf-buffer-cancel");

  REQUIRE(w.complete_workflow_task(wt.task_token(), {request_cancel_activity(5)}).ok());
  auto events = history_of(s, "wf-buffer-cancel");
  CHECK(event_lines(events) == Lines{"1 WorkflowExecutionStarted", "2 WorkflowTaskScheduled", "3 WorkflowTaskStarted",
                                     "4 WorkflowTaskCompleted", "5 ActivityTaskScheduled",
                                     "6 WorkflowExecutionSignaled", "7 WorkflowTaskScheduled", "8 WorkflowTaskStarted",
                                     "9 WorkflowTaskCompleted", "10 ActivityTaskCancelRequested",
                                     "11 ActivityTaskStarted", "12 ActivityTaskCompleted", "13 WorkflowTaskScheduled"});
  CHECK(events[9].activity_task_cancel_requested_event_attributes().scheduled_event_id() == 5);
  CHECK(events[11].activity_task_completed_event_attributes().result().payloads(0).data() == "\"result\"");
}

TEST_CASE("a signal during a workflow task lands after the task's command events", "[server][buffer][signal]") {
  TestServer s;
  RawWorker w(s, "buffering");
  w.start("wf-buffer-signal");
  auto wt = w.next_workflow_task();
  REQUIRE(send_signal(s, "wf-buffer-signal", "hello", "\"world\"").ok());
  CHECK(history_lines(s, "wf-buffer-signal").size() == 3);

  REQUIRE(w.complete_workflow_task(wt.task_token(), {start_timer("1", 10s)}).ok());
  auto events = history_of(s, "wf-buffer-signal");
  CHECK(event_lines(events) == Lines{"1 WorkflowExecutionStarted", "2 WorkflowTaskScheduled", "3 WorkflowTaskStarted",
                                     "4 WorkflowTaskCompleted", "5 TimerStarted", "6 WorkflowExecutionSignaled",
                                     "7 WorkflowTaskScheduled"});
  const auto& signaled = events[5].workflow_execution_signaled_event_attributes();
  CHECK(signaled.signal_name() == "hello");
  CHECK(signaled.input().payloads(0).data() == "\"world\"");
  CHECK(signaled.identity() == "test-client");
}

TEST_CASE("buffered completions move behind other buffered events", "[server][buffer]") {
  TestServer s;
  RawWorker w(s, "buffering");
  w.start_and_complete_first_task("wf-buffer-order", {schedule_activity("1", "work")});
  auto at = w.next_activity_task();
  REQUIRE(send_signal(s, "wf-buffer-order", "first").ok());
  auto wt = w.next_workflow_task();

  // The completion arrives first, the signal second; the completion is still written last.
  REQUIRE(w.complete_activity(at.task_token(), "\"result\"").ok());
  REQUIRE(send_signal(s, "wf-buffer-order", "second").ok());
  REQUIRE(w.complete_workflow_task(wt.task_token(), {}).ok());

  auto events = history_of(s, "wf-buffer-order");
  CHECK(event_lines(events) ==
        Lines{"1 WorkflowExecutionStarted", "2 WorkflowTaskScheduled", "3 WorkflowTaskStarted",
              "4 WorkflowTaskCompleted", "5 ActivityTaskScheduled", "6 WorkflowExecutionSignaled",
              "7 WorkflowTaskScheduled", "8 WorkflowTaskStarted", "9 WorkflowTaskCompleted", "10 ActivityTaskStarted",
              "11 WorkflowExecutionSignaled", "12 ActivityTaskCompleted", "13 WorkflowTaskScheduled"});
  CHECK(events[10].workflow_execution_signaled_event_attributes().signal_name() == "second");
  CHECK(events[11].activity_task_completed_event_attributes().started_event_id() == 10);
}

TEST_CASE("completing the workflow while events are buffered fails the task with UNHANDLED_COMMAND",
          "[server][buffer]") {
  TestServer s;
  RawWorker w(s, "buffering");
  w.start("wf-unhandled");
  auto wt = w.next_workflow_task();
  REQUIRE(send_signal(s, "wf-unhandled", "late news").ok());

  // Core asks for a sticky queue with every completion; failing the task must clear it again.
  auto st =
      w.complete_workflow_task(wt.task_token(), {start_timer("1", 10s), complete_workflow("\"done\"")}, [](auto& req) {
        auto* sticky = req.mutable_sticky_attributes();
        sticky->mutable_worker_task_queue()->set_name("w1-sticky");
        sticky->mutable_worker_task_queue()->set_kind(enums::TASK_QUEUE_KIND_STICKY);
        sticky->mutable_schedule_to_start_timeout()->set_seconds(5);
      });
  // SDK cores recognise exactly this answer and simply poll again.
  CHECK(st.error_code() == grpc::StatusCode::INVALID_ARGUMENT);
  CHECK(st.error_message() == "UnhandledCommand");

  auto events = history_of(s, "wf-unhandled");
  CHECK(event_lines(events) == Lines{"1 WorkflowExecutionStarted", "2 WorkflowTaskScheduled", "3 WorkflowTaskStarted",
                                     "4 WorkflowTaskFailed", "5 WorkflowExecutionSignaled", "6 WorkflowTaskScheduled"});
  const auto& failed = events[3].workflow_task_failed_event_attributes();
  CHECK(failed.cause() == enums::WORKFLOW_TASK_FAILED_CAUSE_UNHANDLED_COMMAND);
  CHECK(failed.failure().message() == "UnhandledCommand");
  CHECK(failed.failure().source() == "Server");
  CHECK(failed.failure().has_server_failure_info());
  CHECK(failed.identity() == "raw-worker");
  const auto& scheduled = events[5].workflow_task_scheduled_event_attributes();
  CHECK(scheduled.attempt() == 1);
  CHECK(scheduled.task_queue().name() == "buffering");
  CHECK(scheduled.task_queue().kind() == enums::TASK_QUEUE_KIND_NORMAL);

  // The worker sees the signal and completes for real this time.
  auto retry = w.next_workflow_task();
  CHECK(retry.attempt() == 1);
  CHECK(retry.history().events_size() == 7);
  REQUIRE(w.complete_workflow_task(retry.task_token(), {complete_workflow("\"done\"")}).ok());
  CHECK(history_lines(s, "wf-unhandled").back() == "9 WorkflowExecutionCompleted");
}
