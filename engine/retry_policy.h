// Activity retries, decided on the server as Temporal does (temporal-semantics.md 2.2).
//
// After attempt n fails: stop if the failure is non-retryable or n reached maximum_attempts;
// otherwise wait initial_interval * backoff_coefficient^(n-1), capped at maximum_interval (an
// application failure's next_retry_delay replaces both), and stop with TIMEOUT if that wait would
// pass the schedule-to-close deadline. A retried attempt writes no event: only mutable state knows.
// Exercised by tests/engine/retry_policy_test.cpp and tests/engine/server_activity_retry_test.cpp.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "proto_names.h"

namespace reprise::engine {

// Fills Temporal's defaults into a policy: 1 s initial, x2.0, maximum 100 x initial, unlimited
// attempts. Throws EngineError(INVALID_ARGUMENT) for an invalid policy.
RetryPolicy normalize_retry_policy(const RetryPolicy& policy);

struct RetryDecision {
  enums::RetryState state = enums::RETRY_STATE_IN_PROGRESS;  // IN_PROGRESS: retry after delay_ms
  int64_t delay_ms = 0;
};

// `attempt` is the attempt that just failed (1-based); `now_ms` and `schedule_to_close_deadline_ms`
// (0 = none) decide whether another attempt still fits.
RetryDecision decide_retry(const RetryPolicy& policy, int32_t attempt, const Failure& failure, int64_t now_ms,
                           int64_t schedule_to_close_deadline_ms);

// Whether a failure may be retried at all: canceled/terminated never; application failures unless
// non_retryable or their type is listed; timeouts unless "TemporalTimeout:<Type>" is listed.
bool is_retryable(const RetryPolicy& policy, const Failure& failure);

// Temporal's short name of a timeout type, as server-written messages use it ("StartToClose").
const char* timeout_type_short_name(enums::TimeoutType type);

}  // namespace reprise::engine
