// The four activity timeouts, heartbeats and activity cancellation (temporal-semantics.md 1.2, 1.7,
// 2.1, 2.5). Every timeout is a durable timer: the test advances the ManualClock past it and waits
// for its effect. Schedule-to-start and schedule-to-close are final; start-to-close and heartbeat
// time out one attempt, which is retried under the retry policy (maximum_attempts 1 makes them final).
// Each timeout writes ActivityTaskTimedOut with a TimeoutFailure made by the server
// ({message "activity <Type> timeout", source "Server"}); ActivityTaskStarted is written before it
// only if an attempt was running. Engine code: engine/activities.cpp (on_activity_timer).
#include "test_server.h"

using namespace reprise::testing;
using Lines = std::vector<std::string>;
using ScheduleAttributes = temporal::api::command::v1::ScheduleActivityTaskCommandAttributes;

namespace {

constexpr int64_t kT0Ms = 1'700'000'000'000;  // ManualClock's starting time

const Lines kOpening{"1 WorkflowExecutionStarted", "2 WorkflowTaskScheduled", "3 WorkflowTaskStarted",
                     "4 WorkflowTaskCompleted", "5 ActivityTaskScheduled"};

Lines opening_plus(Lines more) {
  Lines all = kOpening;
  all.insert(all.end(), more.begin(), more.end());
  return all;
}

void single_attempt(ScheduleAttributes& a) { a.mutable_retry_policy()->set_maximum_attempts(1); }

// Waits until the activity scheduled by event 5 is on `attempt` (a timed-out attempt was retried).
void wait_for_attempt(TestServer& s, const std::string& workflow_id, int attempt) {
  REQUIRE(eventually([&] {
    auto d = describe(s, workflow_id);
    return d.pending_activities_size() == 1 && d.pending_activities(0).attempt() == attempt;
  }));
}

// Schedules activity "1" with a 2 s heartbeat timeout, sends `heartbeats` (JSON details, "" for
// none) from its first attempt, lets that attempt time out, and returns the second attempt's task.
ws::PollActivityTaskQueueResponse attempt_after_heartbeat_timeout(TestServer& s, RawWorker& w,
                                                                  const std::string& workflow_id,
                                                                  const std::vector<std::string>& heartbeats) {
  w.start_and_complete_first_task(
      workflow_id,
      {schedule_activity("1", "long", 10s, [](auto& a) { a.mutable_heartbeat_timeout()->set_seconds(2); })});
  auto a1 = w.next_activity_task();
  CHECK_FALSE(a1.has_heartbeat_details());
  for (const auto& details : heartbeats) REQUIRE(w.heartbeat(a1.task_token(), details).ok());
  s.clock.advance(2s);
  wait_for_attempt(s, workflow_id, 2);
  s.clock.advance(1s);
  auto a2 = w.next_activity_task();
  CHECK(a2.attempt() == 2);
  return a2;
}

}  // namespace

TEST_CASE("an activity nobody polls times out schedule-to-start without an ActivityTaskStarted",
          "[server][activity][timeout]") {
  TestServer s;
  RawWorker w(s, "timeouts");
  w.start_and_complete_first_task(
      "wf-s2s",
      {schedule_activity("1", "slow", 10s, [](auto& a) { a.mutable_schedule_to_start_timeout()->set_seconds(5); })});

  s.clock.advance(5s);
  auto events = wait_for_history(s, "wf-s2s", 7);
  CHECK(event_lines(events) == opening_plus({"6 ActivityTaskTimedOut", "7 WorkflowTaskScheduled"}));
  const auto& timed_out = events[5].activity_task_timed_out_event_attributes();
  CHECK(timed_out.scheduled_event_id() == 5);
  CHECK(timed_out.started_event_id() == 0);
  CHECK(timed_out.retry_state() == enums::RETRY_STATE_TIMEOUT);  // schedule-to-start is never retried
  CHECK(timed_out.failure().message() == "activity ScheduleToStart timeout");
  CHECK(timed_out.failure().source() == "Server");
  CHECK(timed_out.failure().timeout_failure_info().timeout_type() == enums::TIMEOUT_TYPE_SCHEDULE_TO_START);

  // The task that was waiting in the queue is gone with it.
  CHECK(w.poll_activity_task({}, kShortPoll).task_token().empty());
}

TEST_CASE("an activity with only a schedule-to-close timeout that nobody polls times out schedule-to-start",
          "[server][activity][timeout]") {
  // Schedule-to-start defaults to schedule-to-close: both rows fall due at once, in either order.
  TestServer s;
  RawWorker w(s, "timeouts");
  w.start_and_complete_first_task("wf-s2c-only", {schedule_activity("1", "slow", 10s, [](auto& a) {
                                    a.clear_start_to_close_timeout();
                                    a.mutable_schedule_to_close_timeout()->set_seconds(8);
                                  })});
  auto scheduled = history_of(s, "wf-s2c-only")[4].activity_task_scheduled_event_attributes();
  REQUIRE(scheduled.schedule_to_start_timeout().seconds() == 8);
  s.clock.advance(8s);
  auto events = wait_for_history(s, "wf-s2c-only", 7);
  CHECK(event_lines(events) == opening_plus({"6 ActivityTaskTimedOut", "7 WorkflowTaskScheduled"}));
  CHECK(events[5].activity_task_timed_out_event_attributes().failure().timeout_failure_info().timeout_type() ==
        enums::TIMEOUT_TYPE_SCHEDULE_TO_START);
}

TEST_CASE("a single-attempt activity that runs too long times out start-to-close after an ActivityTaskStarted",
          "[server][activity][timeout]") {
  TestServer s;
  RawWorker w(s, "timeouts");
  w.start_and_complete_first_task("wf-stc", {schedule_activity("1", "slow", 10s, single_attempt)});

  auto a1 = w.next_activity_task();
  CHECK(a1.start_to_close_timeout().seconds() == 10);
  s.clock.advance(10s);
  auto events = wait_for_history(s, "wf-stc", 8);
  CHECK(event_lines(events) ==
        opening_plus({"6 ActivityTaskStarted", "7 ActivityTaskTimedOut", "8 WorkflowTaskScheduled"}));
  CHECK(events[5].activity_task_started_event_attributes().attempt() == 1);
  const auto& timed_out = events[6].activity_task_timed_out_event_attributes();
  CHECK(timed_out.scheduled_event_id() == 5);
  CHECK(timed_out.started_event_id() == 6);
  CHECK(timed_out.retry_state() == enums::RETRY_STATE_MAXIMUM_ATTEMPTS_REACHED);
  CHECK(timed_out.failure().message() == "activity StartToClose timeout");
  CHECK(timed_out.failure().source() == "Server");
  CHECK(timed_out.failure().timeout_failure_info().timeout_type() == enums::TIMEOUT_TYPE_START_TO_CLOSE);

  // The late worker's result is refused and changes nothing.
  auto late = w.complete_activity(a1.task_token(), "\"too late\"");
  CHECK(late.error_code() == grpc::StatusCode::NOT_FOUND);
  CHECK(history_lines(s, "wf-stc").size() == 8);
}

TEST_CASE("an activity attempt that times out start-to-close is retried and the retry completes",
          "[server][activity][timeout]") {
  TestServer s;
  RawWorker w(s, "timeouts");
  w.start_and_complete_first_task("wf-stc-retry", {schedule_activity("1", "slow")});

  auto a1 = w.next_activity_task();
  s.clock.advance(10s);
  wait_for_attempt(s, "wf-stc-retry", 2);
  CHECK(history_lines(s, "wf-stc-retry") == kOpening);  // the timed-out attempt wrote nothing

  s.clock.advance(1s);  // the retry backoff
  auto a2 = w.next_activity_task();
  CHECK(a2.attempt() == 2);
  REQUIRE(w.complete_activity(a2.task_token(), "\"done\"").ok());

  auto events = history_of(s, "wf-stc-retry");
  CHECK(event_lines(events) ==
        opening_plus({"6 ActivityTaskStarted", "7 ActivityTaskCompleted", "8 WorkflowTaskScheduled"}));
  const auto& started = events[5].activity_task_started_event_attributes();
  CHECK(started.attempt() == 2);
  CHECK(started.last_failure().message() == "activity StartToClose timeout");
  CHECK(started.last_failure().timeout_failure_info().timeout_type() == enums::TIMEOUT_TYPE_START_TO_CLOSE);
  CHECK(events[6].activity_task_completed_event_attributes().started_event_id() == 6);
}

TEST_CASE("a running activity past its schedule-to-close deadline times out for good", "[server][activity][timeout]") {
  TestServer s;
  RawWorker w(s, "timeouts");
  w.start_and_complete_first_task(
      "wf-s2c",
      {schedule_activity("1", "slow", 8s, [](auto& a) { a.mutable_schedule_to_close_timeout()->set_seconds(10); })});

  s.clock.advance(5s);
  auto a1 = w.next_activity_task();  // started at 5 s: its start-to-close (8 s) would end at 13 s
  CHECK(a1.schedule_to_close_timeout().seconds() == 10);
  s.clock.advance(5s);
  auto events = wait_for_history(s, "wf-s2c", 8);
  CHECK(event_lines(events) ==
        opening_plus({"6 ActivityTaskStarted", "7 ActivityTaskTimedOut", "8 WorkflowTaskScheduled"}));
  const auto& timed_out = events[6].activity_task_timed_out_event_attributes();
  CHECK(timed_out.started_event_id() == 6);
  CHECK(timed_out.retry_state() == enums::RETRY_STATE_TIMEOUT);
  CHECK(timed_out.failure().message() == "activity ScheduleToClose timeout");
  CHECK(timed_out.failure().timeout_failure_info().timeout_type() == enums::TIMEOUT_TYPE_SCHEDULE_TO_CLOSE);
}

TEST_CASE("heartbeats re-arm the heartbeat timeout and its expiry carries the last details",
          "[server][activity][timeout][heartbeat]") {
  TestServer s;
  RawWorker w(s, "timeouts");
  w.start_and_complete_first_task("wf-hb", {schedule_activity("1", "long", 10s, [](auto& a) {
                                    a.mutable_heartbeat_timeout()->set_seconds(2);
                                    single_attempt(a);
                                  })});

  auto a1 = w.next_activity_task();
  CHECK(a1.heartbeat_timeout().seconds() == 2);
  s.clock.advance(1s);
  ws::RecordActivityTaskHeartbeatResponse hb;
  REQUIRE(w.heartbeat(a1.task_token(), "{\"progress\":1}", &hb).ok());
  CHECK_FALSE(hb.cancel_requested());

  // At 2.5 s the first heartbeat deadline (2 s) has passed, but the heartbeat at 1 s moved it to 3 s.
  s.clock.advance(1500ms);
  REQUIRE(eventually([&] {
    auto rows = timer_rows(s, reprise::history::TimerKind::ActivityHeartbeat);
    return rows.size() == 1 && rows[0].fire_time_ms == kT0Ms + 3000;
  }));
  CHECK(history_lines(s, "wf-hb") == kOpening);

  s.clock.advance(1s);
  auto events = wait_for_history(s, "wf-hb", 8);
  CHECK(event_lines(events) ==
        opening_plus({"6 ActivityTaskStarted", "7 ActivityTaskTimedOut", "8 WorkflowTaskScheduled"}));
  const auto& timed_out = events[6].activity_task_timed_out_event_attributes();
  CHECK(timed_out.retry_state() == enums::RETRY_STATE_MAXIMUM_ATTEMPTS_REACHED);
  CHECK(timed_out.failure().message() == "activity Heartbeat timeout");
  CHECK(timed_out.failure().source() == "Server");
  const auto& info = timed_out.failure().timeout_failure_info();
  CHECK(info.timeout_type() == enums::TIMEOUT_TYPE_HEARTBEAT);
  REQUIRE(info.last_heartbeat_details().payloads_size() == 1);
  CHECK(info.last_heartbeat_details().payloads(0).data() == "{\"progress\":1}");
}

TEST_CASE("heartbeat details of a timed-out attempt come back in the next attempt's task",
          "[server][activity][timeout][heartbeat]") {
  TestServer s;
  RawWorker w(s, "timeouts");
  auto a2 = attempt_after_heartbeat_timeout(s, w, "wf-hb-retry", {"{\"progress\":7}"});
  REQUIRE(a2.heartbeat_details().payloads_size() == 1);
  CHECK(a2.heartbeat_details().payloads(0).data() == "{\"progress\":7}");
  REQUIRE(w.complete_activity(a2.task_token(), "\"done\"").ok());

  auto events = history_of(s, "wf-hb-retry");
  CHECK(event_lines(events) ==
        opening_plus({"6 ActivityTaskStarted", "7 ActivityTaskCompleted", "8 WorkflowTaskScheduled"}));
  const auto& last_failure = events[5].activity_task_started_event_attributes().last_failure();
  CHECK(last_failure.message() == "activity Heartbeat timeout");
  CHECK(last_failure.timeout_failure_info().last_heartbeat_details().payloads(0).data() == "{\"progress\":7}");
}

TEST_CASE("a heartbeat without details clears the details of the one before", "[server][activity][heartbeat]") {
  TestServer s;
  RawWorker w(s, "timeouts");
  auto a2 = attempt_after_heartbeat_timeout(s, w, "wf-hb-clear", {"{\"progress\":7}", ""});
  CHECK(a2.heartbeat_details().payloads_size() == 0);
}

TEST_CASE("a started activity learns of its cancellation from the heartbeat response", "[server][activity][cancel]") {
  TestServer s;
  RawWorker w(s, "timeouts");
  w.start_and_complete_first_task("wf-cancel", {schedule_activity("1", "long")});
  auto a1 = w.next_activity_task();

  // The workflow asks to cancel the activity in its next workflow task.
  REQUIRE(send_signal(s, "wf-cancel", "stop").ok());
  auto wt = w.next_workflow_task();
  REQUIRE(w.complete_workflow_task(wt.task_token(), {request_cancel_activity(5)}).ok());
  CHECK(history_lines(s, "wf-cancel") ==
        opening_plus({"6 WorkflowExecutionSignaled", "7 WorkflowTaskScheduled", "8 WorkflowTaskStarted",
                      "9 WorkflowTaskCompleted", "10 ActivityTaskCancelRequested"}));

  ws::RecordActivityTaskHeartbeatResponse hb;
  REQUIRE(w.heartbeat(a1.task_token(), "{}", &hb).ok());
  CHECK(hb.cancel_requested());
  REQUIRE(w.cancel_activity(a1.task_token()).ok());

  auto events = history_of(s, "wf-cancel");
  CHECK(event_lines(events) ==
        opening_plus({"6 WorkflowExecutionSignaled", "7 WorkflowTaskScheduled", "8 WorkflowTaskStarted",
                      "9 WorkflowTaskCompleted", "10 ActivityTaskCancelRequested", "11 ActivityTaskStarted",
                      "12 ActivityTaskCanceled", "13 WorkflowTaskScheduled"}));
  const auto& canceled = events[11].activity_task_canceled_event_attributes();
  CHECK(canceled.scheduled_event_id() == 5);
  CHECK(canceled.started_event_id() == 11);
  CHECK(canceled.latest_cancel_requested_event_id() == 10);
  CHECK(canceled.identity() == "raw-worker");
}

TEST_CASE("an activity that reports itself canceled without a cancel request is refused and can still complete",
          "[server][activity][cancel]") {
  TestServer s;
  RawWorker w(s, "timeouts");
  w.start_and_complete_first_task("wf-cancel-unasked", {schedule_activity("1", "long")});
  auto at = w.next_activity_task();
  auto st = w.cancel_activity(at.task_token());
  CHECK(st.error_code() == grpc::StatusCode::INVALID_ARGUMENT);
  CHECK(st.error_message() == "unable to mark activity as canceled without activity being request canceled first");
  CHECK(history_lines(s, "wf-cancel-unasked") == opening_plus({}));
  REQUIRE(w.complete_activity(at.task_token(), "\"done\"").ok());
  CHECK(history_lines(s, "wf-cancel-unasked") ==
        opening_plus({"6 ActivityTaskStarted", "7 ActivityTaskCompleted", "8 WorkflowTaskScheduled"}));
}

TEST_CASE("cancelling an activity that has not started cancels it at once", "[server][activity][cancel]") {
  TestServer s;
  RawWorker w(s, "timeouts");
  w.start_and_complete_first_task(
      "wf-cancel-early",
      {schedule_activity("1", "long", 10s, [](auto& a) { a.mutable_task_queue()->set_name("nobody-polls-this"); })});

  REQUIRE(send_signal(s, "wf-cancel-early", "stop").ok());
  auto wt = w.next_workflow_task();
  REQUIRE(w.complete_workflow_task(wt.task_token(), {request_cancel_activity(5)}).ok());

  auto events = history_of(s, "wf-cancel-early");
  CHECK(event_lines(events) ==
        opening_plus({"6 WorkflowExecutionSignaled", "7 WorkflowTaskScheduled", "8 WorkflowTaskStarted",
                      "9 WorkflowTaskCompleted", "10 ActivityTaskCancelRequested", "11 ActivityTaskCanceled",
                      "12 WorkflowTaskScheduled"}));
  const auto& canceled = events[10].activity_task_canceled_event_attributes();
  CHECK(canceled.scheduled_event_id() == 5);
  CHECK(canceled.started_event_id() == 0);
  CHECK(canceled.latest_cancel_requested_event_id() == 10);
  REQUIRE(canceled.details().payloads_size() == 1);
  CHECK(canceled.details().payloads(0).data() == "\"ACTIVITY_ID_NOT_STARTED\"");

  CHECK(w.poll_activity_task("nobody-polls-this", kShortPoll).task_token().empty());
}

TEST_CASE("an activity id freed by canceling its unstarted activity may be scheduled again in the same completion",
          "[server][activity][cancel]") {
  TestServer s;
  RawWorker w(s, "timeouts");
  auto elsewhere = [](auto& a) { a.mutable_task_queue()->set_name("nobody-polls-this"); };
  w.start_and_complete_first_task("wf-cancel-reuse", {schedule_activity("1", "long", 10s, elsewhere)});
  REQUIRE(send_signal(s, "wf-cancel-reuse", "replace it").ok());
  auto wt = w.next_workflow_task();

  // Scheduling the id again before the cancel is a duplicate: commands apply in order.
  auto st = w.complete_workflow_task(wt.task_token(),
                                     {schedule_activity("1", "short", 10s, elsewhere), request_cancel_activity(5)});
  CHECK(st.error_code() == grpc::StatusCode::INVALID_ARGUMENT);
  CHECK_THAT(st.error_message(), Catch::StartsWith("ScheduleActivityDuplicateId"));

  wt = w.next_workflow_task();
  REQUIRE(w.complete_workflow_task(wt.task_token(),
                                   {request_cancel_activity(5), schedule_activity("1", "short", 10s, elsewhere)})
              .ok());
  auto events = history_of(s, "wf-cancel-reuse");
  const Lines lines = event_lines(events);
  REQUIRE(lines.size() == 16);
  CHECK(Lines(lines.begin() + 11, lines.end()) == Lines{"12 WorkflowTaskCompleted", "13 ActivityTaskCancelRequested",
                                                        "14 ActivityTaskCanceled", "15 ActivityTaskScheduled",
                                                        "16 WorkflowTaskScheduled"});
  const auto& scheduled = events[14].activity_task_scheduled_event_attributes();
  CHECK(scheduled.activity_id() == "1");
  CHECK(scheduled.activity_type().name() == "short");
  // The new activity is the one a worker gets.
  auto at = w.next_activity_task("nobody-polls-this");
  CHECK(at.activity_type().name() == "short");
}

TEST_CASE("an activity asked to cancel twice, in one completion or in two, is refused the second time",
          "[server][activity][cancel]") {
  TestServer s;
  RawWorker w(s, "timeouts");
  const bool same_completion = GENERATE(true, false);
  w.start_and_complete_first_task("wf-cancel-twice", {schedule_activity("1", "long", 10s)});
  auto at = w.next_activity_task();  // started: a cancel request leaves it pending
  REQUIRE(send_signal(s, "wf-cancel-twice", "stop").ok());
  auto wt = w.next_workflow_task();
  std::vector<Command> commands{request_cancel_activity(5)};
  if (same_completion) {
    commands.push_back(request_cancel_activity(5));
  } else {
    REQUIRE(w.complete_workflow_task(wt.task_token(), commands).ok());
    REQUIRE(send_signal(s, "wf-cancel-twice", "again").ok());
    wt = w.next_workflow_task();
  }
  auto before = history_lines(s, "wf-cancel-twice");
  auto st = w.complete_workflow_task(wt.task_token(), commands);
  CHECK(st.error_code() == grpc::StatusCode::INVALID_ARGUMENT);
  CHECK(st.error_message() ==
        "BadRequestCancelActivityAttributes: the activity scheduled by event 5 is already "
        "asked to cancel");
  auto events = history_of(s, "wf-cancel-twice");
  REQUIRE(events.size() == before.size() + 1);  // only the task's failure, none of its commands
  CHECK(events.back().workflow_task_failed_event_attributes().cause() ==
        enums::WORKFLOW_TASK_FAILED_CAUSE_BAD_REQUEST_CANCEL_ACTIVITY_ATTRIBUTES);
}

TEST_CASE("activities run one after another share one start-to-close row, and a later one still times out",
          "[server][activity][timeout][shared-row]") {
  using reprise::history::TimerKind;
  const bool restart = GENERATE(false, true);  // the shared row is in the file: a restart keeps it
  TestServerOptions options;
  options.sqlite = restart;
  TestServer s(options);
  RawWorker w(s, "timeouts");
  w.start_and_complete_first_task("wf-shared-row", {schedule_activity("1", "quick", 10s)});
  auto a1 = w.next_activity_task();  // at T0: its row fires at T0 + 10 s
  REQUIRE(w.complete_activity(a1.task_token(), "1").ok());
  auto wt = w.next_workflow_task();
  s.clock.advance(3s);
  REQUIRE(w.complete_workflow_task(wt.task_token(), {schedule_activity("2", "slow", 10s, single_attempt)}).ok());
  auto a2 = w.next_activity_task();  // at T0 + 3 s: due at T0 + 13 s, which the first row covers

  REQUIRE(only_timer_row_becomes(s, TimerKind::ActivityStartToClose, kT0Ms + 10'000));
  const Lines before = history_lines(s, "wf-shared-row");
  REQUIRE(before.size() == 11);  // ... 10 WorkflowTaskCompleted, 11 ActivityTaskScheduled
  if (restart) s.restart();

  // The first row fires for a finished attempt: no timeout, but a row for the second's deadline.
  s.clock.advance(7s);
  REQUIRE(only_timer_row_becomes(s, TimerKind::ActivityStartToClose, kT0Ms + 13'000));
  CHECK(history_lines(s, "wf-shared-row") == before);

  s.clock.advance(3s);
  auto events = wait_for_history(s, "wf-shared-row", 14);
  CHECK(event_lines(events).back() == "14 WorkflowTaskScheduled");
  CHECK(event_lines(events)[12] == "13 ActivityTaskTimedOut");
  const auto& timed_out = events[12].activity_task_timed_out_event_attributes();
  CHECK(timed_out.scheduled_event_id() == 11);
  CHECK(timed_out.failure().timeout_failure_info().timeout_type() == enums::TIMEOUT_TYPE_START_TO_CLOSE);
  CHECK(w.complete_activity(a2.task_token(), "2").error_code() == grpc::StatusCode::NOT_FOUND);
}
