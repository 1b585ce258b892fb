// Activity retries as the server runs them (temporal-semantics.md 1.2, 2.2, 7.1): a failed attempt
// that will be retried writes no event at all; the retry waits for its backoff, a durable timer that
// fires when the test advances the ManualClock; when the activity finally closes, one
// ActivityTaskStarted is written for the last attempt (with the previous attempt's failure) right
// before the close event. Engine code: engine/activities.cpp (fail_activity_attempt),
// engine/retry_policy.cpp.
#include "test_server.h"

using namespace reprise::testing;
using Lines = std::vector<std::string>;

namespace {

const Lines kOpening{"1 WorkflowExecutionStarted", "2 WorkflowTaskScheduled", "3 WorkflowTaskStarted",
                     "4 WorkflowTaskCompleted", "5 ActivityTaskScheduled"};

// The clock's value when the test server starts (ManualClock's default), in seconds.
constexpr int64_t kT0 = 1'700'000'000;

Lines opening_plus(Lines more) {
  Lines all = kOpening;
  all.insert(all.end(), more.begin(), more.end());
  return all;
}

Command activity_with_policy(std::function<void(temporal::api::common::v1::RetryPolicy&)> policy) {
  return schedule_activity("1", "flaky", 10s, [&](auto& a) { policy(*a.mutable_retry_policy()); });
}

}  // namespace

TEST_CASE("an activity that fails twice and succeeds on attempt 3 writes only its final attempt",
          "[server][activity][retry]") {
  const bool sqlite = GENERATE(false, true);
  INFO("store: " << (sqlite ? "sqlite" : "memory"));
  TestServer s(TestServerOptions{.sqlite = sqlite});
  RawWorker w(s, "retry");
  w.start_and_complete_first_task("wf-retry", {schedule_activity("1", "flaky")});

  auto a1 = w.next_activity_task();
  CHECK(a1.attempt() == 1);
  REQUIRE(w.fail_activity(a1.task_token(), "boom 1").ok());
  CHECK(history_lines(s, "wf-retry") == kOpening);  // a retried attempt writes nothing

  // Attempt 2 waits for the 1 s backoff (initial interval).
  CHECK(w.poll_activity_task({}, kShortPoll).task_token().empty());
  s.clock.advance(1s);
  auto a2 = w.next_activity_task();
  CHECK(a2.attempt() == 2);
  CHECK(a2.scheduled_time().seconds() == kT0);
  CHECK(a2.current_attempt_scheduled_time().seconds() == kT0 + 1);
  REQUIRE(w.fail_activity(a2.task_token(), "boom 2").ok());
  CHECK(history_lines(s, "wf-retry") == kOpening);

  // Attempt 3 waits 2 s (1 s x backoff coefficient 2).
  s.clock.advance(1s);
  CHECK(w.poll_activity_task({}, kShortPoll).task_token().empty());
  s.clock.advance(1s);
  auto a3 = w.next_activity_task();
  CHECK(a3.attempt() == 3);
  REQUIRE(w.complete_activity(a3.task_token(), "\"third time lucky\"").ok());

  auto events = history_of(s, "wf-retry");
  CHECK(event_lines(events) ==
        opening_plus({"6 ActivityTaskStarted", "7 ActivityTaskCompleted", "8 WorkflowTaskScheduled"}));
  const auto& started = events[5].activity_task_started_event_attributes();
  CHECK(started.scheduled_event_id() == 5);
  CHECK(started.attempt() == 3);
  CHECK(started.last_failure().message() == "boom 2");
  CHECK(started.identity() == "raw-worker");
  CHECK(events[5].event_time().seconds() == kT0 + 3);  // when the last attempt started
  const auto& completed = events[6].activity_task_completed_event_attributes();
  CHECK(completed.scheduled_event_id() == 5);
  CHECK(completed.started_event_id() == 6);
  CHECK(completed.result().payloads(0).data() == "\"third time lucky\"");
}

TEST_CASE("an activity failure marked non-retryable fails the activity at once", "[server][activity][retry]") {
  TestServer s;
  RawWorker w(s, "retry");
  w.start_and_complete_first_task("wf-non-retryable", {schedule_activity("1", "flaky")});

  auto a1 = w.next_activity_task();
  REQUIRE(w.fail_activity(a1.task_token(), "bad input", /*non_retryable=*/true).ok());

  auto events = history_of(s, "wf-non-retryable");
  CHECK(event_lines(events) ==
        opening_plus({"6 ActivityTaskStarted", "7 ActivityTaskFailed", "8 WorkflowTaskScheduled"}));
  CHECK(events[5].activity_task_started_event_attributes().attempt() == 1);
  CHECK_FALSE(events[5].activity_task_started_event_attributes().has_last_failure());
  const auto& failed = events[6].activity_task_failed_event_attributes();
  CHECK(failed.retry_state() == enums::RETRY_STATE_NON_RETRYABLE_FAILURE);
  CHECK(failed.failure().message() == "bad input");  // the worker's failure, as sent
  CHECK(failed.failure().application_failure_info().non_retryable());
  CHECK(failed.scheduled_event_id() == 5);
  CHECK(failed.started_event_id() == 6);
  CHECK(failed.identity() == "raw-worker");
}

TEST_CASE("an activity failure whose type is in non_retryable_error_types is not retried",
          "[server][activity][retry]") {
  TestServer s;
  RawWorker w(s, "retry");
  w.start_and_complete_first_task("wf-listed-type",
                                  {activity_with_policy([](auto& p) { p.add_non_retryable_error_types("BadInput"); })});

  auto a1 = w.next_activity_task();
  REQUIRE(w.fail_activity(a1.task_token(), "flaky network", false, "NetworkError").ok());  // not listed
  s.clock.advance(1s);
  auto a2 = w.next_activity_task();
  CHECK(a2.attempt() == 2);
  REQUIRE(w.fail_activity(a2.task_token(), "bad input", false, "BadInput").ok());  // listed

  auto events = history_of(s, "wf-listed-type");
  CHECK(event_lines(events) ==
        opening_plus({"6 ActivityTaskStarted", "7 ActivityTaskFailed", "8 WorkflowTaskScheduled"}));
  CHECK(events[5].activity_task_started_event_attributes().attempt() == 2);
  CHECK(events[5].activity_task_started_event_attributes().last_failure().message() == "flaky network");
  const auto& failed = events[6].activity_task_failed_event_attributes();
  CHECK(failed.retry_state() == enums::RETRY_STATE_NON_RETRYABLE_FAILURE);
  CHECK(failed.failure().application_failure_info().type() == "BadInput");
  // The policy in the event keeps the list (and Temporal's defaults filled in beside it).
  const auto& policy = events[4].activity_task_scheduled_event_attributes().retry_policy();
  REQUIRE(policy.non_retryable_error_types_size() == 1);
  CHECK(policy.non_retryable_error_types(0) == "BadInput");
  CHECK(policy.initial_interval().seconds() == 1);
}

TEST_CASE("an activity with maximum_attempts 2 fails with MAXIMUM_ATTEMPTS_REACHED after its second attempt",
          "[server][activity][retry]") {
  TestServer s;
  RawWorker w(s, "retry");
  w.start_and_complete_first_task("wf-max-attempts",
                                  {activity_with_policy([](auto& p) { p.set_maximum_attempts(2); })});

  auto a1 = w.next_activity_task();
  REQUIRE(w.fail_activity(a1.task_token(), "boom 1").ok());
  CHECK(history_lines(s, "wf-max-attempts") == kOpening);
  s.clock.advance(1s);
  auto a2 = w.next_activity_task();
  REQUIRE(w.fail_activity(a2.task_token(), "boom 2").ok());

  auto events = history_of(s, "wf-max-attempts");
  CHECK(event_lines(events) ==
        opening_plus({"6 ActivityTaskStarted", "7 ActivityTaskFailed", "8 WorkflowTaskScheduled"}));
  CHECK(events[5].activity_task_started_event_attributes().attempt() == 2);
  CHECK(events[5].activity_task_started_event_attributes().last_failure().message() == "boom 1");
  const auto& failed = events[6].activity_task_failed_event_attributes();
  CHECK(failed.retry_state() == enums::RETRY_STATE_MAXIMUM_ATTEMPTS_REACHED);
  CHECK(failed.failure().message() == "boom 2");
}

TEST_CASE("an activity failure's next_retry_delay replaces the computed backoff and its cap",
          "[server][activity][retry]") {
  TestServer s;
  RawWorker w(s, "retry");
  w.start_and_complete_first_task("wf-next-delay", {schedule_activity("1", "flaky")});

  auto a1 = w.next_activity_task();
  // 150 s: more than the default maximum interval (100 s), which does not apply to it.
  REQUIRE(w.fail_activity(a1.task_token(), "rate limited", false, "RateLimited", [](auto& req) {
             req.mutable_failure()->mutable_application_failure_info()->mutable_next_retry_delay()->set_seconds(150);
           }).ok());

  auto described = describe(s, "wf-next-delay");
  REQUIRE(described.pending_activities_size() == 1);
  CHECK(described.pending_activities(0).attempt() == 2);
  CHECK(described.pending_activities(0).state() == enums::PENDING_ACTIVITY_STATE_SCHEDULED);
  CHECK(described.pending_activities(0).scheduled_time().seconds() == kT0 + 150);

  s.clock.advance(149s);
  CHECK(w.poll_activity_task({}, kShortPoll).task_token().empty());
  s.clock.advance(1s);
  auto a2 = w.next_activity_task();
  CHECK(a2.attempt() == 2);
  REQUIRE(w.complete_activity(a2.task_token(), "\"ok\"").ok());
  CHECK(history_lines(s, "wf-next-delay") ==
        opening_plus({"6 ActivityTaskStarted", "7 ActivityTaskCompleted", "8 WorkflowTaskScheduled"}));
}

TEST_CASE("an activity whose next retry would pass its schedule-to-close deadline fails with retry state TIMEOUT",
          "[server][activity][retry]") {
  TestServer s;
  RawWorker w(s, "retry");
  w.start_and_complete_first_task(
      "wf-no-time-left",
      {schedule_activity("1", "flaky", 10s, [](auto& a) { a.mutable_schedule_to_close_timeout()->set_seconds(10); })});

  auto a1 = w.next_activity_task();
  s.clock.advance(9500ms);  // the 1 s backoff would end after the 10 s deadline
  REQUIRE(w.fail_activity(a1.task_token(), "boom").ok());

  auto events = history_of(s, "wf-no-time-left");
  CHECK(event_lines(events) ==
        opening_plus({"6 ActivityTaskStarted", "7 ActivityTaskFailed", "8 WorkflowTaskScheduled"}));
  CHECK(events[6].activity_task_failed_event_attributes().retry_state() == enums::RETRY_STATE_TIMEOUT);
  CHECK(events[6].activity_task_failed_event_attributes().failure().message() == "boom");
}
