// The HistoryStore contract in memory: the reference implementation, and the fast store for engine
// unit tests.
//
// NOT DURABLE: everything is gone when the object is destroyed. It exists because it states the
// contract in a few lines of plain C++ (maps behind one mutex), with none of SQLite's machinery in
// the way, and because engine tests run hundreds of transactions and should not wait for fsync.
// The SQLite store must behave exactly like this one; the shared conformance suite checks it.
//
// Exercised by tests/history/store_conformance_test.cpp.
#pragma once

#include <cstdint>
#include <map>
#include <mutex>

#include "history/history_store.h"

namespace reprise::history {

// The rules a Transaction must follow whatever the stored state is; every store calls this before
// touching anything, so a malformed transaction writes nothing. Throws std::invalid_argument when:
//   - only one of expected_next_event_id / expected_state_transition_count is set;
//   - the events do not run contiguously from the old next event id (expected_next_event_id, or 1
//     for a new run) up to execution.next_event_id - 1.
void check_transaction(const Transaction& tx);

class MemoryHistoryStore final : public HistoryStore {
 public:
  [[nodiscard]] CommitResult commit(Transaction& tx) override;

  std::optional<ExecutionRow> get_execution(const ExecutionKey& key) override;
  std::optional<ExecutionRow> get_current_execution(const std::string& namespace_,
                                                    const std::string& workflow_id) override;
  std::vector<HistoryEvent> read_events(const ExecutionKey& key, int64_t first_event_id,
                                        int64_t max_count = 0) override;
  ListPage list_executions(const ListFilter& filter) override;
  int64_t count_executions(const ListFilter& filter) override;
  std::vector<TaskRow> load_tasks() override;    // in id order
  std::vector<TimerRow> load_timers() override;  // by fire time, then id

 private:
  struct Run {
    ExecutionRow row;
    int64_t position = 0;              // creation order (a list page token is a position)
    std::vector<HistoryEvent> events;  // events[i] has event id i + 1
  };
  // Both with mu_ held: the Ok / Conflict / AlreadyExists decision, then the change itself.
  CommitResult check_locked(const Transaction& tx) const;
  void apply_locked(Transaction& tx);

  // One mutex for everything: commits are all-or-nothing simply because nobody can look while
  // one is half applied.
  std::mutex mu_;
  std::map<ExecutionKey, Run> runs_;
  std::map<int64_t, ExecutionKey> by_position_;  // iterated backwards for "newest first"
  std::map<int64_t, TaskRow> tasks_;
  std::map<int64_t, TimerRow> timers_;
  int64_t last_position_ = 0;
  int64_t last_task_id_ = 0;
  int64_t last_timer_id_ = 0;
};

}  // namespace reprise::history
