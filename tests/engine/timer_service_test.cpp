// Unit tests of the timer service (engine/timer_service.h): durable deadlines handed back when the
// injected clock passes them. With a ManualClock nothing fires until the test advances time, and then
// everything due fires, in any order the pool chooses; later deadlines keep waiting.
#include "engine/timer_service.h"

#include <algorithm>
#include <boost/asio/executor_work_guard.hpp>
#include <catch2/catch.hpp>
#include <mutex>
#include <thread>

using namespace reprise::engine;
using namespace std::chrono_literals;

namespace {

struct Fixture {
  ManualClock clock;
  boost::asio::io_context io;
  boost::asio::executor_work_guard<boost::asio::io_context::executor_type> work{io.get_executor()};
  boost::asio::thread_pool pool{2};
  std::mutex mu;
  std::vector<std::string> fired;  // timer ids, in firing order
  TimerService timers{clock, io, pool, [this](const TimerRow& t) {
                        std::lock_guard lock(mu);
                        fired.push_back(t.timer_id);
                      }};
  std::thread io_thread{[this] { io.run(); }};

  ~Fixture() {
    timers.stop();
    work.reset();
    io_thread.join();
    pool.join();
  }

  void add(const std::string& id, std::chrono::milliseconds after) {
    TimerRow t;
    t.kind = reprise::history::TimerKind::UserTimer;
    t.timer_id = id;
    t.fire_time_ms = clock.now_ms() + after.count();
    timers.add(t);
  }
  std::vector<std::string> fired_sorted() {
    std::lock_guard lock(mu);
    auto out = fired;
    std::sort(out.begin(), out.end());
    return out;
  }
  // Waits (real time, bounded) until `n` timers have fired.
  bool wait_fired(size_t n) {
    for (int i = 0; i < 1000; ++i) {
      if (fired_sorted().size() >= n) return true;
      std::this_thread::sleep_for(5ms);
    }
    return false;
  }
};

}  // namespace

TEST_CASE("timers fire when the manual clock passes them, and not before", "[timers]") {
  Fixture f;
  f.add("ten", 10s);
  f.add("five", 5s);
  CHECK(f.timers.pending() == 2);

  f.clock.advance(4s);
  f.clock.advance(1s);  // now exactly at "five"
  REQUIRE(f.wait_fired(1));
  CHECK(f.fired_sorted() == std::vector<std::string>{"five"});
  CHECK(f.timers.pending() == 1);

  f.clock.advance(5s);
  REQUIRE(f.wait_fired(2));
  CHECK(f.fired_sorted() == std::vector<std::string>{"five", "ten"});
  CHECK(f.timers.pending() == 0);
}

TEST_CASE("a timer added already due fires at once", "[timers]") {
  Fixture f;
  f.add("past", -1s);
  f.add("now", 0s);
  REQUIRE(f.wait_fired(2));
  CHECK(f.fired_sorted() == std::vector<std::string>{"now", "past"});
}

TEST_CASE("one clock jump fires every timer it passes", "[timers]") {
  Fixture f;
  for (int i = 1; i <= 5; ++i) f.add("t" + std::to_string(i), std::chrono::seconds(i));
  f.clock.advance(1h);
  REQUIRE(f.wait_fired(5));
  CHECK(f.fired_sorted() == std::vector<std::string>{"t1", "t2", "t3", "t4", "t5"});
}

TEST_CASE("a stopped timer service drops its timers and fires nothing", "[timers]") {
  Fixture f;
  f.add("never", 1s);
  f.timers.stop();
  CHECK(f.timers.pending() == 0);
  f.add("after-stop", 1s);
  CHECK(f.timers.pending() == 0);
}
