// RecentRunsCache on its own (what it holds, what it answers, what it gives up), then through the
// SQLite store: reads that follow a commit are answered from memory, and say so in the stats.
#include "history/recent_runs_cache.h"

#include <catch2/catch.hpp>
#include <chrono>
#include <iostream>

#include "tests/history/store_test_support.h"

using namespace reprise::history;
using namespace reprise::history::testing;

namespace {

// The row and serialized events of a commit of `tx`, as the writer thread hands them over.
std::vector<std::string> serialized(const Transaction& tx) {
  std::vector<std::string> data;
  for (const HistoryEvent& e : tx.events) data.push_back(e.SerializeAsString());
  return data;
}

std::vector<int64_t> ids(const std::vector<HistoryEvent>& events) {
  std::vector<int64_t> out;
  for (const HistoryEvent& e : events) out.push_back(e.event_id());
  return out;
}

// Run "greet": events 1-3 in a first commit, 4-5 (task id 7) in a second; returns the second.
Transaction commit_greet(RecentRunsCache& cache) {
  Transaction start = start_run(key("greet"), 3);
  cache.committed(start.execution, serialized(start), /*new_run=*/true);
  Transaction next = append(start.execution, 2, /*marker=*/7);
  cache.committed(next.execution, serialized(next), false);
  return next;
}

}  // namespace

TEST_CASE("A cached run answers for its latest row and any tail of its history", "[cache]") {
  RecentRunsCache cache({});
  const Transaction next = commit_greet(cache);

  auto row = cache.execution(key("greet"));
  REQUIRE(row);
  CHECK(row->next_event_id == 6);
  CHECK(row->state == next.execution.state);

  auto all = cache.events(key("greet"), 1, 0);
  REQUIRE(all);
  CHECK(ids(*all) == std::vector<int64_t>{1, 2, 3, 4, 5});
  CHECK((*all)[3].task_id() == 7);  // the appended events, not copies of the first ones
  CHECK((*all)[0].event_type() == enums::EVENT_TYPE_WORKFLOW_EXECUTION_STARTED);

  auto some = cache.events(key("greet"), 2, 2);
  REQUIRE(some);
  CHECK(ids(*some) == std::vector<int64_t>{2, 3});

  auto past_the_end = cache.events(key("greet"), 6, 0);  // nothing written yet: empty, as SQLite says
  REQUIRE(past_the_end);
  CHECK(past_the_end->empty());

  CHECK_FALSE(cache.execution(key("other")));
  CHECK_FALSE(cache.events(key("other"), 1, 0));
}

TEST_CASE("The cache answers with a history's bytes what it answers with its events", "[cache]") {
  RecentRunsCache cache({});
  commit_greet(cache);

  auto decoded = [&](int64_t first, int64_t max_count) {
    auto bytes = cache.history_bytes(key("greet"), first, max_count);
    REQUIRE(bytes);
    temporal::api::history::v1::History history;
    REQUIRE(history.ParseFromString(*bytes));
    return ids({history.events().begin(), history.events().end()});
  };
  CHECK(decoded(1, 0) == std::vector<int64_t>{1, 2, 3, 4, 5});
  CHECK(decoded(2, 2) == std::vector<int64_t>{2, 3});
  CHECK(decoded(5, 9) == std::vector<int64_t>{5});
  CHECK(decoded(6, 0).empty());  // nothing written yet
  CHECK(decoded(9, 2).empty());  // further past the end: empty too, as SQLite says
  CHECK(cache.events(key("greet"), 9, 2)->empty());
  CHECK_FALSE(cache.history_bytes(key("other"), 1, 0));
}

TEST_CASE("A run first written after it was evicted is cached from that commit's events on", "[cache]") {
  RecentRunsCache cache({});
  Transaction start = start_run(key("greet"), 7);
  Transaction next = append(start.execution, 2);  // events 8 and 9, as if 1-7 had been evicted
  cache.committed(next.execution, serialized(next), /*new_run=*/false);

  auto tail = cache.events(key("greet"), 8, 0);
  REQUIRE(tail);
  CHECK(ids(*tail) == std::vector<int64_t>{8, 9});
  CHECK_FALSE(cache.events(key("greet"), 7, 0));  // before the tail: the caller asks the database
  CHECK_FALSE(cache.events(key("greet"), 1, 1));
}

TEST_CASE("A long history keeps only its last events in the cache", "[cache]") {
  RecentRunsCache cache({.max_events_per_run = 3});
  Transaction start = start_run(key("greet"), 5);
  cache.committed(start.execution, serialized(start), true);
  auto tail = cache.events(key("greet"), 3, 0);
  REQUIRE(tail);
  CHECK(ids(*tail) == std::vector<int64_t>{3, 4, 5});
  CHECK_FALSE(cache.events(key("greet"), 2, 0));
}

TEST_CASE("Over its byte budget the cache lets go of the run used longest ago", "[cache]") {
  // Room for about two of these runs.
  Transaction a = start_run(key("a"), 2), b = start_run(key("b"), 2), c = start_run(key("c"), 2);
  RecentRunsCache probe({});
  probe.committed(a.execution, serialized(a), true);
  RecentRunsCache cache({.max_bytes = probe.bytes() * 2 + probe.bytes() / 2});

  cache.committed(a.execution, serialized(a), true);
  cache.committed(b.execution, serialized(b), true);
  REQUIRE(cache.runs() == 2);
  CHECK(cache.execution(key("a")));  // a read makes "a" the most recently used
  cache.committed(c.execution, serialized(c), true);
  CHECK(cache.runs() == 2);
  CHECK(cache.execution(key("a")));
  CHECK_FALSE(cache.execution(key("b")));
  CHECK(cache.execution(key("c")));
  CHECK(cache.bytes() <= probe.bytes() * 2 + probe.bytes() / 2);
}

TEST_CASE("A commit whose events do not end at its row's next event id is not cached", "[cache]") {
  RecentRunsCache cache({});
  Transaction start = start_run(key("greet"), 3);
  start.execution.next_event_id = 10;  // a row that claims more history than the events give
  cache.committed(start.execution, serialized(start), true);
  CHECK(cache.runs() == 0);
  CHECK(cache.bytes() == 0);
  CHECK_FALSE(cache.events(key("greet"), 1, 0));
}

TEST_CASE("The SQLite store answers reads that follow a commit from the cache, and only Ok commits enter it",
          "[cache][sqlite]") {
  TempDir dir;
  SqliteHistoryStore store(SqliteStoreOptions{dir.file("history.db"), SqliteStoreOptions::Synchronous::Full});
  Transaction start = start_run(key("greet"), 2);
  REQUIRE(store.commit(start) == CommitResult::Ok);
  Transaction next = append(start.execution, 1, 5);
  REQUIRE(store.commit(next) == CommitResult::Ok);
  Transaction stale = append(start.execution, 1, 9);  // written against the first version: Conflict
  REQUIRE(store.commit(stale) == CommitResult::Conflict);

  const StoreStats before = store.stats();
  auto row = store.get_execution(key("greet"));
  REQUIRE(row);
  CHECK(row->state == next.execution.state);  // not the conflicting commit's
  auto events = store.read_events(key("greet"), 2);
  CHECK(ids(events) == std::vector<int64_t>{2, 3});
  CHECK(events[1].task_id() == 5);
  const StoreStats after = store.stats();
  CHECK(after.cached_reads - before.cached_reads == 2);
  CHECK(after.database_reads == before.database_reads);

  // A run the cache does not hold is looked up in the file (where it does not exist either).
  CHECK_FALSE(store.get_execution(key("nobody")));
  CHECK(store.stats().database_reads == after.database_reads + 1);
}

TEST_CASE("With the cache off, and after a restart, the SQLite store reads from the file", "[cache][sqlite]") {
  TempDir dir;
  SqliteStoreOptions options{dir.file("history.db"), SqliteStoreOptions::Synchronous::Full};
  Transaction start = start_run(key("greet"), 2);
  {
    SqliteHistoryStore store(options);
    REQUIRE(store.commit(start) == CommitResult::Ok);
  }
  SECTION("after a restart") {
    SqliteHistoryStore store(options);
    CHECK(ids(store.read_events(key("greet"), 1)) == std::vector<int64_t>{1, 2});
    CHECK(store.stats().database_reads == 1);
    CHECK(store.stats().cached_reads == 0);
  }
  SECTION("cache off") {
    options.recent_runs_cache_bytes = 0;
    SqliteHistoryStore store(options);
    Transaction next = append(start.execution, 1);
    REQUIRE(store.commit(next) == CommitResult::Ok);
    CHECK(ids(store.read_events(key("greet"), 3)) == std::vector<int64_t>{3});
    CHECK(store.get_execution(key("greet"))->next_event_id == 4);
    CHECK(store.stats().database_reads == 2);
    CHECK(store.stats().cached_reads == 0);
  }
}

// What one read costs from the cache and from the file: the figure behind the cache in
// bench/README.md. Hidden from normal runs:  reprise_history_store_tests "[bench]"
TEST_CASE("Reading a run's new events: recent-runs cache against SQLite", "[.][bench]") {
  for (size_t cache_bytes : {size_t{0}, size_t{16 << 20}}) {
    TempDir dir;
    SqliteStoreOptions options{dir.file("history.db"), SqliteStoreOptions::Synchronous::Off};
    options.recent_runs_cache_bytes = cache_bytes;
    SqliteHistoryStore store(options);
    constexpr int kRuns = 256;
    std::vector<ExecutionRow> rows;
    for (int r = 0; r < kRuns; ++r) {
      Transaction start = start_run(key("run-" + std::to_string(r)), 3);
      REQUIRE(store.commit(start) == CommitResult::Ok);
      Transaction next = append(start.execution, 20);
      REQUIRE(store.commit(next) == CommitResult::Ok);
      rows.push_back(next.execution);
    }
    constexpr int kReads = 20000;
    const auto begin = std::chrono::steady_clock::now();
    size_t events = 0;
    for (int i = 0; i < kReads; ++i) {
      const ExecutionRow& row = rows[i % kRuns];
      events += store.read_events(row.key, row.next_event_id - 3).size();  // a sticky task's 3 new events
      events += store.get_execution(row.key) ? 1 : 0;
    }
    const double us = std::chrono::duration<double, std::micro>(std::chrono::steady_clock::now() - begin).count();
    CHECK(events == size_t{kReads} * 4);
    std::cout << (cache_bytes ? "cache:  " : "SQLite: ") << us / kReads << " us per read_events + get_execution\n";
  }
}
