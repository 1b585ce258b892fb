// A HistoryStore wrapper that fails commits on purpose, at the two moments that matter.
//
// A durable-execution engine must survive its store failing at the worst time. There are two
// worst times, and they teach different things:
//   - before the write: the commit throws and nothing was stored. The engine must not act as if
//     it had been (no task handed out, no reply sent), and a retry must not be refused.
//   - after the write:  the data IS stored, but the caller sees an exception, exactly as if the
//     server had crashed between the disk write and the acknowledgement. The engine must not
//     apply the change twice when it retries, and a restarted engine must find it.
// Engine tests arm one of these, drive a workflow, and then check that nothing was lost or
// duplicated. Reads are passed through untouched.
//
// Exercised by tests/history/store_conformance_test.cpp (unarmed, it is just another store) and
// tests/history/store_fault_injection_test.cpp (each fault).
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <stdexcept>

#include "history/history_store.h"

namespace reprise::history {

// What an armed fault throws: a std::runtime_error like a real I/O failure, but its own type so
// a test can tell an injected failure from a real one.
class InjectedFault : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

class FaultInjectingStore final : public HistoryStore {
 public:
  // Shares ownership of `inner`, so a test can drop the wrapper (and the engine using it, as if it
  // crashed) and open a new engine over the same inner store.
  explicit FaultInjectingStore(std::shared_ptr<HistoryStore> inner);

  // Arms a fault for the next `times` commits (counted together with faults already armed).
  // Before-write faults take precedence when both are armed.
  void fail_next_commit_before_write(int times = 1);
  void fail_next_commit_after_write(int times = 1);

  struct Counters {
    uint64_t commits = 0;              // commit() calls, failed or not
    uint64_t failed_before_write = 0;  // of which threw without writing
    uint64_t failed_after_write = 0;   // of which wrote and then threw
  };
  Counters counters() const;

  [[nodiscard]] CommitResult commit(Transaction& tx) override;

  std::optional<ExecutionRow> get_execution(const ExecutionKey& key) override;
  std::optional<ExecutionRow> get_current_execution(const std::string& namespace_,
                                                    const std::string& workflow_id) override;
  std::vector<HistoryEvent> read_events(const ExecutionKey& key, int64_t first_event_id,
                                        int64_t max_count = 0) override;
  std::string read_history_bytes(const ExecutionKey& key, int64_t first_event_id, int64_t max_count = 0) override;
  ListPage list_executions(const ListFilter& filter) override;
  int64_t count_executions(const ListFilter& filter) override;
  std::vector<TaskRow> load_tasks() override;
  std::vector<TimerRow> load_timers() override;

 private:
  // Takes one armed fault from `armed` if there is one (safe against concurrent commits).
  static bool take(std::atomic<int>& armed);

  std::shared_ptr<HistoryStore> inner_;
  std::atomic<int> before_write_armed_{0};
  std::atomic<int> after_write_armed_{0};
  std::atomic<uint64_t> commits_{0};
  std::atomic<uint64_t> failed_before_write_{0};
  std::atomic<uint64_t> failed_after_write_{0};
};

}  // namespace reprise::history
