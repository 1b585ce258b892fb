// When a worker sends a report again: a workflow task's answer or an activity attempt's outcome
// that did not reach the server, or that the server could not take just then.
//
// A report is the one thing a worker must not lose: dropped, the task waits out its timeout (an
// activity's start-to-close may be hours) before the server hands it out again. The worker's
// channel has gRPC's own retries off (Client::worker_channel), so the worker retries reports
// itself, by the rules and defaults of Temporal's Rust core SDK (sdk-core, under the TypeScript,
// Python and .NET SDKs): a code that may pass is retried (UNAVAILABLE: the server is unreachable
// or restarting, or its store failed before writing; RESOURCE_EXHAUSTED; ABORTED: a conflict;
// INTERNAL, UNKNOWN, DATA_LOSS, OUT_OF_RANGE), after 100 ms, then 1.7 times longer each time up
// to 5 s, each wait varied by up to 20 % so that workers cut off together do not come back
// together; at most 10 attempts, none sent later than 10 s after the first. Any other code is
// final: a refusal (NOT_FOUND: the task is no longer open; INVALID_ARGUMENT), or the attempt's
// own end (DEADLINE_EXCEEDED, CANCELLED), after which sdk-core does not retry either.
//
// Sending a report twice never changes history twice: once the first has landed, the second is
// refused as NOT_FOUND. What is lost when only the first one's response was lost is what that
// response carried (eager activity tasks, the next workflow task); the server hands those out
// again after their timeouts.
//
// Used by Worker::Impl::send_report (worker_impl.h). Exercised by
// tests/worker/report_retry_test.cpp.
#pragma once

#include <grpcpp/support/status.h>

#include <chrono>
#include <optional>
#include <random>

namespace reprise::detail {

class ReportRetry {
 public:
  using Clock = std::chrono::steady_clock;

  // `first_attempt`: when the report was first sent (the 10 s count from there).
  explicit ReportRetry(Clock::time_point first_attempt = Clock::now()) : first_attempt_(first_attempt) {}

  static bool retryable(grpc::StatusCode code);

  // After a failed attempt: how long to wait before the next, or nullopt to give up (a final
  // code, the attempts used up, or the next one would go out past the 10 s). `now` is when the
  // attempt failed.
  std::optional<std::chrono::milliseconds> next_wait(const grpc::Status& status, Clock::time_point now = Clock::now());

  // Attempts sent again so far.
  int retries() const { return attempts_ - 1; }

  static constexpr int kMaxAttempts = 10;
  static constexpr std::chrono::milliseconds kFirstWait{100};
  static constexpr std::chrono::milliseconds kLongestWait{5000};
  static constexpr std::chrono::milliseconds kGiveUpAfter{10'000};
  static constexpr double kGrowth = 1.7;
  static constexpr double kJitter = 0.2;

 private:
  Clock::time_point first_attempt_;
  int attempts_ = 1;
  double wait_ms_ = static_cast<double>(kFirstWait.count());
};

}  // namespace reprise::detail
