// The timer service: one mechanism for every durable deadline.
//
// User timers (StartTimer), activity timeouts (schedule-to-start, start-to-close, schedule-to-close,
// heartbeat), activity retry backoff, workflow task timeouts (start-to-close and the sticky queue's
// schedule-to-start) and workflow run/execution timeouts are all TimerRows: written to the store in
// the transaction that created them, loaded again at start-up, and handed back to the engine when
// due. The engine re-checks each fired timer against mutable state and removes its row in the same
// transaction as its effect, so a timer's effect happens once even if the server dies mid-way.
//
// Start-to-close timeouts (of activities and of workflow tasks) share rows: a run's deadline of
// that kind gets no row when a row of the same kind already fires no later (has_due_by). That row,
// when it fires, finds its own task long finished and arms the earliest deadline of its kind that
// is still pending (HistoryEngine::arm_start_to_close and its callers). A run of many
// quick tasks writes one such row per kind, not one per task. Tested by the "shared row" cases in
// tests/engine/server_activity_timeout_test.cpp and server_workflow_task_test.cpp.
//
// Time comes from the injected Clock; an Asio steady_timer sleeps until the earliest deadline.
// Exercised by tests/engine/timer_service_test.cpp and the timer/timeout scenarios in tests/engine/.
#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/thread_pool.hpp>
#include <functional>
#include <limits>
#include <map>
#include <mutex>
#include <unordered_map>
#include <vector>

#include "clock.h"
#include "history/history_store.h"

namespace reprise::engine {

using history::TimerRow;

class TimerService {
 public:
  using Fire = std::function<void(const TimerRow&)>;

  // `fire` runs on `pool` for every timer that is due.
  TimerService(Clock& clock, boost::asio::io_context& io, boost::asio::thread_pool& pool, Fire fire);
  ~TimerService();
  TimerService(const TimerService&) = delete;
  TimerService& operator=(const TimerService&) = delete;

  void add(const TimerRow& timer);
  size_t pending();
  void stop();

  // The ids of a run's pending timers. When the run closes, the engine deletes their rows in the
  // closing transaction and then calls forget_run: otherwise each would fire later only to find
  // the run closed, and cost a transaction of its own just to delete its row.
  std::vector<int64_t> timer_ids_of(const history::ExecutionKey& run);
  // True when `run` has a pending timer of `kind` due no later than `due_ms`, leaving out the ids
  // in `except` (rows the caller's transaction is removing). A fired timer is no longer pending.
  bool has_due_by(const history::ExecutionKey& run, history::TimerKind kind, int64_t due_ms,
                  const std::vector<int64_t>& except);
  void forget_run(const history::ExecutionKey& run);

 private:
  using Due = std::multimap<int64_t, TimerRow>;
  void unindex(Due::iterator it);  // mu_ held
  void arm();                      // io thread only
  void fire_due();                 // io thread only

  Clock& clock_;
  boost::asio::io_context& io_;
  boost::asio::thread_pool& pool_;
  Fire fire_;
  boost::asio::steady_timer wake_;
  std::mutex mu_;
  Due due_;  // by fire time (ms)
  std::unordered_multimap<history::ExecutionKey, Due::iterator, history::ExecutionKeyHash>
      by_run_;  // the same timers, by run
  bool stopped_ = false;
  // When the armed wake-up fires (Unix ms; max when none is armed). add() wakes the io thread only
  // for a timer due before it.
  int64_t armed_for_ms_ = std::numeric_limits<int64_t>::max();
  int jump_listener_ = 0;
};

}  // namespace reprise::engine
