// One state change of one run, being assembled before it is committed as a single Transaction.
//
// Engine handlers never write to the store directly. They take an ExecutionUpdate for the run, append
// events, add tasks and timers, and the engine commits it all at once (history_engine.cpp commit()).
// append() is where Temporal's buffering rule lives: while a workflow task is in flight, events
// that arrive from outside (an activity completed, a timer fired, a signal) wait in the buffer and
// are written after the workflow task's own events when it completes (or fails, or times out).
// Exercised by every scenario in tests/engine/server_*_test.cpp; the buffering rule by
// server_buffering_test.cpp and tests/engine/mutable_state_test.cpp.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "history/history_store.h"
#include "matching.h"
#include "mutable_state.h"

namespace reprise::engine {

struct NewRun;

class ExecutionUpdate {
 public:
  ExecutionUpdate(MutableState& state, int64_t now_ms) : state_(state), now_ms_(now_ms) {}
  ~ExecutionUpdate();

  MutableState& state() { return state_; }
  int64_t now_ms() const { return now_ms_; }
  const history::ExecutionKey& key() const { return key_; }
  void set_key(history::ExecutionKey key) { key_ = std::move(key); }

  // Stamps the event with the current time and either writes it (next event id, applied to mutable
  // state) or, if it is bufferable and a workflow task is in flight, buffers it. Returns the id it
  // got, or 0 when buffered. `needs_workflow_task` is set when the workflow must look at it.
  int64_t append(HistoryEvent event);
  // Writes what the buffer holds (see flush_buffered_events).
  void flush_buffer();
  // Drops a fired timer's TimerFired from the buffer (CancelTimer of a timer that just fired).
  bool drop_buffered_timer_fired(const std::string& timer_id);

  void add_task(history::TaskRow task) { tasks_.push_back(std::move(task)); }
  void remove_task(int64_t id) {
    if (id) removed_tasks_.push_back(id);
  }
  void add_timer(history::TimerKind kind, int64_t fire_time_ms, int64_t event_id, int32_t attempt,
                 std::string timer_id = {});
  void remove_timer(int64_t id) {
    if (id) removed_timers_.push_back(id);
  }
  // Marks the run as changed even though no event was written (retry attempt, heartbeat, ...).
  void touch() { touched_ = true; }

  // The run this change starts beside this one (continue-as-new): committed in the same
  // transaction as this run's events (history_store.h, Transaction::successor).
  NewRun& start_successor(history::ExecutionKey key);
  NewRun* successor() { return successor_.get(); }

  bool empty() const {
    return !touched_ && events_.empty() && tasks_.empty() && timers_.empty() && removed_tasks_.empty() &&
           removed_timers_.empty() && buffered_ == 0;
  }
  bool events_buffered_or_written() const { return !events_.empty() || buffered_ > 0; }

  std::vector<HistoryEvent>& events() { return events_; }
  std::vector<history::TaskRow>& tasks() { return tasks_; }
  std::vector<history::TimerRow>& timers() { return timers_; }
  std::vector<int64_t>& removed_tasks() { return removed_tasks_; }
  std::vector<int64_t>& removed_timers() { return removed_timers_; }

  bool needs_workflow_task = false;
  // Activities started in this update for the worker that completed the workflow task (eager
  // execution, commands.cpp): their scheduled event ids, in command order.
  std::vector<int64_t> eager_activities;
  // Workflow tasks started in this update for a poller that was already waiting (claimed from
  // matching, workflow_tasks.cpp): handed to it once the commit is durable; a claim dropped
  // uncommitted answers its poll with no task.
  struct ClaimedTask {
    std::unique_ptr<Matching::Claim> poller;
    history::TaskRow task;  // no row in the store: id 0
  };
  std::vector<ClaimedTask> claimed_tasks;

 private:
  MutableState& state_;
  int64_t now_ms_;
  history::ExecutionKey key_;
  std::vector<HistoryEvent> events_;
  std::vector<history::TaskRow> tasks_;
  std::vector<int64_t> removed_tasks_;
  std::vector<history::TimerRow> timers_;
  std::vector<int64_t> removed_timers_;
  int buffered_ = 0;
  bool touched_ = false;
  std::unique_ptr<NewRun> successor_;
};

// A run being created: its state and the update that writes its first events.
struct NewRun {
  explicit NewRun(int64_t now_ms) : update(state, now_ms) {}
  MutableState state;
  ExecutionUpdate update;  // refers to `state`, so NewRun stays where it was made
};

}  // namespace reprise::engine
