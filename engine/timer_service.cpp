// Durable timers handed back when due (see timer_service.h).
#include "timer_service.h"

#include <algorithm>
#include <boost/asio/post.hpp>
#include <limits>

namespace reprise::engine {

TimerService::TimerService(Clock& clock, boost::asio::io_context& io, boost::asio::thread_pool& pool, Fire fire)
    : clock_(clock), io_(io), pool_(pool), fire_(std::move(fire)), wake_(io) {
  jump_listener_ = clock_.on_jump([this] { boost::asio::post(io_, [this] { fire_due(); }); });
}

TimerService::~TimerService() { clock_.forget_jump_listener(jump_listener_); }

void TimerService::add(const TimerRow& timer) {
  {
    std::lock_guard lock(mu_);
    if (stopped_) return;
    auto it = due_.emplace(timer.fire_time_ms, timer);
    by_run_.emplace(timer.execution, it);
    // Most timers are timeouts due long after the wake-up already armed: that wake-up finds them.
    // Only a timer due earlier needs the io thread to re-arm (one thread hand-off per add saved).
    if (timer.fire_time_ms >= armed_for_ms_) return;
    armed_for_ms_ = timer.fire_time_ms;
  }
  boost::asio::post(io_, [this] { fire_due(); });
}

size_t TimerService::pending() {
  std::lock_guard lock(mu_);
  return due_.size();
}

void TimerService::stop() {
  std::lock_guard lock(mu_);
  stopped_ = true;
  by_run_.clear();
  due_.clear();
  boost::asio::post(io_, [this] { wake_.cancel(); });
}

void TimerService::fire_due() {
  std::vector<TimerRow> ready;
  {
    std::lock_guard lock(mu_);
    if (stopped_) return;
    int64_t now = clock_.now_ms();
    auto end = due_.upper_bound(now);
    for (auto it = due_.begin(); it != end; ++it) {
      unindex(it);
      ready.push_back(std::move(it->second));
    }
    due_.erase(due_.begin(), end);
  }
  for (auto& t : ready) boost::asio::post(pool_, [this, t = std::move(t)] { fire_(t); });
  arm();
}

std::vector<int64_t> TimerService::timer_ids_of(const history::ExecutionKey& run) {
  std::vector<int64_t> ids;
  std::lock_guard lock(mu_);
  auto [b, e] = by_run_.equal_range(run);
  for (auto it = b; it != e; ++it) ids.push_back(it->second->second.id);
  return ids;
}

bool TimerService::has_due_by(const history::ExecutionKey& run, history::TimerKind kind, int64_t due_ms,
                              const std::vector<int64_t>& except) {
  std::lock_guard lock(mu_);
  auto [b, e] = by_run_.equal_range(run);
  for (auto it = b; it != e; ++it) {
    const TimerRow& t = it->second->second;
    if (t.kind == kind && t.fire_time_ms <= due_ms && std::find(except.begin(), except.end(), t.id) == except.end())
      return true;
  }
  return false;
}

void TimerService::forget_run(const history::ExecutionKey& run) {
  std::lock_guard lock(mu_);
  auto [b, e] = by_run_.equal_range(run);
  for (auto it = b; it != e; ++it) due_.erase(it->second);
  by_run_.erase(b, e);
}

void TimerService::unindex(Due::iterator timer) {
  auto [b, e] = by_run_.equal_range(timer->second.execution);
  for (auto it = b; it != e; ++it)
    if (it->second == timer) {
      by_run_.erase(it);
      return;
    }
}

void TimerService::arm() {
  int64_t wait_ms;
  {
    std::lock_guard lock(mu_);
    armed_for_ms_ = std::numeric_limits<int64_t>::max();
    if (stopped_ || due_.empty()) return;
    // With a ManualClock real time does not matter: the clock's jump listener wakes us instead.
    const int64_t now = clock_.now_ms();
    wait_ms = std::clamp<int64_t>(due_.begin()->first - now, 0, 60'000);
    armed_for_ms_ = now + wait_ms;
  }
  wake_.expires_after(std::chrono::milliseconds(wait_ms));
  wake_.async_wait([this](const boost::system::error_code& ec) {
    if (!ec) fire_due();
  });
}

}  // namespace reprise::engine
