// When a worker sends a report again: a workflow task's answer or an activity attempt's outcome
// that did not reach the server, or that the server could not take just then.
//
// A report is the one thing a worker must not lose: dropped, the task waits out its timeout (an
// activity's start-to-close may be hours) before the server hands it out again. The worker's
// channel has gRPC's own retries off (Client::worker_channel), so the worker retries reports
// itself, as Temporal's SDKs do and with their defaults: on a code that may pass (UNAVAILABLE: the
// server is unreachable or restarting, or its store failed before writing; RESOURCE_EXHAUSTED;
// ABORTED: a conflict; INTERNAL, UNKNOWN, DATA_LOSS, OUT_OF_RANGE), after 100 ms, then 1.7 times
// longer each time up to 5 s, each wait varied by up to 20 % so that workers cut off together do
// not come back together; at most 10 retries within 10 s of the first failure. Any other code is
// the server's answer (NOT_FOUND: the task is no longer open; INVALID_ARGUMENT) and final.
// A report sent twice is harmless: once the first has landed, the second is refused as NOT_FOUND.
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

  static bool retryable(grpc::StatusCode code);

  // After a failed attempt: how long to wait before the next, or nullopt to give up (a final
  // code, or the retries are used up). `now` is when the attempt failed.
  std::optional<std::chrono::milliseconds> after(const grpc::Status& status, Clock::time_point now = Clock::now());

  int retries() const { return retries_; }

  static constexpr int kMaxRetries = 10;
  static constexpr std::chrono::milliseconds kFirstWait{100};
  static constexpr std::chrono::milliseconds kLongestWait{5000};
  static constexpr std::chrono::milliseconds kGiveUpAfter{10'000};
  static constexpr double kGrowth = 1.7;
  static constexpr double kJitter = 0.2;

 private:
  int retries_ = 0;
  double wait_ms_ = static_cast<double>(kFirstWait.count());
  std::optional<Clock::time_point> first_failure_;
};

}  // namespace reprise::detail
