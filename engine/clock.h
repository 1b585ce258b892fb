// Time, injected. The engine never reads the system clock directly: it asks a Clock, so tests can
// use a ManualClock and move time forward by hand to fire durable timers without waiting
// (tests/engine/*: "timer fires after the clock is advanced").
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <mutex>

namespace reprise::engine {

using TimePoint = std::chrono::system_clock::time_point;
using Millis = std::chrono::milliseconds;

class Clock {
 public:
  virtual ~Clock() = default;
  virtual TimePoint now() const = 0;
  // Called whenever time jumps (only a ManualClock does that), so waiters can re-check deadlines.
  // Returns an id for forget_jump_listener(), which whoever registered must call before it goes.
  virtual int on_jump(std::function<void()> listener) { return 0; }
  virtual void forget_jump_listener(int id) {}
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
  int on_jump(std::function<void()> listener) override {
    std::lock_guard lock(mu_);
    listeners_.emplace(++last_id_, std::move(listener));
    return last_id_;
  }
  void forget_jump_listener(int id) override {
    std::lock_guard lock(mu_);
    listeners_.erase(id);
  }
  // Not to be called while a listener is being forgotten on another thread.
  void advance(std::chrono::milliseconds by) {
    std::map<int, std::function<void()>> listeners;
    {
      std::lock_guard lock(mu_);
      now_ += by;
      listeners = listeners_;
    }
    for (auto& [id, l] : listeners) l();
  }

 private:
  mutable std::mutex mu_;
  TimePoint now_;
  std::map<int, std::function<void()>> listeners_;
  int last_id_ = 0;
};

}  // namespace reprise::engine
