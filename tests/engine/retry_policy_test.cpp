// Unit tests of the activity retry rules (engine/retry_policy.h, temporal-semantics.md 2.1, 2.2):
// Temporal's defaults, validation, the backoff sequence and its cap, next_retry_delay, the
// schedule-to-close limit, and which failures may be retried at all.
#include "engine/retry_policy.h"

#include <catch2/catch.hpp>
#include <functional>

#include "engine/errors.h"
#include "engine/time_util.h"

using namespace reprise::engine;

namespace {

constexpr int64_t kNow = 1'700'000'000'000;

Failure application_failure(const std::string& type, bool non_retryable = false) {
  Failure f;
  f.set_message("boom");
  f.mutable_application_failure_info()->set_type(type);
  f.mutable_application_failure_info()->set_non_retryable(non_retryable);
  return f;
}

Failure timeout(enums::TimeoutType type) {
  Failure f;
  f.mutable_timeout_failure_info()->set_timeout_type(type);
  return f;
}

RetryPolicy defaults() { return normalize_retry_policy(RetryPolicy{}); }

}  // namespace

TEST_CASE("an empty retry policy gets Temporal's defaults", "[retry]") {
  RetryPolicy p = defaults();
  CHECK(ms_from_duration(p.initial_interval()) == 1000);
  CHECK(p.backoff_coefficient() == 2.0);
  CHECK(ms_from_duration(p.maximum_interval()) == 100'000);
  CHECK(p.maximum_attempts() == 0);

  RetryPolicy custom;
  custom.mutable_initial_interval()->set_seconds(3);
  CHECK(ms_from_duration(normalize_retry_policy(custom).maximum_interval()) == 300'000);  // 100 x initial
}

TEST_CASE("an invalid retry policy is refused with Temporal's message naming the field", "[retry]") {
  using Case = std::pair<std::function<void(RetryPolicy&)>, std::string>;
  const auto [make_invalid, expected] = GENERATE(
      Case{[](RetryPolicy& p) { p.mutable_initial_interval()->set_seconds(-1); },
           "InitialInterval cannot be negative on retry policy."},
      Case{[](RetryPolicy& p) { p.set_backoff_coefficient(0.5); },
           "BackoffCoefficient cannot be less than 1 on retry policy."},
      Case{[](RetryPolicy& p) { p.mutable_maximum_interval()->set_seconds(-5); },
           "MaximumInterval cannot be negative on retry policy."},
      Case{[](RetryPolicy& p) {
             p.mutable_initial_interval()->set_seconds(10);
             p.mutable_maximum_interval()->set_seconds(5);
           },
           "MaximumInterval cannot be less than InitialInterval on retry policy."},
      Case{[](RetryPolicy& p) { p.set_maximum_attempts(-1); }, "MaximumAttempts cannot be negative on retry policy."});
  RetryPolicy p;
  make_invalid(p);
  CHECK_THROWS_WITH(normalize_retry_policy(p), expected);
}

TEST_CASE("a single-attempt retry policy is not checked: it never backs off", "[retry]") {
  RetryPolicy p;
  p.set_maximum_attempts(1);
  p.set_backoff_coefficient(0.5);
  p.mutable_initial_interval()->set_seconds(-1);
  CHECK_NOTHROW(normalize_retry_policy(p));
}

TEST_CASE("the backoff doubles from the initial interval up to the maximum interval", "[retry]") {
  RetryPolicy p = defaults();
  auto f = application_failure("Error");
  std::vector<int64_t> delays;
  for (int attempt : {1, 2, 3, 4, 7, 8, 20}) {
    auto d = decide_retry(p, attempt, f, kNow, 0);
    REQUIRE(d.state == enums::RETRY_STATE_IN_PROGRESS);
    delays.push_back(d.delay_ms);
  }
  CHECK(delays == std::vector<int64_t>{1000, 2000, 4000, 8000, 64'000, 100'000, 100'000});
}

TEST_CASE("maximum_attempts stops retrying after that many attempts", "[retry]") {
  RetryPolicy p = defaults();
  p.set_maximum_attempts(3);
  auto f = application_failure("Error");
  CHECK(decide_retry(p, 2, f, kNow, 0).state == enums::RETRY_STATE_IN_PROGRESS);
  CHECK(decide_retry(p, 3, f, kNow, 0).state == enums::RETRY_STATE_MAXIMUM_ATTEMPTS_REACHED);
}

TEST_CASE("next_retry_delay replaces the computed delay and its cap", "[retry]") {
  RetryPolicy p = defaults();
  auto f = application_failure("Error");
  *f.mutable_application_failure_info()->mutable_next_retry_delay() = duration_from_ms(250'000);
  auto d = decide_retry(p, 1, f, kNow, 0);
  CHECK(d.state == enums::RETRY_STATE_IN_PROGRESS);
  CHECK(d.delay_ms == 250'000);
}

TEST_CASE("a retry that would start after the schedule-to-close deadline gives up with TIMEOUT", "[retry]") {
  RetryPolicy p = defaults();
  auto f = application_failure("Error");
  CHECK(decide_retry(p, 1, f, kNow, kNow + 1001).state == enums::RETRY_STATE_IN_PROGRESS);
  // Exactly at the deadline still retries: Temporal gives up only when now + delay is after it
  // (nextBackoffInterval's `now.Add(interval).After(expirationTime)`).
  CHECK(decide_retry(p, 1, f, kNow, kNow + 1000).state == enums::RETRY_STATE_IN_PROGRESS);
  CHECK(decide_retry(p, 1, f, kNow, kNow + 999).state == enums::RETRY_STATE_TIMEOUT);
  CHECK(decide_retry(p, 2, f, kNow, kNow + 1500).state == enums::RETRY_STATE_TIMEOUT);  // needs 2 s
}

TEST_CASE("application failures are retryable unless marked non-retryable or listed by type", "[retry]") {
  RetryPolicy p = defaults();
  p.add_non_retryable_error_types("BadInput");
  CHECK(is_retryable(p, application_failure("Error")));
  CHECK_FALSE(is_retryable(p, application_failure("Error", /*non_retryable=*/true)));
  CHECK_FALSE(is_retryable(p, application_failure("BadInput")));
  CHECK(decide_retry(p, 1, application_failure("BadInput"), kNow, 0).state == enums::RETRY_STATE_NON_RETRYABLE_FAILURE);
}

TEST_CASE("only start-to-close and heartbeat timeouts are retryable, unless listed as TemporalTimeout", "[retry]") {
  RetryPolicy p = defaults();
  CHECK(is_retryable(p, timeout(enums::TIMEOUT_TYPE_START_TO_CLOSE)));
  CHECK(is_retryable(p, timeout(enums::TIMEOUT_TYPE_HEARTBEAT)));
  CHECK_FALSE(is_retryable(p, timeout(enums::TIMEOUT_TYPE_SCHEDULE_TO_START)));
  CHECK_FALSE(is_retryable(p, timeout(enums::TIMEOUT_TYPE_SCHEDULE_TO_CLOSE)));

  p.add_non_retryable_error_types("TemporalTimeout:StartToClose");
  CHECK_FALSE(is_retryable(p, timeout(enums::TIMEOUT_TYPE_START_TO_CLOSE)));
  CHECK(is_retryable(p, timeout(enums::TIMEOUT_TYPE_HEARTBEAT)));
}

TEST_CASE("canceled and terminated failures are never retried, server failures follow their flag", "[retry]") {
  RetryPolicy p = defaults();
  Failure canceled;
  canceled.mutable_canceled_failure_info();
  CHECK_FALSE(is_retryable(p, canceled));
  Failure terminated;
  terminated.mutable_terminated_failure_info();
  CHECK_FALSE(is_retryable(p, terminated));

  Failure server;
  server.mutable_server_failure_info()->set_non_retryable(false);
  CHECK(is_retryable(p, server));
  server.mutable_server_failure_info()->set_non_retryable(true);
  CHECK_FALSE(is_retryable(p, server));

  Failure plain;  // no failure info at all
  plain.set_message("something");
  CHECK(is_retryable(p, plain));
}

TEST_CASE("timeout types have Temporal's short names", "[retry]") {
  CHECK(std::string(timeout_type_short_name(enums::TIMEOUT_TYPE_START_TO_CLOSE)) == "StartToClose");
  CHECK(std::string(timeout_type_short_name(enums::TIMEOUT_TYPE_SCHEDULE_TO_START)) == "ScheduleToStart");
  CHECK(std::string(timeout_type_short_name(enums::TIMEOUT_TYPE_SCHEDULE_TO_CLOSE)) == "ScheduleToClose");
  CHECK(std::string(timeout_type_short_name(enums::TIMEOUT_TYPE_HEARTBEAT)) == "Heartbeat");
}
