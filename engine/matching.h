// Matching: the task queues that hand workflow and activity tasks to polling workers.
//
// A task queue is a name ("hello", or a worker's sticky queue) plus a kind (workflow or activity
// tasks). Workers long-poll it; the engine adds a task whenever it schedules one. If a poller is
// already waiting the task goes straight to it ("sync match"); otherwise it waits in the backlog.
// Queues live in memory only: every task is also a row in the store's tasks table, written in the
// same transaction that scheduled it, and the engine reloads those rows at start-up, so a restart
// loses nothing. A task handed out may turn out stale (its workflow task already timed out, its
// activity already completed): the engine checks each one against mutable state before it starts
// it, and simply polls again for that worker.
//
// A shortcut for the common case of a worker already waiting: the engine may claim() a parked poller
// while it schedules a task, start the task for that poller in the same transaction, and answer the
// poll after the commit with the response it built then (Claim::answer). Such a task has no row in
// the store: one transaction instead of two (write the task, then start it). Temporal calls handing
// a task to a waiting poller a sync match; here it happens inside the scheduling transaction.
//
// Threads: add_task/poll/cancel may be called from any thread; deliveries run on the engine's thread
// pool, never inside the caller, so a caller holding a workflow's turn cannot deadlock on them. The
// one exception is Claim::answer(), which runs the poll's answer on the calling thread.
// Deadlines: one Asio timer on the io thread sleeps until the earliest parked poll's deadline, as in
// timer_service.h. A poll that leaves early (it got a task, or was canceled) only leaves the
// deadline index: no io-thread hand-off per poll. If it was the earliest, the timer still wakes
// once at its old deadline, finds nothing due and sleeps until the next.
// Exercised by tests/engine/matching_test.cpp and every server test in tests/engine/.
#pragma once

#include <any>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/thread_pool.hpp>
#include <chrono>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>

#include "history/history_store.h"

namespace reprise::engine {

using history::TaskKind;
using history::TaskRow;

struct QueueKey {
  std::string namespace_;
  std::string name;
  TaskKind kind = TaskKind::WorkflowTask;
  auto operator<=>(const QueueKey&) const = default;
};

class Matching {
 public:
  // Receives a task, or nullopt when the poll's deadline passed or it was canceled. Called once.
  using Deliver = std::function<void(std::optional<TaskRow>)>;
  // Receives the answer to a claimed poll instead (Claim::answer): the response the engine built
  // for the task it started for this poller, in a std::any because matching does not look inside.
  using Answer = std::function<void(std::any)>;
  using PollerId = uint64_t;

  Matching(boost::asio::io_context& io, boost::asio::thread_pool& pool) : io_(io), pool_(pool), wake_(io) {}

  // Waits for a task on `queue` until `deadline`. `identity` names the worker; `answer` is how a
  // claim() answers this poll (a poll without one is never claimed).
  PollerId poll(const QueueKey& queue, std::chrono::steady_clock::time_point deadline, Deliver deliver,
                std::string identity = {}, Answer answer = {});

  // A poller taken off its queue by claim(). answer() hands the poll the response to a task
  // started for it, running the poll's Answer on the calling thread (which must not hold that
  // workflow's turn if the answer may wait for it; the engine calls it from AfterCommit). A Claim
  // dropped without answer() (the transaction failed) answers the poll with no task instead, and
  // the worker simply polls again.
  class Claim {
   public:
    ~Claim();
    Claim(const Claim&) = delete;
    Claim& operator=(const Claim&) = delete;
    const std::string& identity() const;
    void answer(std::any response);

   private:
    friend class Matching;
    struct Parked;
    Claim(Matching& matching, std::shared_ptr<Parked> parked) : matching_(matching), parked_(std::move(parked)) {}
    Matching& matching_;
    std::shared_ptr<Parked> parked_;
  };
  // Takes the longest-waiting poller off `queue`, or nullptr when none that can be claimed waits.
  std::unique_ptr<Claim> claim(const QueueKey& queue);
  // Ends a parked poll early (its RPC was canceled); delivers nullopt if it was still parked.
  void cancel(PollerId id);
  // Adds a task: to a waiting poller if there is one, else to the backlog.
  void add_task(const QueueKey& queue, const TaskRow& task);
  // Ends every parked poll with nullopt (server shutdown).
  void shutdown();

  size_t backlog_size(const QueueKey& queue);
  size_t parked_pollers(const QueueKey& queue);

 private:
  using Parked = Claim::Parked;
  void hand_over(std::shared_ptr<Parked> parked, std::optional<TaskRow> task);  // to the pool
  struct Queue {
    std::deque<TaskRow> backlog;
    std::deque<std::shared_ptr<Parked>> pollers;
  };
  using SteadyTime = std::chrono::steady_clock::time_point;
  using Deadlines = std::multimap<SteadyTime, PollerId>;
  struct ParkedOn {
    QueueKey queue;
    Deadlines::iterator deadline;
  };
  std::shared_ptr<Parked> take_parked(PollerId id);  // removes and returns it, if still parked
  void unpark(PollerId id);                          // mu_ held; it was just taken off its queue
  void expire_due();                                 // io thread only

  boost::asio::io_context& io_;
  boost::asio::thread_pool& pool_;
  std::mutex mu_;
  std::map<QueueKey, Queue> queues_;
  std::map<PollerId, ParkedOn> parked_on_;
  Deadlines deadlines_;  // every parked poll's, earliest first
  boost::asio::steady_timer wake_;
  // When the armed wake-up fires (max: none armed, or the index was empty at the last wake-up). A
  // poll parks with an io hand-off only when its deadline comes before that.
  SteadyTime armed_for_ = SteadyTime::max();
  PollerId next_id_ = 1;
  bool shut_down_ = false;
};

struct Matching::Claim::Parked {
  PollerId id;
  Deliver deliver;
  std::string identity;
  Answer answer;
};

}  // namespace reprise::engine
