// The durable HistoryStore: one SQLite file, written by one thread with group commit.
//
// Durability costs an fsync, and an fsync costs milliseconds. If every workflow transaction paid
// its own, the whole server would manage a few hundred state changes per second. So commit() does
// not write: it queues the transaction and waits (commit_async leaves a callback instead, and its
// caller goes on at once). One writer thread takes everything queued, applies it inside ONE SQLite
// transaction (a Conflict writes nothing, so it does not spoil its neighbours; a transaction that
// fails half-way makes the writer redo the group with each caller's transaction in its own
// SAVEPOINT) and pays ONE fsync for the whole group; a second thread then answers every caller of
// the group, while the writer goes on with the next. Readers use separate connections; SQLite's
// WAL mode lets them read beside the writer. What was just committed is also kept in memory
// (recent_runs_cache.h) for the reads that follow. The file layout (tables, indexes) is described
// in sqlite_history_store.cpp.
//
// Exercised by tests/history/store_conformance_test.cpp (the contract every store meets) and
// tests/history/store_sqlite_test.cpp (reopen, crash durability, group commit).
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <stdexcept>
#include <string>

#include "history/history_store.h"

namespace reprise::history {

struct SqliteStoreOptions {
  std::string path;  // the database file; created with its schema if missing
  // How hard a COMMIT insists that the data is on disk (SQLite's PRAGMA synchronous, in WAL mode):
  //   Full:   the WAL is fsynced at every COMMIT; an acknowledged commit survives power loss.
  //   Normal: fsync only at checkpoints; survives the process crashing, may lose the last
  //           commits on power loss.
  //   Off:    no fsync at all; for throwaway test databases.
  enum class Synchronous { Off, Normal, Full };
  Synchronous synchronous = Synchronous::Full;
  // At most this many transactions share one SQLite COMMIT. A cap keeps one group from holding
  // the write lock (and its callers' latency) hostage to an unbounded burst.
  int max_group_size = 256;
  // The commit delay. After a group of several transactions, the writer waits up to this long for
  // as many to be queued before it begins the next group (not at all after a group of one), so
  // that callers committing in step keep sharing fsyncs. 0: begin at once. Only with
  // synchronous = Full: in the other modes a COMMIT pays no fsync. See writer_loop().
  std::chrono::microseconds commit_delay{1000};
  // How long a connection waits for a lock held by someone else (another process with the file
  // open, or WAL recovery at open) before the operation fails with SQLITE_BUSY.
  int busy_timeout_ms = 5000;
  // Memory for the rows and events of the runs written most recently (recent_runs_cache.h), which
  // answers most reads without SQLite. 0 turns the cache off: every read goes to the file.
  size_t recent_runs_cache_bytes = 16 << 20;
  // The scheduling priority (Linux nice value, -20..19; the lower, the larger its share of the CPU
  // when threads compete for it) of the writer thread and
  // of the thread that answers its groups. Every transaction in a group waits whenever either of
  // them waits for a CPU, while each of the many other threads (gRPC's, the engine's) holds up one
  // request; on a busy machine they should run first. A value below the process's own needs
  // CAP_SYS_NICE (root) or an RLIMIT_NICE that allows it; without, the threads keep the process's
  // priority (commit_threads_nice() says which). 0 leaves them alone. Threads they start (gRPC
  // may) begin at nice 0. bench/README.md, item 31.
  int commit_threads_nice = -10;
};

// Counters for benchmarks and tests. transactions / commits is the group-commit factor: how many
// callers shared each fsync on average.
struct StoreStats {
  uint64_t submitted = 0;       // commit() calls queued for the writer so far
  uint64_t transactions = 0;    // of which the writer has finished (Ok, Conflict or failed)
  uint64_t commits = 0;         // SQLite COMMITs executed = fsync groups
  uint64_t queued = 0;          // transactions waiting for the writer to take them, right now
  uint64_t cached_reads = 0;    // get_execution / read_events answered by the recent-runs cache
  uint64_t database_reads = 0;  // ... and those that went to a read connection
};

// An error reported by SQLite, with the operation that hit it ("open", "commit group", ...).
// A std::runtime_error, as history_store.h promises for I/O failures.
class StoreError : public std::runtime_error {
 public:
  StoreError(const std::string& operation, int sqlite_code, const std::string& sqlite_message);
  const std::string& operation() const { return operation_; }
  int sqlite_code() const { return sqlite_code_; }  // SQLITE_BUSY, SQLITE_CONSTRAINT, ...
  const std::string& sqlite_message() const { return sqlite_message_; }

 private:
  std::string operation_;
  int sqlite_code_;
  std::string sqlite_message_;
};

// Open a file with one SqliteHistoryStore at a time. A second one (or another process) would not
// corrupt it, SQLite's locks see to that, but the two writers would queue on the file lock and
// group commit would lose its point.
class SqliteHistoryStore final : public HistoryStore {
 public:
  // Opens (creating if needed) the file and starts the writer thread. Throws StoreError.
  explicit SqliteHistoryStore(const SqliteStoreOptions& options);
  // Finishes every transaction already queued, then stops the writer and closes the file.
  ~SqliteHistoryStore() override;
  SqliteHistoryStore(const SqliteHistoryStore&) = delete;
  SqliteHistoryStore& operator=(const SqliteHistoryStore&) = delete;

  // Blocks until the group containing `tx` is durably committed (or rolled back). May be called
  // from any number of threads at once; that is what makes groups form.
  [[nodiscard]] CommitResult commit(Transaction& tx) override;
  // Queues `tx` for the next group and returns; `done` runs on the store's answering thread once
  // the group's COMMIT is durable (or failed), in queue order. commit() is this plus a wait.
  void commit_async(Transaction& tx, CommitDone done) override;

  std::optional<ExecutionRow> get_execution(const ExecutionKey& key) override;
  std::optional<ExecutionRow> get_current_execution(const std::string& namespace_,
                                                    const std::string& workflow_id) override;
  std::vector<HistoryEvent> read_events(const ExecutionKey& key, int64_t first_event_id,
                                        int64_t max_count = 0) override;
  std::string read_history_bytes(const ExecutionKey& key, int64_t first_event_id, int64_t max_count = 0) override;
  ListPage list_executions(const ListFilter& filter) override;
  int64_t count_executions(const ListFilter& filter) override;
  std::vector<TaskRow> load_tasks() override;    // in id order
  std::vector<TimerRow> load_timers() override;  // by fire time, then id

  StoreStats stats() const;
  // The nice value the writer and answerer threads run at: options.commit_threads_nice if it could
  // be set, else the one they inherited.
  int commit_threads_nice() const;

 private:
  // Everything that touches sqlite3.h lives in the .cpp, so including this header stays cheap.
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// The factory the engine uses; equivalent to std::make_unique<SqliteHistoryStore>(options).
std::unique_ptr<HistoryStore> open_sqlite_store(const SqliteStoreOptions& options);

}  // namespace reprise::history
