// User timers (temporal-semantics.md 1.3): StartTimer writes TimerStarted and a durable timer; when
// the ManualClock passes it, TimerFired and a new WorkflowTaskScheduled are written. CancelTimer
// writes TimerCanceled and the timer never fires. A timer id still in use fails the workflow task
// with START_TIMER_DUPLICATE_ID. Engine code: engine/commands.cpp, engine/history_engine.cpp (on_timer).
#include "test_server.h"

using namespace reprise::testing;
using Lines = std::vector<std::string>;

TEST_CASE("a timer fires when the clock passes it and schedules a workflow task", "[server][timer]") {
  TestServer s;
  RawWorker w(s, "timers");
  w.start_and_complete_first_task("wf-timer", {start_timer("1", 10s)});

  auto events = history_of(s, "wf-timer");
  REQUIRE(event_lines(events) == Lines{"1 WorkflowExecutionStarted", "2 WorkflowTaskScheduled", "3 WorkflowTaskStarted",
                                       "4 WorkflowTaskCompleted", "5 TimerStarted"});
  const auto& started = events[4].timer_started_event_attributes();
  CHECK(started.timer_id() == "1");
  CHECK(started.start_to_fire_timeout().seconds() == 10);
  CHECK(started.workflow_task_completed_event_id() == 4);

  s.clock.advance(9s);
  CHECK(w.poll_workflow_task({}, false, kShortPoll).task_token().empty());  // not yet
  CHECK(history_lines(s, "wf-timer").size() == 5);

  s.clock.advance(1s);
  events = wait_for_history(s, "wf-timer", 7);
  CHECK(event_lines(events) == Lines{"1 WorkflowExecutionStarted", "2 WorkflowTaskScheduled", "3 WorkflowTaskStarted",
                                     "4 WorkflowTaskCompleted", "5 TimerStarted", "6 TimerFired",
                                     "7 WorkflowTaskScheduled"});
  CHECK(events[5].timer_fired_event_attributes().timer_id() == "1");
  CHECK(events[5].timer_fired_event_attributes().started_event_id() == 5);

  auto wt = w.next_workflow_task();
  CHECK(wt.previous_started_event_id() == 3);
  CHECK(wt.started_event_id() == 8);
  REQUIRE(w.complete_workflow_task(wt.task_token(), {complete_workflow("\"woke up\"")}).ok());
  CHECK(history_lines(s, "wf-timer").back() == "10 WorkflowExecutionCompleted");
}

TEST_CASE("a canceled timer writes TimerCanceled and never fires", "[server][timer]") {
  TestServer s;
  RawWorker w(s, "timers");
  w.start_and_complete_first_task("wf-timer-cancel", {start_timer("1", 10s)});

  // A signal wakes the workflow, which cancels its timer.
  REQUIRE(send_signal(s, "wf-timer-cancel", "never mind").ok());
  auto wt = w.next_workflow_task();
  REQUIRE(w.complete_workflow_task(wt.task_token(), {cancel_timer("1")}).ok());

  const Lines expected{"1 WorkflowExecutionStarted",
                       "2 WorkflowTaskScheduled",
                       "3 WorkflowTaskStarted",
                       "4 WorkflowTaskCompleted",
                       "5 TimerStarted",
                       "6 WorkflowExecutionSignaled",
                       "7 WorkflowTaskScheduled",
                       "8 WorkflowTaskStarted",
                       "9 WorkflowTaskCompleted",
                       "10 TimerCanceled"};
  auto events = history_of(s, "wf-timer-cancel");
  CHECK(event_lines(events) == expected);
  const auto& canceled = events[9].timer_canceled_event_attributes();
  CHECK(canceled.timer_id() == "1");
  CHECK(canceled.started_event_id() == 5);
  CHECK(canceled.workflow_task_completed_event_id() == 9);
  CHECK(canceled.identity() == "raw-worker");

  // The durable timer still comes due; the engine finds the timer canceled and writes nothing.
  s.clock.advance(20s);
  REQUIRE(eventually([&] { return timer_rows(s, reprise::history::TimerKind::UserTimer).empty(); }));
  CHECK(history_lines(s, "wf-timer-cancel") == expected);
}

TEST_CASE("starting a timer whose id is still in use fails the workflow task with START_TIMER_DUPLICATE_ID",
          "[server][timer]") {
  TestServer s;
  RawWorker w(s, "timers");
  w.start_and_complete_first_task("wf-timer-dup", {start_timer("1", 10s)});

  REQUIRE(send_signal(s, "wf-timer-dup", "again").ok());
  auto wt = w.next_workflow_task();
  auto st = w.complete_workflow_task(wt.task_token(), {start_timer("1", 5s)});
  CHECK(st.error_code() == grpc::StatusCode::INVALID_ARGUMENT);
  CHECK(st.error_message() == "StartTimerDuplicateId: timer id 1 is already in use by a pending timer");

  auto events = history_of(s, "wf-timer-dup");
  CHECK(event_lines(events) == Lines{"1 WorkflowExecutionStarted", "2 WorkflowTaskScheduled", "3 WorkflowTaskStarted",
                                     "4 WorkflowTaskCompleted", "5 TimerStarted", "6 WorkflowExecutionSignaled",
                                     "7 WorkflowTaskScheduled", "8 WorkflowTaskStarted", "9 WorkflowTaskFailed"});
  const auto& failed = events[8].workflow_task_failed_event_attributes();
  CHECK(failed.cause() == enums::WORKFLOW_TASK_FAILED_CAUSE_START_TIMER_DUPLICATE_ID);
  CHECK(failed.scheduled_event_id() == 7);
  CHECK(failed.started_event_id() == 8);
  CHECK(failed.identity() == "raw-worker");
  CHECK(failed.failure().message() == st.error_message());
  CHECK(failed.failure().source() == "Server");
  CHECK(failed.failure().has_server_failure_info());

  // Nothing of the refused completion was applied; the next attempt (2, transient) replays it.
  auto retry = w.next_workflow_task();
  CHECK(retry.attempt() == 2);
  CHECK(history_lines(s, "wf-timer-dup").size() == 9);
}

TEST_CASE("two StartTimer commands with one id in one completion fail with START_TIMER_DUPLICATE_ID",
          "[server][timer]") {
  TestServer s;
  RawWorker w(s, "timers");
  w.start("wf-timer-dup-batch");
  auto wt = w.next_workflow_task();
  auto st = w.complete_workflow_task(wt.task_token(), {start_timer("1", 10s), start_timer("1", 20s)});
  CHECK(st.error_code() == grpc::StatusCode::INVALID_ARGUMENT);
  auto events = history_of(s, "wf-timer-dup-batch");
  CHECK(event_lines(events) == Lines{"1 WorkflowExecutionStarted", "2 WorkflowTaskScheduled", "3 WorkflowTaskStarted",
                                     "4 WorkflowTaskFailed"});
  CHECK(events[3].workflow_task_failed_event_attributes().cause() ==
        enums::WORKFLOW_TASK_FAILED_CAUSE_START_TIMER_DUPLICATE_ID);
}

namespace {

// Timer "1" (5 s) started, then a signal's workflow task handed to `w`; the timer fires while the
// worker holds that task (whose own 10 s timeout is still far off), so TimerFired waits in the
// buffer. Returns the task.
ws::PollWorkflowTaskQueueResponse timer_fires_during_task(TestServer& s, RawWorker& w, const std::string& workflow_id) {
  w.start_and_complete_first_task(workflow_id, {start_timer("1", 5s)});
  REQUIRE(send_signal(s, workflow_id, "cancel it").ok());
  auto wt = w.next_workflow_task();
  s.clock.advance(5s);
  REQUIRE(eventually([&] { return timer_rows(s, reprise::history::TimerKind::UserTimer).empty(); }));
  REQUIRE(history_lines(s, workflow_id).size() == 8);
  return wt;
}

}  // namespace

TEST_CASE("a timer that fires while the workflow is canceling it is dropped: only TimerCanceled is written",
          "[server][timer][buffer]") {
  TestServer s;
  RawWorker w(s, "timers");
  auto wt = timer_fires_during_task(s, w, "wf-timer-race");

  // The worker, not knowing, cancels the timer; the cancel wins and the buffered firing is dropped.
  REQUIRE(w.complete_workflow_task(wt.task_token(), {cancel_timer("1")}).ok());
  auto events = history_of(s, "wf-timer-race");
  CHECK(event_lines(events) == Lines{"1 WorkflowExecutionStarted", "2 WorkflowTaskScheduled", "3 WorkflowTaskStarted",
                                     "4 WorkflowTaskCompleted", "5 TimerStarted", "6 WorkflowExecutionSignaled",
                                     "7 WorkflowTaskScheduled", "8 WorkflowTaskStarted", "9 WorkflowTaskCompleted",
                                     "10 TimerCanceled"});
  CHECK(events[9].timer_canceled_event_attributes().started_event_id() == 5);
  // Nothing is left for the workflow to see, so no new workflow task.
  CHECK(w.poll_workflow_task({}, false, kShortPoll).task_token().empty());
}

TEST_CASE("canceling a timer whose firing is buffered does not let a close command through: UnhandledCommand",
          "[server][timer][buffer]") {
  // Temporal decides "events arrived during the task" before it applies any command
  // (workflowTaskCompletedHandler's hasBufferedEventsOrMessages), so a CancelTimer that would drop
  // the only buffered event does not make the close acceptable: the worker must see TimerFired.
  TestServer s;
  RawWorker w(s, "timers");
  auto wt = timer_fires_during_task(s, w, "wf-timer-race-close");

  auto st = w.complete_workflow_task(wt.task_token(), {cancel_timer("1"), complete_workflow("\"done\"")});
  CHECK(st.error_code() == grpc::StatusCode::INVALID_ARGUMENT);
  CHECK(st.error_message() == "UnhandledCommand");
  auto events = history_of(s, "wf-timer-race-close");
  REQUIRE(events.size() >= 10);
  CHECK(event_lines(events)[8] == "9 WorkflowTaskFailed");
  CHECK(events[8].workflow_task_failed_event_attributes().cause() ==
        enums::WORKFLOW_TASK_FAILED_CAUSE_UNHANDLED_COMMAND);
  CHECK(event_lines(events)[9] == "10 TimerFired");
  for (const auto& line : event_lines(events)) {
    CHECK(line.find("TimerCanceled") == std::string::npos);
    CHECK(line.find("WorkflowExecutionCompleted") == std::string::npos);
  }
  // The next task shows the firing to the workflow.
  auto next = w.next_workflow_task();
  bool saw_fired = false;
  for (const auto& e : next.history().events()) saw_fired |= e.event_type() == enums::EVENT_TYPE_TIMER_FIRED;
  CHECK(saw_fired);
}

TEST_CASE("a run that closes deletes its pending timer rows in the same transaction", "[server][timer]") {
  TestServer s;
  RawWorker w(s, "timers");
  w.start_and_complete_first_task("wf-close-timers", {start_timer("1", 1h)});
  REQUIRE(send_signal(s, "wf-close-timers", "finish").ok());
  auto wt = w.next_workflow_task();
  REQUIRE_FALSE(timer_rows(s, reprise::history::TimerKind::UserTimer).empty());
  REQUIRE_FALSE(timer_rows(s, reprise::history::TimerKind::WorkflowTaskStartToClose).empty());

  REQUIRE(w.complete_workflow_task(wt.task_token(), {complete_workflow("\"done\"")}).ok());
  // No clock movement: the rows went with the completion, not with a later firing.
  CHECK(timer_rows(s, reprise::history::TimerKind::UserTimer).empty());
  CHECK(timer_rows(s, reprise::history::TimerKind::WorkflowTaskStartToClose).empty());
  CHECK(history_lines(s, "wf-close-timers").back() == "10 WorkflowExecutionCompleted");
}
