// SqliteHistoryStore: the schema, the group-commit writer thread and the pooled readers.
// Exercised by tests/history/store_conformance_test.cpp and tests/history/store_sqlite_test.cpp.
//
// The file, table by table (the schema's version is PRAGMA user_version):
//   executions      one row per run: the columns list/describe need, the serialized MutableState,
//                   `position`, the run's creation order within its namespace (newest = largest),
//                   and `id`, the run's number in this file.
//   history_batches the log itself: one row per transaction's batch of events (a workflow task's
//                   completion and the activity it schedules, say: WorkflowTaskCompleted,
//                   ActivityTaskScheduled, ActivityTaskStarted), its `data` the events serialized
//                   as one temporal.api.history.v1.History, keyed by the run and the batch's first
//                   event id. Temporal stores history the same way (its history_node table, one
//                   row per batch, node_id = the first event id). One row per batch, not per
//                   event, is a third of the B-tree inserts and index entries, and the writer's
//                   statements and WAL frames are what a group commit costs (ten-activity
//                   workflows: server CPU -5 %, +6 % wf/s; bench/README.md item 34).
//                   Rows are stored in the order written (`seq`) and found through an index on
//                   (run's id, first event id). Written in that order, a group commit's batches
//                   from many runs land together on the table's last page or two, where rows kept
//                   in run order would dirty one page per run in the group (every dirty page is a
//                   4 KiB WAL frame and later a checkpoint write: 33-36 frames per ten-activity
//                   group commit became 20-21, and 17 with a row per batch). The price is paid by
//                   reads that miss the recent-runs cache: a run's batches lie on the pages of the
//                   groups that wrote them, not on a page or two.
//                   The run's three names live once, in executions; rows name it by its number.
//   tasks, timers   side records the engine reloads at start-up, each naming its run by number.
//                   The writer numbers their rows itself, counting on from the largest id in the
//                   file at open: an id is never reused while the engine may still hold it.
// Version 1 (until 2026-12) repeated the run's three names in every event, task and timer row;
// version 2 (2026-12-02..04) kept one row per event in a history_events table in (run, event id)
// order (WITHOUT ROWID); version 3 (2026-12-04) kept that table in the order written. Opening an
// older file migrates it to version 4 in one transaction (kSetAsideV1 and kCopyFromV1, then
// kBatchesFromEvents: every old event becomes a batch of one).
//
// Threads and connections:
//   - one write connection, owned by the writer thread (the only thread that ever writes);
//   - a small pool of read connections, one per concurrent reader. In WAL mode a reader sees the
//     last committed state and neither blocks nor is blocked by the writer;
//   - in front of them, the recent-runs cache (recent_runs_cache.h): rows and events the writer
//     has just committed, which answer most reads (a sticky task's new events, a result) at once.
#include "history/sqlite_history_store.h"

#include <pthread.h>
#include <sched.h>
#include <sqlite3.h>
#include <sys/resource.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <condition_variable>
#include <deque>
#include <future>
#include <latch>
#include <limits>
#include <mutex>
#include <string_view>
#include <thread>
#include <unordered_map>
#include <utility>

#include "history/history_bytes.h"
#include "history/memory_history_store.h"  // check_transaction: the shape rules every store applies
#include "history/recent_runs_cache.h"

namespace reprise::history {

StoreError::StoreError(const std::string& operation, int sqlite_code, const std::string& sqlite_message)
    : std::runtime_error("sqlite history store: " + operation + ": " + sqlite_message + " (code " +
                         std::to_string(sqlite_code) + ")"),
      operation_(operation),
      sqlite_code_(sqlite_code),
      sqlite_message_(sqlite_message) {}

namespace {

constexpr int kSchemaVersion = 4;

// history_batches on its own: version 2 and 3 files get it in their migration, beside their
// other tables.
constexpr const char* kCreateHistoryBatches = R"sql(
CREATE TABLE history_batches (
  seq            INTEGER PRIMARY KEY,  -- the order rows were written in (SQLite numbers them)
  run            INTEGER NOT NULL,     -- executions.id
  first_event_id INTEGER NOT NULL,
  event_count    INTEGER NOT NULL,     -- the batch holds events first_event_id .. + event_count - 1
  data           BLOB    NOT NULL      -- the events as a serialized temporal.api.history.v1.History
);
-- A run's history, in order: how every read finds its batches. Also the uniqueness of a batch's
-- first event id within its run.
CREATE UNIQUE INDEX history_batches_by_run ON history_batches (run, first_event_id);
)sql";

// Everything else (run with kCreateHistoryBatches for a new file).
constexpr const char* kCreateSchema = R"sql(
CREATE TABLE executions (
  id                     INTEGER PRIMARY KEY,  -- the run's number in this file (history_batches.run)
  namespace              TEXT    NOT NULL,
  workflow_id            TEXT    NOT NULL,
  run_id                 TEXT    NOT NULL,
  workflow_type          TEXT    NOT NULL,
  task_queue             TEXT    NOT NULL,
  status                 INTEGER NOT NULL,
  next_event_id          INTEGER NOT NULL,
  state_transition_count INTEGER NOT NULL,
  start_time_ms          INTEGER NOT NULL,
  close_time_ms          INTEGER NOT NULL,
  state                  BLOB    NOT NULL,
  position               INTEGER NOT NULL,
  UNIQUE (namespace, workflow_id, run_id)
);
-- The current run of a workflow id: the largest position among its runs.
CREATE INDEX executions_by_workflow ON executions (namespace, workflow_id, position);
-- Listing a namespace newest first, and the next position when a run is created.
CREATE INDEX executions_by_position ON executions (namespace, position);

CREATE TABLE tasks (
  id                 INTEGER PRIMARY KEY,  -- numbered by the writer (next_task_id)
  kind               INTEGER NOT NULL,
  task_queue         TEXT    NOT NULL,
  run                INTEGER NOT NULL,     -- executions.id
  scheduled_event_id INTEGER NOT NULL,
  attempt            INTEGER NOT NULL,
  created_time_ms    INTEGER NOT NULL
);

CREATE TABLE timers (
  id           INTEGER PRIMARY KEY,  -- numbered by the writer (next_timer_id)
  fire_time_ms INTEGER NOT NULL,
  kind         INTEGER NOT NULL,
  run          INTEGER NOT NULL,     -- executions.id
  event_id     INTEGER NOT NULL,
  attempt      INTEGER NOT NULL,
  timer_id     TEXT    NOT NULL
);
)sql";

// Version 1 to 3, run in the transaction that then creates the version 3 tables (kCreateSchema,
// kCreateHistoryEvents) and copies the rows over (kCopyFromV1): the old tables step aside under
// new names first.
constexpr const char* kSetAsideV1 = R"sql(
DROP INDEX executions_by_workflow;
DROP INDEX executions_by_position;
ALTER TABLE executions RENAME TO v1_executions;
ALTER TABLE history_events RENAME TO v1_history_events;
ALTER TABLE tasks RENAME TO v1_tasks;
ALTER TABLE timers RENAME TO v1_timers;
)sql";
constexpr const char* kCopyFromV1 = R"sql(
INSERT INTO executions (namespace, workflow_id, run_id, workflow_type, task_queue, status, next_event_id,
                        state_transition_count, start_time_ms, close_time_ms, state, position)
  SELECT namespace, workflow_id, run_id, workflow_type, task_queue, status, next_event_id,
         state_transition_count, start_time_ms, close_time_ms, state, position
  FROM v1_executions ORDER BY namespace, position;
INSERT INTO history_batches (run, first_event_id, event_count, data)
  SELECT e.id, h.event_id, 1, framed_history_event(h.data)
  FROM v1_history_events h JOIN executions e
    ON e.namespace = h.namespace AND e.workflow_id = h.workflow_id AND e.run_id = h.run_id
  ORDER BY e.id, h.event_id;
INSERT INTO tasks (id, kind, task_queue, run, scheduled_event_id, attempt, created_time_ms)
  SELECT t.id, t.kind, t.task_queue, e.id, t.scheduled_event_id, t.attempt, t.created_time_ms
  FROM v1_tasks t JOIN executions e
    ON e.namespace = t.namespace AND e.workflow_id = t.workflow_id AND e.run_id = t.run_id;
INSERT INTO timers (id, fire_time_ms, kind, run, event_id, attempt, timer_id)
  SELECT t.id, t.fire_time_ms, t.kind, e.id, t.event_id, t.attempt, t.timer_id
  FROM v1_timers t JOIN executions e
    ON e.namespace = t.namespace AND e.workflow_id = t.workflow_id AND e.run_id = t.run_id;
DROP TABLE v1_history_events;
DROP TABLE v1_executions;
DROP TABLE v1_tasks;
DROP TABLE v1_timers;
)sql";

// Versions 2 and 3 to 4: only the log changed. Their history_events table (one row per event:
// run, event_id, event_type, data) becomes history_batches with every event a batch of one, its
// bytes framed as a History (framed_history_event, registered on the writer's connection), in
// (run, event id) order.
constexpr const char* kBatchesFromEvents = R"sql(
INSERT INTO history_batches (run, first_event_id, event_count, data)
  SELECT run, event_id, 1, framed_history_event(data) FROM history_events ORDER BY run, event_id;
DROP TABLE history_events;
)sql";

// The columns of an ExecutionRow, in the order read_execution_row() expects them.
#define REPRISE_EXECUTION_COLUMNS                                                      \
  "namespace, workflow_id, run_id, workflow_type, task_queue, status, next_event_id, " \
  "state_transition_count, start_time_ms, close_time_ms, state"

constexpr const char* kInsertExecution =
    "INSERT INTO executions (" REPRISE_EXECUTION_COLUMNS
    ", position) "
    "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, "
    "        (SELECT COALESCE(MAX(position), 0) + 1 FROM executions WHERE namespace = ?1)) "
    // A run that already exists changes nothing (no row changed): AlreadyExists.
    "ON CONFLICT (namespace, workflow_id, run_id) DO NOTHING";

// The run's number, for updating its row and naming it in the rows beside it. Answered from the
// unique index alone, which holds the id.
constexpr const char* kSelectRunNumber =
    "SELECT id FROM executions WHERE namespace = ?1 AND workflow_id = ?2 AND run_id = ?3";

// The optimistic concurrency check IS the WHERE clause: the row changes only if it is still at
// the version the caller read. No row changed means somebody else got there first.
// (Neither this nor kInsertExecution says RETURNING id: SQLite gathers a RETURNING clause's rows
// in a temporary B-tree made and dropped per statement, ~10 % of the server's instructions in a
// ten-activity run; bench/README.md item 35.)
constexpr const char* kUpdateExecution =
    "UPDATE executions SET workflow_type = ?4, task_queue = ?5, status = ?6, next_event_id = ?7, "
    "state_transition_count = ?8, start_time_ms = ?9, close_time_ms = ?10, state = ?11 "
    "WHERE id = ?14 AND next_event_id = ?12 AND state_transition_count = ?13";

constexpr const char* kInsertBatch =
    "INSERT INTO history_batches (run, first_event_id, event_count, data) VALUES (?1, ?2, ?3, ?4)";

constexpr const char* kInsertTask =
    "INSERT INTO tasks (id, kind, task_queue, run, scheduled_event_id, attempt, created_time_ms) "
    "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)";
constexpr const char* kDeleteTask = "DELETE FROM tasks WHERE id = ?1";

constexpr const char* kInsertTimer =
    "INSERT INTO timers (id, fire_time_ms, kind, run, event_id, attempt, timer_id) "
    "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)";
constexpr const char* kDeleteTimer = "DELETE FROM timers WHERE id = ?1";

constexpr const char* kSelectExecution = "SELECT " REPRISE_EXECUTION_COLUMNS
                                         " FROM executions "
                                         "WHERE namespace = ?1 AND workflow_id = ?2 AND run_id = ?3";
constexpr const char* kSelectCurrentExecution =
    "SELECT " REPRISE_EXECUTION_COLUMNS
    " FROM executions "
    "WHERE namespace = ?1 AND workflow_id = ?2 ORDER BY position DESC LIMIT 1";
// The batches holding events from ?4 on: the one that contains event ?4 (the last to start at or
// before it), and every later one.
#define REPRISE_RUN_NUMBER "(SELECT id FROM executions WHERE namespace = ?1 AND workflow_id = ?2 AND run_id = ?3)"
constexpr const char* kSelectBatches =
    "SELECT first_event_id, data FROM history_batches WHERE run = " REPRISE_RUN_NUMBER
    " AND first_event_id >= (SELECT COALESCE(MAX(first_event_id), 0) FROM history_batches"
    "                        WHERE run = " REPRISE_RUN_NUMBER
    " AND first_event_id <= ?4) "
    "ORDER BY first_event_id";
#undef REPRISE_RUN_NUMBER
// Tasks and timers name their run by its number; its three names come from executions.
constexpr const char* kSelectTasks =
    "SELECT t.id, t.kind, t.task_queue, e.namespace, e.workflow_id, e.run_id, t.scheduled_event_id, "
    "t.attempt, t.created_time_ms FROM tasks t JOIN executions e ON e.id = t.run ORDER BY t.id";
constexpr const char* kSelectTimers =
    "SELECT t.id, t.fire_time_ms, t.kind, e.namespace, e.workflow_id, e.run_id, t.event_id, t.attempt, "
    "t.timer_id FROM timers t JOIN executions e ON e.id = t.run ORDER BY t.fire_time_ms, t.id";

// ---------------------------------------------------------------------------------------------
// Thin RAII over the C API. Nothing clever: each wrapper exists so that no error code is ignored
// and no statement is left bound or mid-step.

// One use of a cached prepared statement. The destructor resets it, which also ends the implicit
// read transaction a SELECT holds open (a reader must not pin an old WAL snapshot).
class Statement {
 public:
  Statement(sqlite3* db, sqlite3_stmt* stmt, const char* operation) : db_(db), stmt_(stmt), operation_(operation) {}
  ~Statement() {
    sqlite3_reset(stmt_);
    sqlite3_clear_bindings(stmt_);
  }
  Statement(const Statement&) = delete;
  Statement& operator=(const Statement&) = delete;

  void bind(int index, int64_t value) { check(sqlite3_bind_int64(stmt_, index, value)); }
  // SQLITE_TRANSIENT: SQLite copies the bytes, so a temporary argument is safe.
  void bind(int index, const std::string& text) {
    check(sqlite3_bind_text(stmt_, index, text.data(), static_cast<int>(text.size()), SQLITE_TRANSIENT));
  }
  void bind_blob(int index, const std::string& bytes) {
    check(sqlite3_bind_blob(stmt_, index, bytes.data(), static_cast<int>(bytes.size()), SQLITE_TRANSIENT));
  }
  // Named parameters (":status") for statements assembled from optional filters; a name the
  // statement does not use is skipped.
  void bind(const char* name, int64_t value) {
    if (int index = sqlite3_bind_parameter_index(stmt_, name); index != 0) bind(index, value);
  }
  void bind(const char* name, const std::string& text) {
    if (int index = sqlite3_bind_parameter_index(stmt_, name); index != 0) bind(index, text);
  }

  // true: a row is ready to read; false: the statement is done.
  bool step() {
    const int rc = sqlite3_step(stmt_);
    if (rc == SQLITE_ROW) return true;
    if (rc == SQLITE_DONE) return false;
    throw StoreError(operation_, rc, sqlite3_errmsg(db_));
  }
  // Runs a statement that returns no rows and reports how many rows it changed.
  int execute() {
    while (step()) {
    }
    return sqlite3_changes(db_);
  }
  // The rowid of the row the connection's last successful INSERT made.
  int64_t last_insert_rowid() const { return sqlite3_last_insert_rowid(db_); }

  int64_t integer(int column) const { return sqlite3_column_int64(stmt_, column); }
  std::string text(int column) const {
    const auto* p = reinterpret_cast<const char*>(sqlite3_column_text(stmt_, column));
    return p ? std::string(p, sqlite3_column_bytes(stmt_, column)) : std::string();
  }
  std::string blob(int column) const {
    const auto* p = static_cast<const char*>(sqlite3_column_blob(stmt_, column));  // before _bytes
    return p ? std::string(p, sqlite3_column_bytes(stmt_, column)) : std::string();
  }

 private:
  void check(int rc) {
    if (rc != SQLITE_OK) throw StoreError(operation_, rc, sqlite3_errmsg(db_));
  }
  sqlite3* db_;
  sqlite3_stmt* stmt_;
  const char* operation_;
};

// A connection and its prepared statements. Opened with SQLITE_OPEN_NOMUTEX: SQLite does no
// locking of its own for it, so it must be used by one thread at a time (the writer thread, or
// whichever reader holds it from the pool).
class Connection {
 public:
  Connection(const SqliteStoreOptions& options, bool read_only) {
    // SQLite counts every allocation under a process-wide mutex (for sqlite3_memory_used(), which
    // Reprise never asks for): a tenth of the writer's samples were its malloc and free, a third
    // of that the mutex. Switched off once, before SQLite initialises itself; if something else
    // in the process opened a database first, SQLite refuses the change, and that is harmless.
    static std::once_flag no_memory_statistics;
    std::call_once(no_memory_statistics, [] { (void)sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0); });
    const std::string& path = options.path;
    const int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX;
    const int rc = sqlite3_open_v2(path.c_str(), &db_, flags, nullptr);
    if (rc != SQLITE_OK) {
      std::string message = db_ ? sqlite3_errmsg(db_) : sqlite3_errstr(rc);
      sqlite3_close_v2(db_);
      throw StoreError("open " + path, rc, message);
    }
    try {
      configure(options, read_only);
    } catch (...) {
      close();  // the destructor does not run for a constructor that throws
      throw;
    }
  }

  ~Connection() { close(); }
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  // A prepared statement, compiled on first use and kept for the life of the connection:
  // parsing and planning SQL costs more than running these small statements.
  Statement statement(const std::string& sql, const char* operation) {
    auto it = cache_.find(sql);
    if (it == cache_.end()) {
      sqlite3_stmt* stmt = nullptr;
      const int rc = sqlite3_prepare_v3(db_, sql.c_str(), -1, SQLITE_PREPARE_PERSISTENT, &stmt, nullptr);
      if (rc != SQLITE_OK) throw StoreError(std::string("prepare for ") + operation, rc, sqlite3_errmsg(db_));
      it = cache_.emplace(sql, stmt).first;
    }
    return Statement(db_, it->second, operation);
  }

  // A statement without parameters or rows that runs often (the writer's BEGIN, SAVEPOINT,
  // RELEASE, COMMIT), from the statement cache: sqlite3_exec would parse it again each time.
  void run(const char* sql, const char* operation) { statement(sql, operation).execute(); }

  // For statements without parameters that run rarely (schema, PRAGMAs, a group's ROLLBACK).
  void exec(const char* sql, const std::string& operation) {
    char* error = nullptr;
    const int rc = sqlite3_exec(db_, sql, nullptr, nullptr, &error);
    if (rc != SQLITE_OK) {
      std::string message = error ? error : sqlite3_errstr(rc);
      sqlite3_free(error);
      throw StoreError(operation, rc, message);
    }
  }

  // The first column of the first row of a statement without parameters.
  int64_t scalar(const char* sql, const char* operation) {
    Statement s = statement(sql, operation);
    if (!s.step()) throw StoreError(operation, SQLITE_ERROR, "no row");
    return s.integer(0);
  }

  // Makes a C++ function callable from this connection's SQL as name(argument) (the migrations').
  void define_function(const char* name, void (*function)(sqlite3_context*, int, sqlite3_value**)) {
    const int rc =
        sqlite3_create_function(db_, name, 1, SQLITE_UTF8 | SQLITE_DETERMINISTIC, nullptr, function, nullptr, nullptr);
    if (rc != SQLITE_OK) throw StoreError(std::string("define ") + name, rc, sqlite3_errmsg(db_));
  }

  // True when no transaction is open. SQLite rolls a transaction back by itself after some errors
  // (disk full, I/O error); the writer checks this to know whether its group is still alive.
  bool in_autocommit() const { return sqlite3_get_autocommit(db_) != 0; }

 private:
  void configure(const SqliteStoreOptions& options, bool read_only) {
    // Wait for a lock for a while instead of failing at once (e.g. while WAL recovery runs at open).
    sqlite3_busy_timeout(db_, options.busy_timeout_ms);
    // WAL: writers append to a log beside the database, readers keep reading the last committed
    // state. The mode is stored in the file, so setting it again is a cheap no-op.
    {
      Statement wal = statement("PRAGMA journal_mode = WAL", "enable WAL");
      if (!wal.step() || wal.text(0) != "wal") {
        throw StoreError("enable WAL", SQLITE_ERROR, "the database (" + options.path + ") cannot use WAL mode");
      }
    }
    // Only the writer's setting matters (readers never commit), but every connection gets the same.
    using Sync = SqliteStoreOptions::Synchronous;
    exec(options.synchronous == Sync::Full     ? "PRAGMA synchronous = FULL"
         : options.synchronous == Sync::Normal ? "PRAGMA synchronous = NORMAL"
                                               : "PRAGMA synchronous = OFF",
         "set synchronous");
    // A read connection that tries to write fails loudly rather than racing the writer thread.
    if (read_only) exec("PRAGMA query_only = ON", "set query_only");
  }

  void close() {
    for (auto& [sql, stmt] : cache_) sqlite3_finalize(stmt);
    cache_.clear();
    sqlite3_close_v2(db_);  // accepts nullptr
    db_ = nullptr;
  }

  sqlite3* db_ = nullptr;
  std::unordered_map<std::string, sqlite3_stmt*> cache_;
};

// SQL framed_history_event(data): one serialized HistoryEvent framed as a History of that one
// event (history_bytes.h), which is what a batch of one holds. For the migrations from versions
// that kept one row per event.
void framed_history_event_sql(sqlite3_context* context, int, sqlite3_value** arguments) {
  const auto* bytes = static_cast<const char*>(sqlite3_value_blob(arguments[0]));  // before _bytes
  std::string framed;
  append_history_event(framed, std::string_view(bytes ? bytes : "", sqlite3_value_bytes(arguments[0])));
  sqlite3_result_blob(context, framed.data(), static_cast<int>(framed.size()), SQLITE_TRANSIENT);
}

ExecutionRow read_execution_row(const Statement& s) {
  ExecutionRow row;
  row.key = ExecutionKey{s.text(0), s.text(1), s.text(2)};
  row.workflow_type = s.text(3);
  row.task_queue = s.text(4);
  row.status = static_cast<int>(s.integer(5));
  row.next_event_id = s.integer(6);
  row.state_transition_count = s.integer(7);
  row.start_time_ms = s.integer(8);
  row.close_time_ms = s.integer(9);
  row.state = s.blob(10);
  return row;
}

// Parameters ?1..?3 (the run's names) of kInsertExecution, kSelectRunNumber and the reads that
// find one run (kSelectExecution, kSelectBatches).
void bind_run_names(Statement& s, const ExecutionKey& key) {
  s.bind(1, key.namespace_);
  s.bind(2, key.workflow_id);
  s.bind(3, key.run_id);
}

// Parameters ?4..?11 (what the row says of the run) of kInsertExecution and kUpdateExecution.
void bind_execution_row(Statement& s, const ExecutionRow& row) {
  s.bind(4, row.workflow_type);
  s.bind(5, row.task_queue);
  s.bind(6, int64_t{row.status});
  s.bind(7, row.next_event_id);
  s.bind(8, row.state_transition_count);
  s.bind(9, row.start_time_ms);
  s.bind(10, row.close_time_ms);
  s.bind_blob(11, row.state);
}

// The WHERE clause of list/count for the filters that are set. Every variant is a distinct SQL
// text, so each gets its own cached, separately planned statement (at most 8 of them).
std::string list_where(const ListFilter& filter) {
  std::string where = " WHERE namespace = :namespace";
  if (filter.status) where += " AND status = :status";
  if (filter.workflow_type) where += " AND workflow_type = :workflow_type";
  if (filter.workflow_id) where += " AND workflow_id = :workflow_id";
  return where;
}

void bind_list_filter(Statement& s, const ListFilter& filter) {
  s.bind(":namespace", filter.namespace_);
  if (filter.status) s.bind(":status", int64_t{*filter.status});
  if (filter.workflow_type) s.bind(":workflow_type", *filter.workflow_type);
  if (filter.workflow_id) s.bind(":workflow_id", *filter.workflow_id);
}

}  // namespace

// ---------------------------------------------------------------------------------------------
// Group commit.
//
// Why: with synchronous=FULL every SQLite COMMIT ends in an fsync of the WAL, a few milliseconds
// on real disks. A workflow does several transactions per step (start, task started, task
// completed, activity completed, ...), so one fsync per transaction would cap the whole server at
// a few hundred transactions per second however many cores it has.
//
// How: commit() does not touch SQLite. It queues the transaction and waits for its answer (or,
// with commit_async, leaves a callback to be run with it). The writer thread wakes, takes every
// queued transaction (up to max_group_size), and runs
//
//     BEGIN IMMEDIATE
//       apply transaction 1      (a Conflict is found before it writes anything)
//       apply transaction 2
//       ...
//     COMMIT                     <- the one fsync of the group
//
// and only then answers every caller. While that fsync runs, new commits pile up in the queue
// and become the next group, so the busier the server, the more transactions share each fsync:
// the cost of durability is per group, not per workflow. The answers themselves (the callers'
// callbacks, which for the engine's asynchronous requests finish RPCs) are run by a second thread,
// the answerer, in queue order: the writer begins the next group while the last one's answers go
// out, instead of after them. Nobody is answered before the COMMIT
// that contains their data is on disk, so no caller is ever told "Ok" for something a crash could
// take back. Transactions stay independent: a refused one has written nothing, and one that fails
// after writing makes the writer roll the group back and run it again with a SAVEPOINT around each
// transaction (ROLLBACK TO undoes that one alone); only a failing BEGIN, COMMIT or group
// ROLLBACK (or an error that aborts the SQLite transaction in that second run) fails the group.

namespace {

// A failure, as plain data. The writer makes each caller its own StoreError from it: no exception
// object is shared between callers (a group error reaches every caller of the group).
struct ErrorInfo {
  std::string operation;
  int code = SQLITE_ERROR;
  std::string message;
};

// Describes the exception being handled; call only inside a catch block.
ErrorInfo describe_current_exception() {
  try {
    throw;
  } catch (const StoreError& e) {
    return ErrorInfo{e.operation(), e.sqlite_code(), e.sqlite_message()};
  } catch (const std::exception& e) {
    return ErrorInfo{"commit", SQLITE_ERROR, e.what()};
  } catch (...) {
    return ErrorInfo{"commit", SQLITE_ERROR, "unknown exception"};
  }
}

// One run's part of a commit(): the transaction itself, or its successor (continue-as-new).
struct RunWrite {
  Transaction* tx;                      // the caller's; alive until `done` has run
  std::vector<std::string> event_data;  // serialized by the caller's thread, not the writer's
  std::string batch;                    // the same events framed as one History: the batch's row
};

// A transaction waiting for the writer, and whom to tell how it went.
struct Pending {
  std::vector<RunWrite> runs;  // the transaction, then its successor if it has one
  CommitDone done;
};

// What the answerer thread tells one caller.
struct Answer {
  CommitDone done;
  CommitOutcome outcome;
};

// The ids the store gave one run's new task and timer rows.
struct RowIds {
  std::vector<int64_t> task_ids;
  std::vector<int64_t> timer_ids;
};

// What applying one transaction inside the group produced. Ids are held here and copied into the
// caller's Transaction only once the COMMIT succeeded: a failed group must not hand out ids.
struct Outcome {
  CommitResult result = CommitResult::Ok;
  std::vector<RowIds> ids;  // one per RunWrite
  std::optional<ErrorInfo> error;
};

}  // namespace

struct SqliteHistoryStore::Impl {
  explicit Impl(const SqliteStoreOptions& opts) : options(opts) {
    if (options.max_group_size < 1) options.max_group_size = 1;
    // Only a COMMIT that fsyncs is worth waiting to share.
    if (options.synchronous != SqliteStoreOptions::Synchronous::Full) options.commit_delay = {};
    if (options.recent_runs_cache_bytes > 0) {
      cache = std::make_unique<RecentRunsCache>(RecentRunsCache::Limits{.max_bytes = options.recent_runs_cache_bytes});
    }
    writer = std::make_unique<Connection>(options, /*read_only=*/false);
    create_or_check_schema();
    std::latch named_and_prioritised(2);
    answer_thread = std::thread([this, &named_and_prioritised] {
      become_commit_thread("reprise-answer", named_and_prioritised);
      answer_loop();
    });
    try {
      writer_thread = std::thread([this, &named_and_prioritised] {
        become_commit_thread("reprise-writer", named_and_prioritised);
        writer_loop();
      });
    } catch (...) {  // no thread to be had: the answerer, already running, must end before we throw
      {
        std::lock_guard lock(answer_mu);
        answer_stopping = true;
      }
      answer_cv.notify_one();
      answer_thread.join();
      throw;
    }
    named_and_prioritised.wait();  // commit_threads_nice() is known from here on
  }

  // Names the calling thread (for top -H, perf, /proc/<pid>/task/*/comm) and gives it the commit
  // threads' priority (SqliteStoreOptions::commit_threads_nice). Linux keeps a nice value per
  // thread: PRIO_PROCESS with the thread's own id sets this thread's only. A thread inherits its
  // creator's nice value, and gRPC starts threads of its own from whichever thread hands it work
  // (the answerer finishes RPCs): SCHED_RESET_ON_FORK makes those start at nice 0 again.
  void become_commit_thread(const char* name, std::latch& done) {
    pthread_setname_np(pthread_self(), name);
    const auto tid = static_cast<id_t>(gettid());
    if (options.commit_threads_nice != 0) {
      const sched_param normal{};  // SCHED_OTHER has no static priority: 0
      (void)sched_setscheduler(static_cast<pid_t>(tid), SCHED_OTHER | SCHED_RESET_ON_FORK, &normal);
      (void)setpriority(PRIO_PROCESS, tid, options.commit_threads_nice);
    }
    errno = 0;
    const int nice = getpriority(PRIO_PROCESS, tid);  // -1 is a valid value: errno tells
    if (errno == 0) commit_threads_nice = nice;       // both threads try the same: either one's answer
    done.count_down();
  }

  ~Impl() {
    {
      std::lock_guard lock(queue_mu);
      stopping = true;
    }
    queue_cv.notify_one();
    writer_thread.join();  // the loop drains the queue before it returns
    {                      // then the answerer, once it has answered every group the writer finished
      std::lock_guard lock(answer_mu);
      answer_stopping = true;
    }
    answer_cv.notify_one();
    answer_thread.join();
  }

  void create_or_check_schema() {
    int64_t version = 0;
    {
      Statement s = writer->statement("PRAGMA user_version", "read schema version");
      if (s.step()) version = s.integer(0);
    }
    if (version != kSchemaVersion) {
      if (version < 0 || version > kSchemaVersion) {
        throw StoreError("open " + options.path, SQLITE_ERROR,
                         "schema version " + std::to_string(version) + ", this build knows versions 1 to " +
                             std::to_string(kSchemaVersion));
      }
      // Tables (and, from an older version, the copied rows) and version in one transaction: a
      // crash here leaves the file as it was, never half a schema.
      const std::string operation =
          version == 0 ? "create schema" : "migrate schema from version " + std::to_string(version);
      writer->exec("BEGIN IMMEDIATE", operation);
      try {
        writer->define_function("framed_history_event", framed_history_event_sql);
        if (version == 1) writer->exec(kSetAsideV1, operation);
        if (version <= 1) writer->exec(kCreateSchema, operation);  // versions 2 and 3 keep their other tables
        writer->exec(kCreateHistoryBatches, operation);
        if (version == 1) writer->exec(kCopyFromV1, operation);
        if (version == 2 || version == 3) writer->exec(kBatchesFromEvents, operation);
        writer->exec(("PRAGMA user_version = " + std::to_string(kSchemaVersion)).c_str(), operation);
        writer->exec("COMMIT", operation);
      } catch (...) {
        if (!writer->in_autocommit()) writer->exec("ROLLBACK", operation);
        throw;
      }
    }
    next_task_id = writer->scalar("SELECT COALESCE(MAX(id), 0) + 1 FROM tasks", "number tasks");
    next_timer_id = writer->scalar("SELECT COALESCE(MAX(id), 0) + 1 FROM timers", "number timers");
  }

  // --- writer thread -------------------------------------------------------------------------

  void writer_loop() {
    std::vector<Pending> group;
    size_t last_group_size = 0;
    for (;;) {
      {
        std::unique_lock lock(queue_mu);
        queue_cv.wait(lock, [&] { return stopping || !queue.empty(); });
        if (queue.empty()) return;  // stopping, and nothing left to write
        // The commit delay: when the last group was shared, its callers are likely to be back
        // soon with their next transaction; waiting a moment for as many lets them share the
        // next fsync too instead of paying one each. (PostgreSQL's commit_delay, for the same
        // reason.) A lone caller (the last group was 1) never waits.
        if (options.commit_delay.count() > 0 && last_group_size > 1 && queue.size() < last_group_size) {
          gather_target = last_group_size;
          queue_cv.wait_for(lock, options.commit_delay, [&] { return stopping || queue.size() >= gather_target; });
          gather_target = 0;
        }
        while (!queue.empty() && group.size() < static_cast<size_t>(options.max_group_size)) {
          group.push_back(std::move(queue.front()));
          queue.pop_front();
        }
      }
      last_group_size = group.size();
      run_group(group);
      group.clear();
    }
  }

  void run_group(std::vector<Pending>& group) {
    std::vector<Outcome> outcomes(group.size());
    std::optional<ErrorInfo> group_error;  // set: every transaction of the group failed with it
    try {
      writer->run("BEGIN IMMEDIATE", "begin group");
      bool unguarded_ok = true;
      for (size_t i = 0; i < group.size() && unguarded_ok; ++i) unguarded_ok = apply_unguarded(group[i], outcomes[i]);
      if (!unguarded_ok) {
        // A transaction failed, perhaps after writing part of itself. Undo the group and write it
        // again with a savepoint around each transaction, so that the failure stays that one's.
        if (!writer->in_autocommit()) writer->exec("ROLLBACK", "roll back group");
        outcomes.assign(group.size(), Outcome{});
        writer->run("BEGIN IMMEDIATE", "begin group");
        for (size_t i = 0; i < group.size(); ++i) {
          if (!apply_in_savepoint(group[i], outcomes[i])) break;  // the SQLite transaction is gone
        }
      }
      if (writer->in_autocommit()) {
        // An error inside apply made SQLite abandon the whole transaction; its message is the
        // first per-transaction error, and it applies to everyone in the group.
        for (Outcome& outcome : outcomes) {
          if (outcome.error) {
            group_error = outcome.error;
            break;
          }
        }
        if (!group_error) group_error = ErrorInfo{"commit group", SQLITE_ERROR, "transaction rolled back by SQLite"};
      } else {
        writer->run("COMMIT", "commit group");
        commits.fetch_add(1, std::memory_order_relaxed);
      }
    } catch (...) {
      // BEGIN or COMMIT failed (or the group or a savepoint could not be rolled back): nothing
      // of the group is known to be on disk.
      group_error = describe_current_exception();
      if (!writer->in_autocommit()) {
        try {
          writer->exec("ROLLBACK", "roll back group");
        } catch (...) {
          // The group already fails with the first error; a second one adds nothing.
        }
      }
    }
    transactions.fetch_add(group.size(), std::memory_order_relaxed);

    // Answer the callers, in queue order, through the answerer. Once `done` has run the caller may
    // free its Transaction, so the ids are written into it here and nothing touches it after.
    std::vector<Answer> answers;
    answers.reserve(group.size());
    for (size_t i = 0; i < group.size(); ++i) {
      Pending& pending = group[i];
      Outcome& outcome = outcomes[i];
      CommitOutcome reply;
      if (group_error || outcome.error) {
        const ErrorInfo& error = group_error ? *group_error : *outcome.error;
        reply.error = std::make_exception_ptr(StoreError(error.operation, error.code, error.message));
      } else {
        reply.result = outcome.result;
        if (outcome.result == CommitResult::Ok) {
          for (size_t r = 0; r < pending.runs.size(); ++r) {
            Transaction& tx = *pending.runs[r].tx;
            const RowIds& ids = outcome.ids[r];
            for (size_t t = 0; t < ids.task_ids.size(); ++t) tx.add_tasks[t].id = ids.task_ids[t];
            for (size_t t = 0; t < ids.timer_ids.size(); ++t) tx.add_timers[t].id = ids.timer_ids[t];
            // Durable now, so the cache may hold it; before the answer, so the caller's next read
            // finds it there.
            if (cache)
              cache->committed(tx.execution, std::move(pending.runs[r].event_data), !tx.expected_next_event_id);
          }
        }
      }
      answers.push_back(Answer{std::move(pending.done), std::move(reply)});
    }
    {
      std::lock_guard lock(answer_mu);
      answer_queue.push_back(std::move(answers));
    }
    answer_cv.notify_one();
  }

  // --- answerer thread -----------------------------------------------------------------------

  void answer_loop() {
    for (;;) {
      std::vector<Answer> group;
      {
        std::unique_lock lock(answer_mu);
        answer_cv.wait(lock, [&] { return answer_stopping || !answer_queue.empty(); });
        if (answer_queue.empty()) return;  // stopping, and every group answered
        group = std::move(answer_queue.front());
        answer_queue.pop_front();
      }
      for (Answer& answer : group) answer.done(std::move(answer.outcome));  // must not throw (history_store.h)
    }
  }

  // Applies one transaction with no savepoint of its own: the common case, a group in which every
  // transaction either lands or is refused before its first write (a Conflict or AlreadyExists
  // writes nothing, apply() step 1). Returns false on an error (it may have written part of itself)
  // or when a successor is refused after its predecessor's run was written: only rolling back the
  // whole group can take that back, and run_group then writes the group again with savepoints.
  // A savepoint per transaction costs ~4 % of the server's instructions (bench/README.md item 36).
  bool apply_unguarded(Pending& pending, Outcome& outcome) {
    try {
      for (size_t r = 0; r < pending.runs.size(); ++r) {
        outcome.result = apply(pending.runs[r], outcome.ids.emplace_back());
        if (outcome.result != CommitResult::Ok) {
          outcome.ids.clear();
          return r == 0;  // the first run's refusal wrote nothing; a successor's follows a write
        }
      }
    } catch (...) {
      return false;
    }
    return true;
  }

  // Applies one transaction inside its own savepoint. Returns false if SQLite aborted the whole
  // enclosing transaction, in which case the group cannot go on.
  bool apply_in_savepoint(Pending& pending, Outcome& outcome) {
    writer->run("SAVEPOINT tx", "savepoint");
    try {
      // The transaction and its successor share the savepoint: both are written or neither.
      for (const RunWrite& run : pending.runs) {
        outcome.result = apply(run, outcome.ids.emplace_back());
        if (outcome.result != CommitResult::Ok) break;
      }
    } catch (...) {
      outcome.error = describe_current_exception();  // reported to this caller only
      if (writer->in_autocommit()) return false;
    }
    if (outcome.error || outcome.result != CommitResult::Ok) {
      writer->run("ROLLBACK TO tx", "roll back savepoint");  // undo this transaction only
      outcome.ids.clear();
    }
    writer->run("RELEASE tx", "release savepoint");
    return true;
  }

  CommitResult apply(const RunWrite& run, RowIds& ids) {
    const Transaction& tx = *run.tx;
    const ExecutionRow& row = tx.execution;

    // 1. The execution row first: it is the concurrency check, and on Conflict/AlreadyExists
    //    nothing has been written yet (no rollback needed: apply_unguarded counts on this).
    //    The run's number in this file (executions.id: the new row's rowid, or found by the
    //    run's names) keys its events and names it in its task and timer rows.
    int64_t run_number = 0;
    if (!tx.expected_next_event_id) {
      Statement s = writer->statement(kInsertExecution, "insert execution");
      bind_run_names(s, row.key);
      bind_execution_row(s, row);
      if (s.execute() == 0) return CommitResult::AlreadyExists;
      run_number = s.last_insert_rowid();
    } else {
      {
        Statement s = writer->statement(kSelectRunNumber, "find run number");
        bind_run_names(s, row.key);
        if (!s.step()) return CommitResult::Conflict;  // no such run: nobody's version matches
        run_number = s.integer(0);
      }
      Statement s = writer->statement(kUpdateExecution, "update execution");
      bind_execution_row(s, row);
      s.bind(12, *tx.expected_next_event_id);
      s.bind(13, *tx.expected_state_transition_count);
      s.bind(14, run_number);
      if (s.execute() == 0) return CommitResult::Conflict;
    }

    // 2. The events, one row for the batch. check_transaction() already proved their ids continue
    //    the stored history.
    if (!tx.events.empty()) {
      Statement s = writer->statement(kInsertBatch, "insert history batch");
      s.bind(1, run_number);
      s.bind(2, tx.events.front().event_id());
      s.bind(3, static_cast<int64_t>(tx.events.size()));
      s.bind_blob(4, run.batch);
      s.execute();
    }

    // 3. Tasks and timers. Removing an id that is not there is not an error: the engine may
    //    remove a task whose run was already cleaned up.
    for (const TaskRow& task : tx.add_tasks) {
      Statement s = writer->statement(kInsertTask, "insert task");
      s.bind(1, next_task_id);
      s.bind(2, static_cast<int64_t>(task.kind));
      s.bind(3, task.task_queue);
      s.bind(4, run_number);  // check_transaction(): every row belongs to this run
      s.bind(5, task.scheduled_event_id);
      s.bind(6, int64_t{task.attempt});
      s.bind(7, task.created_time_ms);
      s.execute();
      ids.task_ids.push_back(next_task_id++);
    }
    for (int64_t id : tx.remove_tasks) {
      Statement s = writer->statement(kDeleteTask, "delete task");
      s.bind(1, id);
      s.execute();
    }
    for (const TimerRow& timer : tx.add_timers) {
      Statement s = writer->statement(kInsertTimer, "insert timer");
      s.bind(1, next_timer_id);
      s.bind(2, timer.fire_time_ms);
      s.bind(3, static_cast<int64_t>(timer.kind));
      s.bind(4, run_number);
      s.bind(5, timer.event_id);
      s.bind(6, int64_t{timer.attempt});
      s.bind(7, timer.timer_id);
      s.execute();
      ids.timer_ids.push_back(next_timer_id++);
    }
    for (int64_t id : tx.remove_timers) {
      Statement s = writer->statement(kDeleteTimer, "delete timer");
      s.bind(1, id);
      s.execute();
    }
    return CommitResult::Ok;
  }

  // --- readers -------------------------------------------------------------------------------

  // Runs `read` on a pooled read connection. A connection is opened when all are busy; up to
  // kMaxIdleReaders are kept for reuse. The pool mutex is held only to take or return one, so
  // reads on different connections run in parallel (and beside the writer, thanks to WAL).
  template <class Read>
  auto with_reader(Read&& read) {
    std::unique_ptr<Connection> connection;
    {
      std::lock_guard lock(readers_mu);
      if (!idle_readers.empty()) {
        connection = std::move(idle_readers.back());
        idle_readers.pop_back();
      }
    }
    if (!connection) {
      connection = std::make_unique<Connection>(options, /*read_only=*/true);
    }
    struct GiveBack {
      Impl& impl;
      std::unique_ptr<Connection>& connection;
      ~GiveBack() {
        std::lock_guard lock(impl.readers_mu);
        if (impl.idle_readers.size() < kMaxIdleReaders) impl.idle_readers.push_back(std::move(connection));
      }
    } give_back{*this, connection};
    return read(*connection);
  }

  static constexpr size_t kMaxIdleReaders = 8;

  uint64_t queued() {
    std::lock_guard lock(queue_mu);
    return queue.size();
  }

  SqliteStoreOptions options;
  std::unique_ptr<Connection> writer;      // after construction, used by writer_thread only
  std::unique_ptr<RecentRunsCache> cache;  // null when options.recent_runs_cache_bytes is 0
  std::atomic<int> commit_threads_nice{0};
  std::atomic<uint64_t> cached_reads{0};
  std::atomic<uint64_t> database_reads{0};

  std::mutex readers_mu;
  std::vector<std::unique_ptr<Connection>> idle_readers;

  std::mutex queue_mu;
  std::condition_variable queue_cv;
  std::deque<Pending> queue;
  bool stopping = false;
  size_t gather_target = 0;  // > 0 while the writer waits out the commit delay for this many

  // The ids the next task and timer rows get (writer thread only, after the constructor).
  int64_t next_task_id = 1;
  int64_t next_timer_id = 1;

  std::atomic<uint64_t> submitted{0};
  std::atomic<uint64_t> transactions{0};
  std::atomic<uint64_t> commits{0};

  // Groups committed (or failed) whose callers the answerer has yet to answer, oldest first.
  std::mutex answer_mu;
  std::condition_variable answer_cv;
  std::deque<std::vector<Answer>> answer_queue;
  bool answer_stopping = false;  // set once the writer has stopped: answer what is left, then end

  std::thread answer_thread;
  std::thread writer_thread;  // last: started once everything above exists
};

// ---------------------------------------------------------------------------------------------

SqliteHistoryStore::SqliteHistoryStore(const SqliteStoreOptions& options) : impl_(std::make_unique<Impl>(options)) {}

SqliteHistoryStore::~SqliteHistoryStore() = default;

CommitResult SqliteHistoryStore::commit(Transaction& tx) {
  std::promise<CommitOutcome> answered;
  std::future<CommitOutcome> outcome = answered.get_future();
  commit_async(tx, [&answered](CommitOutcome o) { answered.set_value(std::move(o)); });
  CommitOutcome o = outcome.get();
  if (o.error) std::rethrow_exception(o.error);
  return o.result;
}

void SqliteHistoryStore::commit_async(Transaction& tx, CommitDone done) {
  // Everything that can be checked or prepared without the database happens here, on the
  // caller's thread, so the single writer thread only does what must be serialized.
  Pending pending;
  try {
    check_transaction(tx);
    for (Transaction* run = &tx; run != nullptr; run = run->successor.get()) {
      RunWrite& write = pending.runs.emplace_back(RunWrite{run, {}, {}});
      write.event_data.reserve(run->events.size());
      size_t batch_size = 0;
      for (const HistoryEvent& event : run->events) {
        std::string data;
        if (!event.SerializeToString(&data))
          throw std::invalid_argument("event " + std::to_string(event.event_id()) + " cannot be serialized");
        batch_size += framed_history_event_size(data.size());
        write.event_data.push_back(std::move(data));
      }
      write.batch.reserve(batch_size);
      for (const std::string& data : write.event_data) append_history_event(write.batch, data);
    }
  } catch (...) {
    return done(CommitOutcome{CommitResult::Ok, std::current_exception()});
  }
  pending.done = std::move(done);
  bool wake = false;
  {
    std::lock_guard lock(impl_->queue_mu);
    impl_->queue.push_back(std::move(pending));
    impl_->submitted.fetch_add(1, std::memory_order_relaxed);
    // A writer gathering a group is woken once the group is complete, not for every arrival.
    wake = impl_->gather_target == 0 || impl_->queue.size() >= impl_->gather_target;
  }
  if (wake) impl_->queue_cv.notify_one();
}

std::optional<ExecutionRow> SqliteHistoryStore::get_execution(const ExecutionKey& key) {
  if (impl_->cache) {
    if (auto row = impl_->cache->execution(key)) {
      impl_->cached_reads.fetch_add(1, std::memory_order_relaxed);
      return row;
    }
  }
  impl_->database_reads.fetch_add(1, std::memory_order_relaxed);
  return impl_->with_reader([&](Connection& c) -> std::optional<ExecutionRow> {
    Statement s = c.statement(kSelectExecution, "get execution");
    bind_run_names(s, key);
    if (!s.step()) return std::nullopt;
    return read_execution_row(s);
  });
}

std::optional<ExecutionRow> SqliteHistoryStore::get_current_execution(const std::string& namespace_,
                                                                      const std::string& workflow_id) {
  return impl_->with_reader([&](Connection& c) -> std::optional<ExecutionRow> {
    Statement s = c.statement(kSelectCurrentExecution, "get current execution");
    s.bind(1, namespace_);
    s.bind(2, workflow_id);
    if (!s.step()) return std::nullopt;
    return read_execution_row(s);
  });
}

std::vector<HistoryEvent> SqliteHistoryStore::read_events(const ExecutionKey& key, int64_t first_event_id,
                                                          int64_t max_count) {
  if (impl_->cache) {
    if (auto events = impl_->cache->events(key, first_event_id, max_count)) {
      impl_->cached_reads.fetch_add(1, std::memory_order_relaxed);
      return std::move(*events);
    }
  }
  impl_->database_reads.fetch_add(1, std::memory_order_relaxed);
  return impl_->with_reader([&](Connection& c) {
    Statement s = c.statement(kSelectBatches, "read events");
    bind_run_names(s, key);
    s.bind(4, first_event_id);
    std::vector<HistoryEvent> events;
    temporal::api::history::v1::History batch;
    while (s.step() && (max_count <= 0 || static_cast<int64_t>(events.size()) < max_count)) {
      if (!batch.ParseFromString(s.blob(1))) {
        throw StoreError("read events", SQLITE_CORRUPT,
                         "the batch of events from " + std::to_string(s.integer(0)) + " of " + key.workflow_id +
                             " does not decode as a History");
      }
      // The first batch may begin before first_event_id; the last may run past max_count.
      for (HistoryEvent& event : *batch.mutable_events()) {
        if (event.event_id() < first_event_id) continue;
        if (max_count > 0 && static_cast<int64_t>(events.size()) == max_count) break;
        events.push_back(std::move(event));
      }
    }
    return events;
  });
}

std::string SqliteHistoryStore::read_history_bytes(const ExecutionKey& key, int64_t first_event_id, int64_t max_count) {
  if (impl_->cache) {
    if (auto history = impl_->cache->history_bytes(key, first_event_id, max_count)) {
      impl_->cached_reads.fetch_add(1, std::memory_order_relaxed);
      return std::move(*history);
    }
  }
  // Not cached: through read_events, which decodes each row, so a damaged one is reported here, by
  // name, not left for a worker to choke on.
  return HistoryStore::read_history_bytes(key, first_event_id, max_count);
}

ListPage SqliteHistoryStore::list_executions(const ListFilter& filter) {
  const int64_t page_size = filter.page_size > 0 ? filter.page_size : 100;
  // One row more than the page: if it comes back, there is a further page.
  const std::string sql = "SELECT " REPRISE_EXECUTION_COLUMNS ", position FROM executions" + list_where(filter) +
                          " AND position < :after ORDER BY position DESC LIMIT :limit";
  return impl_->with_reader([&](Connection& c) {
    Statement s = c.statement(sql, "list executions");
    bind_list_filter(s, filter);
    s.bind(":after", filter.after > 0 ? filter.after : std::numeric_limits<int64_t>::max());
    s.bind(":limit", page_size + 1);
    ListPage page;
    int64_t last_position = 0;
    while (s.step()) {
      if (static_cast<int64_t>(page.executions.size()) == page_size) {
        page.next = last_position;
        break;
      }
      page.executions.push_back(read_execution_row(s));
      last_position = s.integer(11);
    }
    return page;
  });
}

int64_t SqliteHistoryStore::count_executions(const ListFilter& filter) {
  // Paging fields (page_size, after) do not apply to a count.
  const std::string sql = "SELECT COUNT(*) FROM executions" + list_where(filter);
  return impl_->with_reader([&](Connection& c) {
    Statement s = c.statement(sql, "count executions");
    bind_list_filter(s, filter);
    s.step();
    return s.integer(0);
  });
}

std::vector<TaskRow> SqliteHistoryStore::load_tasks() {
  return impl_->with_reader([&](Connection& c) {
    Statement s = c.statement(kSelectTasks, "load tasks");
    std::vector<TaskRow> tasks;
    while (s.step()) {
      TaskRow& t = tasks.emplace_back();
      t.id = s.integer(0);
      t.kind = static_cast<TaskKind>(s.integer(1));
      t.task_queue = s.text(2);
      t.execution = ExecutionKey{s.text(3), s.text(4), s.text(5)};
      t.scheduled_event_id = s.integer(6);
      t.attempt = static_cast<int32_t>(s.integer(7));
      t.created_time_ms = s.integer(8);
    }
    return tasks;
  });
}

std::vector<TimerRow> SqliteHistoryStore::load_timers() {
  return impl_->with_reader([&](Connection& c) {
    Statement s = c.statement(kSelectTimers, "load timers");
    std::vector<TimerRow> timers;
    while (s.step()) {
      TimerRow& t = timers.emplace_back();
      t.id = s.integer(0);
      t.fire_time_ms = s.integer(1);
      t.kind = static_cast<TimerKind>(s.integer(2));
      t.execution = ExecutionKey{s.text(3), s.text(4), s.text(5)};
      t.event_id = s.integer(6);
      t.attempt = static_cast<int32_t>(s.integer(7));
      t.timer_id = s.text(8);
    }
    return timers;
  });
}

StoreStats SqliteHistoryStore::stats() const {
  return StoreStats{
      impl_->submitted.load(std::memory_order_relaxed),    impl_->transactions.load(std::memory_order_relaxed),
      impl_->commits.load(std::memory_order_relaxed),      impl_->queued(),
      impl_->cached_reads.load(std::memory_order_relaxed), impl_->database_reads.load(std::memory_order_relaxed)};
}

int SqliteHistoryStore::commit_threads_nice() const { return impl_->commit_threads_nice.load(); }

std::unique_ptr<HistoryStore> open_sqlite_store(const SqliteStoreOptions& options) {
  return std::make_unique<SqliteHistoryStore>(options);
}

}  // namespace reprise::history
