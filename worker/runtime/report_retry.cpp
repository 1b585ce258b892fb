// ReportRetry (report_retry.h): the backoff between a report's attempts.
#include "report_retry.h"

#include <algorithm>
#include <functional>
#include <thread>

namespace reprise::detail {

bool ReportRetry::retryable(grpc::StatusCode code) {
  switch (code) {
    case grpc::StatusCode::UNAVAILABLE:
    case grpc::StatusCode::RESOURCE_EXHAUSTED:
    case grpc::StatusCode::ABORTED:
    case grpc::StatusCode::INTERNAL:
    case grpc::StatusCode::UNKNOWN:
    case grpc::StatusCode::DATA_LOSS:
    case grpc::StatusCode::OUT_OF_RANGE:
      return true;
    default:
      return false;
  }
}

std::optional<std::chrono::milliseconds> ReportRetry::next_wait(const grpc::Status& status, Clock::time_point now) {
  if (status.ok() || !retryable(status.error_code()) || attempts_ == kMaxAttempts) return std::nullopt;
  // Seeded once per thread from the clock and the thread (std::random_device may throw): the
  // jitter only has to differ between workers and reports.
  thread_local std::minstd_rand random{static_cast<std::uint_fast32_t>(
      Clock::now().time_since_epoch().count() ^ std::hash<std::thread::id>{}(std::this_thread::get_id()))};
  std::uniform_real_distribution<double> jitter(1 - kJitter, 1 + kJitter);
  auto wait = std::chrono::milliseconds(static_cast<long>(wait_ms_ * jitter(random)));
  if (now - first_attempt_ + wait > kGiveUpAfter) return std::nullopt;
  ++attempts_;
  wait_ms_ = std::min(wait_ms_ * kGrowth, static_cast<double>(kLongestWait.count()));
  return wait;
}

}  // namespace reprise::detail
