// Retry decisions for activities (see retry_policy.h). Exercised by tests/engine/retry_policy_test.cpp.
#include "retry_policy.h"

#include <algorithm>
#include <cmath>

#include "errors.h"
#include "time_util.h"

namespace reprise::engine {

RetryPolicy normalize_retry_policy(const RetryPolicy& in) {
  RetryPolicy p = in;
  // Defaults fill what is unset (zero), as Temporal's EnsureRetryPolicyDefaults does; a negative
  // value is not "unset" but an error, refused below in Temporal's words and order.
  if (ms_from_duration(p.initial_interval()) == 0) *p.mutable_initial_interval() = duration_from_ms(1000);
  if (p.backoff_coefficient() == 0) p.set_backoff_coefficient(2.0);
  const int64_t initial = ms_from_duration(p.initial_interval());
  if (ms_from_duration(p.maximum_interval()) == 0) *p.mutable_maximum_interval() = duration_from_ms(100 * initial);
  const int64_t maximum = ms_from_duration(p.maximum_interval());
  if (p.maximum_attempts() == 1) return p;  // a single attempt needs no valid backoff
  if (initial < 0) throw invalid_argument("InitialInterval cannot be negative on retry policy.");
  if (p.backoff_coefficient() < 1) throw invalid_argument("BackoffCoefficient cannot be less than 1 on retry policy.");
  if (maximum < 0) throw invalid_argument("MaximumInterval cannot be negative on retry policy.");
  if (maximum < initial) throw invalid_argument("MaximumInterval cannot be less than InitialInterval on retry policy.");
  if (p.maximum_attempts() < 0) throw invalid_argument("MaximumAttempts cannot be negative on retry policy.");
  return p;
}

const char* timeout_type_short_name(enums::TimeoutType t) {
  switch (t) {
    case enums::TIMEOUT_TYPE_START_TO_CLOSE:
      return "StartToClose";
    case enums::TIMEOUT_TYPE_SCHEDULE_TO_START:
      return "ScheduleToStart";
    case enums::TIMEOUT_TYPE_SCHEDULE_TO_CLOSE:
      return "ScheduleToClose";
    case enums::TIMEOUT_TYPE_HEARTBEAT:
      return "Heartbeat";
    default:
      return "Unspecified";
  }
}

namespace {

bool listed(const RetryPolicy& policy, const std::string& type) {
  const auto& types = policy.non_retryable_error_types();
  return std::find(types.begin(), types.end(), type) != types.end();
}

}  // namespace

bool is_retryable(const RetryPolicy& policy, const Failure& failure) {
  if (failure.has_canceled_failure_info() || failure.has_terminated_failure_info()) return false;
  if (failure.has_application_failure_info()) {
    const auto& info = failure.application_failure_info();
    return !info.non_retryable() && !listed(policy, info.type());
  }
  if (failure.has_timeout_failure_info()) {
    auto type = failure.timeout_failure_info().timeout_type();
    if (type != enums::TIMEOUT_TYPE_START_TO_CLOSE && type != enums::TIMEOUT_TYPE_HEARTBEAT) return false;
    return !listed(policy, std::string("TemporalTimeout:") + timeout_type_short_name(type));
  }
  if (failure.has_server_failure_info()) return !failure.server_failure_info().non_retryable();
  return true;
}

RetryDecision decide_retry(const RetryPolicy& policy, int32_t attempt, const Failure& failure, int64_t now_ms,
                           int64_t schedule_to_close_deadline_ms) {
  if (!is_retryable(policy, failure)) return {enums::RETRY_STATE_NON_RETRYABLE_FAILURE, 0};
  if (policy.maximum_attempts() > 0 && attempt >= policy.maximum_attempts())
    return {enums::RETRY_STATE_MAXIMUM_ATTEMPTS_REACHED, 0};

  int64_t delay;
  if (failure.has_application_failure_info() && failure.application_failure_info().has_next_retry_delay()) {
    delay = ms_from_duration(failure.application_failure_info().next_retry_delay());
  } else {
    double d = static_cast<double>(ms_from_duration(policy.initial_interval())) *
               std::pow(policy.backoff_coefficient(), attempt - 1);
    double cap = static_cast<double>(ms_from_duration(policy.maximum_interval()));
    delay = static_cast<int64_t>(std::min(d, cap));
  }
  // Past the deadline, not at it: a retry due exactly at the deadline is still made (and then
  // meets the schedule-to-close timeout), as in Temporal.
  if (schedule_to_close_deadline_ms > 0 && now_ms + delay > schedule_to_close_deadline_ms)
    return {enums::RETRY_STATE_TIMEOUT, 0};
  return {enums::RETRY_STATE_IN_PROGRESS, delay};
}

}  // namespace reprise::engine
