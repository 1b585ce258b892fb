// A workflow's turn: requests on one workflow id take turns, so that no two interleave their
// read-modify-write of its mutable state (history_engine.h). It is a mutex with one difference:
// the turn may end on another thread than the one that took it. A request that commits takes the
// turn on the thread that runs its handler and keeps it while the store writes; the store's
// thread ends it when the commit is durable (HistoryEngine::update_run_async, update_run.h). So no
// thread sits blocked for an fsync, yet the next request on the workflow still waits for it: it
// must see the committed state, never one a failed commit could take back.
//
// Two ways to wait for the turn, both first come, first served:
//   - lock() blocks the calling thread (std::lock_guard works); for requests that run start to end
//     on one engine thread;
//   - take(start) never blocks: `start` runs at once on the calling thread if the turn is free,
//     else later on the given executor, when the turn is passed to it.
// Whoever has the turn passes it on with unlock(), from any thread.
// The engine gives its turns its io thread for that executor, not its pool: pool threads may block
// in lock(), and a turn passed to a `start` queued behind them on the pool would never be used.
// Exercised by tests/engine/workflow_turn_test.cpp and, through update_run_async, every server test.
#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <condition_variable>
#include <deque>
#include <functional>
#include <mutex>

namespace reprise::engine {

class WorkflowTurn {
 public:
  explicit WorkflowTurn(boost::asio::io_context& executor) : executor_(executor) {}
  WorkflowTurn(const WorkflowTurn&) = delete;
  WorkflowTurn& operator=(const WorkflowTurn&) = delete;

  void lock() {
    std::unique_lock lock(mu_);
    if (!taken_) {
      taken_ = true;
      return;
    }
    bool granted = false;
    waiting_.push_back(Waiter{nullptr, &granted});
    granted_cv_.wait(lock, [&] { return granted; });
  }

  void take(std::function<void()> start) {
    {
      std::lock_guard lock(mu_);
      if (taken_) {
        waiting_.push_back(Waiter{std::move(start), nullptr});
        return;
      }
      taken_ = true;
    }
    start();
  }

  void unlock() {
    std::unique_lock lock(mu_);
    if (waiting_.empty()) {
      taken_ = false;
      return;
    }
    Waiter next = std::move(waiting_.front());
    waiting_.pop_front();
    if (next.granted) {  // a thread blocked in lock()
      *next.granted = true;
      lock.unlock();
      granted_cv_.notify_all();
    } else {  // never on the releasing thread: it may be the store's, which must not block
      lock.unlock();
      boost::asio::post(executor_, std::move(next.start));
    }
  }

 private:
  struct Waiter {
    std::function<void()> start;  // take()'s; empty for lock()
    bool* granted;                // lock()'s: set when the turn is its
  };
  boost::asio::io_context& executor_;
  std::mutex mu_;
  std::condition_variable granted_cv_;
  bool taken_ = false;
  std::deque<Waiter> waiting_;
};

}  // namespace reprise::engine
