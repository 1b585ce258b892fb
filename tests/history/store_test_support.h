// Shared by the history store tests: tiny builders for runs and transactions, and one "factory"
// type per store implementation so that the conformance suite is written once and run against
// each (TEMPLATE_TEST_CASE over SqliteStoreFactory, MemoryStoreFactory, FaultWrappedStoreFactory).
//
// The histories built here are not realistic workflows (see tests/engine for those); they only
// need ids, types and a marker to tell one writer's events from another's.
#pragma once

#include <cstdlib>
#include <filesystem>
#include <memory>
#include <string>

#include "history/fault_injecting_store.h"
#include "history/history_store.h"
#include "history/memory_history_store.h"
#include "history/sqlite_history_store.h"
#include "temporal/api/enums/v1/event_type.pb.h"
#include "temporal/api/enums/v1/workflow.pb.h"

namespace reprise::history::testing {

namespace enums = temporal::api::enums::v1;

constexpr int kRunning = enums::WORKFLOW_EXECUTION_STATUS_RUNNING;
constexpr int kCompleted = enums::WORKFLOW_EXECUTION_STATUS_COMPLETED;

inline ExecutionKey key(const std::string& workflow_id, const std::string& run_id = "run-1",
                        const std::string& namespace_ = "default") {
  return ExecutionKey{namespace_, workflow_id, run_id};
}

// A list filter for one namespace with nothing else set.
inline ListFilter in_namespace(const std::string& namespace_) {
  ListFilter filter;
  filter.namespace_ = namespace_;
  return filter;
}

// An event with the given id. `marker` lands in task_id so tests can tell who wrote an event.
inline HistoryEvent event(int64_t id, int64_t marker = 0) {
  HistoryEvent e;
  e.set_event_id(id);
  e.set_task_id(marker);
  if (id == 1) {
    e.set_event_type(enums::EVENT_TYPE_WORKFLOW_EXECUTION_STARTED);
    e.mutable_workflow_execution_started_event_attributes()->mutable_workflow_type()->set_name("Greet");
  } else {
    e.set_event_type(enums::EVENT_TYPE_WORKFLOW_TASK_SCHEDULED);
  }
  return e;
}

// Starting a run: events 1..event_count, state transition 1, no expected version (the run is new).
inline Transaction start_run(const ExecutionKey& k, int event_count = 2, const std::string& workflow_type = "Greet",
                             int64_t start_time_ms = 1'700'000'000'000) {
  Transaction tx;
  tx.execution.key = k;
  tx.execution.workflow_type = workflow_type;
  tx.execution.task_queue = "greetings";
  tx.execution.status = kRunning;
  tx.execution.next_event_id = event_count + 1;
  tx.execution.state_transition_count = 1;
  tx.execution.start_time_ms = start_time_ms;
  tx.execution.state = std::string("state\0v1", 8);  // a blob with a NUL in it survives intact
  for (int i = 1; i <= event_count; ++i) tx.events.push_back(event(i));
  return tx;
}

// The next state change of a run whose current row is `current`: `event_count` more events, one
// more state transition, guarded by the version `current` has.
inline Transaction append(const ExecutionRow& current, int event_count = 1, int64_t marker = 0) {
  Transaction tx;
  tx.execution = current;
  tx.expected_next_event_id = current.next_event_id;
  tx.expected_state_transition_count = current.state_transition_count;
  for (int i = 0; i < event_count; ++i) tx.events.push_back(event(current.next_event_id + i, marker));
  tx.execution.next_event_id = current.next_event_id + event_count;
  tx.execution.state_transition_count = current.state_transition_count + 1;
  tx.execution.state = "state after transition " + std::to_string(tx.execution.state_transition_count);
  return tx;
}

// A directory under the system temp dir, removed with everything in it when the object dies.
class TempDir {
 public:
  TempDir() {
    std::string pattern = (std::filesystem::temp_directory_path() / "reprise-store-XXXXXX").string();
    if (mkdtemp(pattern.data()) == nullptr) throw std::runtime_error("mkdtemp failed");
    path_ = pattern;
  }
  ~TempDir() {
    std::error_code ignored;
    std::filesystem::remove_all(path_, ignored);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  std::string file(const std::string& name) const { return (path_ / name).string(); }

 private:
  std::filesystem::path path_;
};

// --- One factory per implementation; each test case makes its own (fresh, empty) store. ---

struct SqliteStoreFactory {
  TempDir dir;
  std::shared_ptr<HistoryStore> make() {
    return open_sqlite_store(SqliteStoreOptions{dir.file("history.db"), SqliteStoreOptions::Synchronous::Full});
  }
};

// The same store with its recent-runs cache off: every read goes through a read connection, so
// the conformance suite covers SQLite's read path and not only the cache's.
struct UncachedSqliteStoreFactory {
  TempDir dir;
  std::shared_ptr<HistoryStore> make() {
    SqliteStoreOptions options{dir.file("history.db"), SqliteStoreOptions::Synchronous::Full};
    options.recent_runs_cache_bytes = 0;
    return open_sqlite_store(options);
  }
};

struct MemoryStoreFactory {
  std::shared_ptr<HistoryStore> make() { return std::make_shared<MemoryHistoryStore>(); }
};

// The fault-injecting wrapper with no fault armed must be indistinguishable from what it wraps.
struct FaultWrappedStoreFactory {
  std::shared_ptr<HistoryStore> make() {
    return std::make_shared<FaultInjectingStore>(std::make_shared<MemoryHistoryStore>());
  }
};

}  // namespace reprise::history::testing
