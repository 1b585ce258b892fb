// Options of the operations workflow code starts: activities and timers.
//
// Only what the server needs goes here. Note what replay compares: for an activity its id and type,
// for a timer its id (temporal-semantics.md §3). Timeouts, queues and retry policies may change
// between deployments without breaking replay.
//
// Why string_view and initializer_list rather than std::string and std::vector: these structs are
// meant to be written inline, `co_await ctx.execute_activity<T>("x", {.start_to_close_timeout = 10s})`.
// g++ 12 mishandles an aggregate temporary inside a co_await expression: it passes a bitwise copy
// to the call and later destroys both the original and the copy (so a std::string member is freed
// twice). A trivially copyable aggregate makes both harmless, hence the static_asserts below. The
// options are copied into the command when the call is made; the views need only outlive the call.
//
// Exercised by tests/worker/activity_test.cpp and tests/worker/timer_test.cpp.
#pragma once

#include <chrono>
#include <initializer_list>
#include <optional>
#include <string_view>
#include <type_traits>

namespace reprise {

// Durations in workflow code: `10s`, `500ms` convert implicitly.
using Duration = std::chrono::milliseconds;

// Temporal's retry policy; zero fields take the server defaults (1 s, x2, 100 s, unlimited).
struct RetryPolicy {
  Duration initial_interval{0};
  double backoff_coefficient = 0;
  Duration maximum_interval{0};
  int maximum_attempts = 0;  // 0: unlimited
  std::initializer_list<std::string_view> non_retryable_error_types;
};

// What cancelling an activity handle does (Temporal's ActivityCancellationType).
enum class ActivityCancellationType {
  try_cancel,                   // ask the server to cancel; the handle fails as cancelled at once
  wait_cancellation_completed,  // ask, and fail the handle only when history says it was cancelled
  abandon,                      // ask nothing; the handle fails as cancelled at once
};

struct ActivityOptions {
  // Empty: "1", "2", ... in the order the run schedules activities (the TypeScript SDK's ids). Set
  // it to replay histories from SDKs that choose other ids (Go uses the scheduled event id).
  std::string_view activity_id;
  // Empty: the workflow's own task queue.
  std::string_view task_queue;
  // At least one of schedule_to_close / start_to_close is required by the server.
  Duration schedule_to_close_timeout{0};
  Duration schedule_to_start_timeout{0};
  Duration start_to_close_timeout{0};
  Duration heartbeat_timeout{0};
  std::optional<RetryPolicy> retry_policy;
  ActivityCancellationType cancellation_type = ActivityCancellationType::try_cancel;
};

struct TimerOptions {
  // Empty: "1", "2", ... in the order the run starts timers (the TypeScript SDK's ids).
  std::string_view timer_id;
};

static_assert(std::is_trivially_copyable_v<ActivityOptions> && std::is_trivially_destructible_v<ActivityOptions>);
static_assert(std::is_trivially_copyable_v<TimerOptions> && std::is_trivially_destructible_v<TimerOptions>);

}  // namespace reprise
