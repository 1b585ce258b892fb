// Unit tests of a workflow's turn (engine/workflow_turn.h): requests on one workflow take turns
// first come, first served, whether they wait blocked (lock) or leave a start behind (take), and
// the turn may be passed on by another thread than the one that took it, as the store's thread
// does once a commit is durable.
#include "engine/workflow_turn.h"

#include <boost/asio/executor_work_guard.hpp>
#include <catch2/catch.hpp>
#include <future>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

using namespace reprise::engine;

namespace {

// The engine's io thread, where a turn runs the starts it passes to.
struct IoThread {
  boost::asio::io_context io;
  boost::asio::executor_work_guard<boost::asio::io_context::executor_type> work{io.get_executor()};
  std::thread thread{[this] { io.run(); }};
  ~IoThread() {
    work.reset();
    thread.join();
  }
};

// What ran, in order, from whichever thread.
struct Log {
  std::mutex mu;
  std::vector<std::string> lines;
  void add(std::string line) {
    std::lock_guard lock(mu);
    lines.push_back(std::move(line));
  }
  std::vector<std::string> get() {
    std::lock_guard lock(mu);
    return lines;
  }
};

}  // namespace

TEST_CASE("a free turn runs take's start at once, on the calling thread", "[turn]") {
  IoThread io;
  WorkflowTurn turn(io.io);
  std::thread::id ran_on;
  turn.take([&] { ran_on = std::this_thread::get_id(); });
  CHECK(ran_on == std::this_thread::get_id());
  turn.unlock();
  turn.lock();  // free again: does not block
  turn.unlock();
}

TEST_CASE("a taken turn keeps later starts waiting until it is passed on, then runs them in order", "[turn]") {
  IoThread io;
  WorkflowTurn turn(io.io);
  Log log;
  turn.take([&] { log.add("first"); });
  std::promise<std::thread::id> second_ran, third_ran;
  turn.take([&] {
    log.add("second");
    second_ran.set_value(std::this_thread::get_id());
  });
  turn.take([&] {
    log.add("third");
    third_ran.set_value(std::this_thread::get_id());
  });
  CHECK(log.get() == std::vector<std::string>{"first"});  // the others wait for the turn

  // Passed on from another thread than the one that took it (the store's, in the engine).
  std::thread([&] { turn.unlock(); }).join();
  CHECK(second_ran.get_future().get() == io.thread.get_id());  // started on the executor
  CHECK(log.get() == std::vector<std::string>{"first", "second"});
  turn.unlock();
  CHECK(third_ran.get_future().get() == io.thread.get_id());
  CHECK(log.get() == std::vector<std::string>{"first", "second", "third"});
  turn.unlock();
}

TEST_CASE("lock() waits for a turn taken by take() and passed on from another thread", "[turn]") {
  IoThread io;
  WorkflowTurn turn(io.io);
  turn.take([] {});  // an asynchronous request holds the turn, its commit under way
  std::promise<void> locked;
  std::thread waiter([&] {
    turn.lock();
    locked.set_value();
    turn.unlock();
  });
  auto got = locked.get_future();
  // The waiter cannot have the turn yet. (A bounded wait only makes this check weaker, never flaky.)
  CHECK(got.wait_for(std::chrono::milliseconds(50)) == std::future_status::timeout);
  std::thread([&] { turn.unlock(); }).join();  // the commit is durable
  got.get();
  waiter.join();
}

TEST_CASE("blocked and asynchronous waiters get the turn first come, first served", "[turn]") {
  IoThread io;
  WorkflowTurn turn(io.io);
  Log log;
  turn.lock();
  std::promise<void> async_ran;
  turn.take([&] {  // first in line
    log.add("take");
    turn.unlock();
    async_ran.set_value();
  });
  std::promise<void> queued;
  std::thread blocked([&] {  // second in line
    queued.set_value();
    turn.lock();
    log.add("lock");
    turn.unlock();
  });
  queued.get_future().get();
  // Give the blocked thread time to queue; if it has not, it queues after the take anyway.
  std::this_thread::sleep_for(std::chrono::milliseconds(20));
  turn.unlock();
  blocked.join();
  async_ran.get_future().get();
  CHECK(log.get() == std::vector<std::string>{"take", "lock"});
}
