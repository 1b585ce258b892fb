// The event log and its store: the one place where a workflow's durable state lives.
//
// Reprise is event-sourced. A workflow run *is* its history: an append-only list of HistoryEvents
// (WorkflowExecutionStarted, WorkflowTaskScheduled, ActivityTaskCompleted, ...). Beside the events the
// store keeps, per run, one execution row holding the engine's MutableState (what the events add up
// to, plus the few things Temporal deliberately keeps out of history), and two kinds of side records
// that let the engine resume work after a restart:
//   - tasks:  workflow and activity tasks waiting to be handed to a poller (engine/matching.h);
//   - timers: durable deadlines: user timers, timeouts, retry backoff (engine/timer_service.h).
//
// Every state change of a run is ONE Transaction: new events + the new execution row + tasks and
// timers added or removed, all or nothing. It is guarded by the row's expected next event id and
// state transition count (optimistic concurrency): if somebody else changed the run first, commit
// returns Conflict and writes nothing; the engine reloads and tries again, it never merges blindly.
//
// Exercised by tests/history/store_conformance_test.cpp (one suite, every implementation).
#pragma once

#include <boost/container_hash/hash.hpp>
#include <compare>
#include <cstdint>
#include <exception>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "temporal/api/history/v1/message.pb.h"

namespace reprise::history {

using temporal::api::history::v1::HistoryEvent;

// Names one run of one workflow.
struct ExecutionKey {
  std::string namespace_;
  std::string workflow_id;
  std::string run_id;
  auto operator<=>(const ExecutionKey&) const = default;
};

// For the engine's and the cache's maps from a run to what they hold of it, which only look runs
// up: hashing the three names is cheaper than ordering them, which compares the namespace (the
// same for every run) and a workflow id's common prefix at every step of a tree.
struct ExecutionKeyHash {
  size_t operator()(const ExecutionKey& key) const noexcept {
    // The standard library's string hash, combined by Boost's: Boost 1.74 hashes a string a byte
    // at a time (+1.3 % of the server's instructions when tried).
    const std::hash<std::string> hash;
    size_t h = 0;
    boost::hash_combine(h, hash(key.run_id));
    boost::hash_combine(h, hash(key.workflow_id));
    boost::hash_combine(h, hash(key.namespace_));
    return h;
  }
};

// One row of the executions table. The columns beside `state` are copies of fields of the
// serialized MutableState, kept as columns so that list/describe queries need not decode it.
struct ExecutionRow {
  ExecutionKey key;
  std::string workflow_type;
  std::string task_queue;
  int status = 0;             // temporal.api.enums.v1.WorkflowExecutionStatus
  int64_t next_event_id = 1;  // events 1 .. next_event_id-1 exist
  int64_t state_transition_count = 0;
  int64_t start_time_ms = 0;  // Unix epoch milliseconds
  int64_t close_time_ms = 0;  // 0 while running
  std::string state;          // serialized reprise.internal.v1.MutableState
};

enum class TaskKind { WorkflowTask = 0, ActivityTask = 1 };

// A task waiting for a poller. `id` is assigned by the store when the row is added.
struct TaskRow {
  int64_t id = 0;
  TaskKind kind = TaskKind::WorkflowTask;
  std::string task_queue;
  ExecutionKey execution;
  int64_t scheduled_event_id = 0;
  int32_t attempt = 1;
  int64_t created_time_ms = 0;
};

// What a durable timer is for. The engine re-checks mutable state when a timer fires, so a timer
// whose purpose has gone (the activity completed, the timer was canceled) simply does nothing.
enum class TimerKind {
  UserTimer = 0,  // StartTimer command; timer_id names it
  ActivityScheduleToStart = 1,
  ActivityScheduleToClose = 2,
  ActivityStartToClose = 3,
  ActivityHeartbeat = 4,
  ActivityRetryBackoff = 5,         // next attempt becomes dispatchable
  WorkflowTaskScheduleToStart = 6,  // sticky queue fallback
  WorkflowTaskStartToClose = 7,
  WorkflowRunTimeout = 8,
  WorkflowExecutionTimeout = 9,
};

// A durable deadline. `id` is assigned by the store when the row is added.
struct TimerRow {
  int64_t id = 0;
  int64_t fire_time_ms = 0;  // Unix epoch milliseconds
  ExecutionKey execution;
  TimerKind kind = TimerKind::UserTimer;
  int64_t event_id = 0;  // scheduled event id of the activity / workflow task
  int32_t attempt = 0;   // attempt the timeout belongs to
  std::string timer_id;  // user timers only
};

// One atomic state change of one run.
struct Transaction {
  ExecutionRow execution;  // the row as it must be after the change
  // Unset: the run is new and must not exist yet (AlreadyExists otherwise). Set: the row's current
  // next_event_id and state_transition_count must equal these (Conflict otherwise).
  std::optional<int64_t> expected_next_event_id;
  std::optional<int64_t> expected_state_transition_count;
  // Appended events; their ids must run contiguously from the row's old next_event_id up to
  // execution.next_event_id - 1.
  std::vector<HistoryEvent> events;
  // Task and timer rows of this run (execution.key; invalid_argument otherwise).
  std::vector<TaskRow> add_tasks;  // ids are filled in by commit()
  std::vector<int64_t> remove_tasks;
  std::vector<TimerRow> add_timers;  // ids are filled in by commit()
  std::vector<int64_t> remove_timers;
  // A new run created in the same atomic step. Continue-as-new closes this run and starts its
  // successor: a crash must leave both written or neither, never a closed run pointing at a run
  // that does not exist. The successor must be a new run (expected_next_event_id unset) and has
  // no successor of its own. commit() answers for both: AlreadyExists if the successor exists.
  std::shared_ptr<Transaction> successor;
};

enum class CommitResult { Ok, Conflict, AlreadyExists };

// How commit_async reports: the result commit() would have returned, or the exception it would have
// thrown (then `result` means nothing).
struct CommitOutcome {
  CommitResult result = CommitResult::Ok;
  std::exception_ptr error;
};
using CommitDone = std::function<void(CommitOutcome)>;

// Filters for ListWorkflowExecutions; an unset filter matches everything.
struct ListFilter {
  std::string namespace_;
  std::optional<int> status;
  std::optional<std::string> workflow_type;
  std::optional<std::string> workflow_id;
  int page_size = 100;
  int64_t after = 0;  // page token: continue after this position (0 = from the newest)
};

struct ListPage {
  std::vector<ExecutionRow> executions;  // newest first
  int64_t next = 0;                      // 0 when there is no further page
};

// Storage for histories. Implementations must be safe to call from many threads at once.
// I/O failures are thrown as std::runtime_error (or a subclass) and leave nothing half-written.
class HistoryStore {
 public:
  virtual ~HistoryStore() = default;

  // Applies `tx` atomically and durably (per the store's durability setting) before returning.
  // On Ok, the ids of tx.add_tasks and tx.add_timers are filled in. On Conflict/AlreadyExists
  // nothing was written. Throws std::invalid_argument if the events are not contiguous.
  [[nodiscard]] virtual CommitResult commit(Transaction& tx) = 0;
  // The same, without keeping the caller waiting: `done` runs exactly once with the outcome (on Ok,
  // the ids are filled in first, as by commit()); every error goes to it, commit_async itself does
  // not throw. `tx` must stay alive until then. `done` may run
  // before commit_async returns, on the calling thread, or later on a thread of the store's, where
  // it must neither block (above all: no commit() from it; reads are fine) nor throw. This default commits on
  // the calling thread; the SQLite store overrides it so that no thread waits for the fsync
  // (engine/update_run.h, HistoryEngine::update_run_async, is why).
  virtual void commit_async(Transaction& tx, CommitDone done) {
    CommitOutcome outcome;
    try {
      outcome.result = commit(tx);
    } catch (...) {
      outcome.error = std::current_exception();
    }
    done(std::move(outcome));
  }

  virtual std::optional<ExecutionRow> get_execution(const ExecutionKey& key) = 0;
  // The most recently created run of a workflow id, whatever its status.
  virtual std::optional<ExecutionRow> get_current_execution(const std::string& namespace_,
                                                            const std::string& workflow_id) = 0;
  // Events with first_event_id <= id, in id order, at most max_count of them (0 = all).
  virtual std::vector<HistoryEvent> read_events(const ExecutionKey& key, int64_t first_event_id,
                                                int64_t max_count = 0) = 0;
  // The same events as a serialized History message, put together from the stored bytes where the
  // store keeps them (history_bytes.h): what a worker is sent, without decoding each event only to
  // encode it again. This default encodes read_events.
  virtual std::string read_history_bytes(const ExecutionKey& key, int64_t first_event_id, int64_t max_count = 0);
  virtual ListPage list_executions(const ListFilter& filter) = 0;
  virtual int64_t count_executions(const ListFilter& filter) = 0;

  // Every task and timer row; the engine loads them once at start-up.
  virtual std::vector<TaskRow> load_tasks() = 0;
  virtual std::vector<TimerRow> load_timers() = 0;
};

}  // namespace reprise::history
