// Time, injected. The engine never reads the system clock directly: it asks a Clock, so tests can
// use a ManualClock and move time forward by hand to fire durable timers without waiting
// (tests/engine/*: "timer fires after the clock is advanced").
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <mutex>
#include <vector>

namespace reprise::engine {

using TimePoint = std::chrono::system_clock::time_point;
using Millis = std::chrono::milliseconds;

class Clock {
 public:
  virtual ~Clock() = default;
  virtual TimePoint now() const = 0;
  // Called whenever time jumps (only a ManualClock does that), so waiters can re-check deadlines.
  virtual void on_jump(std::function<void()> listener) {}
  int64_t now_ms() const { return std::chrono::duration_cast<Millis>(now().time_since_epoch()).count(); }
};

class SystemClock final : public Clock {
 public:
  TimePoint now() const override { return std::chrono::system_clock::now(); }
};

// A clock that moves only when told to. Durable timers due at or before the new time fire.
class ManualClock final : public Clock {
 public:
  explicit ManualClock(TimePoint start = TimePoint{std::chrono::seconds{1'700'000'000}}) : now_(start) {}
  TimePoint now() const override {
    std::lock_guard lock(mu_);
    return now_;
  }
  void on_jump(std::function<void()> listener) override {
    std::lock_guard lock(mu_);
    listeners_.push_back(std::move(listener));
  }
  void advance(std::chrono::milliseconds by) {
    std::vector<std::function<void()>> listeners;
    {
      std::lock_guard lock(mu_);
      now_ += by;
      listeners = listeners_;
    }
    for (auto& l : listeners) l();
  }

 private:
  mutable std::mutex mu_;
  TimePoint now_;
  std::vector<std::function<void()>> listeners_;
};

}  // namespace reprise::engine
