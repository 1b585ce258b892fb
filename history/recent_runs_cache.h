// RecentRunsCache: the latest execution row and the history of the runs written most recently,
// kept in memory beside the SQLite file.
//
// Most reads follow a write closely: a sticky workflow task carries the events its run's last
// commit appended, an activity task carries the input of its ActivityTaskScheduled event, and a
// client waiting for a result reads the close event the moment it is written. Each of those was a
// trip through a pooled SQLite connection (a read transaction, B-tree pages read again because
// another connection wrote them, every event decoded from its row). Temporal's history service
// keeps the same kind of cache of the events it has just written (its "events cache").
//
// The cache is filled only by the writer thread, after the COMMIT that made the data durable, so
// it never holds what the database does not; a run enters it when it is written, and the runs
// written longest ago leave it first (least recently used, within a byte budget). A run's events
// are always the unbroken tail of its history, up to its last committed event, so "from event N
// to the end" can be answered from memory whenever N is inside that tail.
//
// Used by SqliteHistoryStore (sqlite_history_store.cpp); exercised by
// tests/history/recent_runs_cache_test.cpp and, through the store, store_conformance_test.cpp.
#pragma once

#include <cstddef>
#include <cstdint>
#include <deque>
#include <list>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "history/history_store.h"

namespace reprise::history {

class RecentRunsCache {
 public:
  struct Limits {
    size_t max_bytes = 16 << 20;       // rows and serialized events of all cached runs together
    size_t max_events_per_run = 2048;  // a longer history keeps only its last events here
  };

  explicit RecentRunsCache(Limits limits);

  // One run's part of a durable commit: the row as it now is and the events appended to the run,
  // serialized, in id order (they end at row.next_event_id - 1). `new_run`: the commit created it.
  void committed(const ExecutionRow& row, std::vector<std::string> event_data, bool new_run);

  // The run's latest row, if the run is cached.
  std::optional<ExecutionRow> execution(const ExecutionKey& key);

  // Up to max_count events (0: all) from first_event_id to the end of the run's history, if the
  // cache holds the history from first_event_id on; nullopt sends the caller to the database.
  std::optional<std::vector<HistoryEvent>> events(const ExecutionKey& key, int64_t first_event_id, int64_t max_count);
  // The same events as a serialized History message (history_bytes.h), copied from the stored
  // bytes under the lock without decoding any of them.
  std::optional<std::string> history_bytes(const ExecutionKey& key, int64_t first_event_id, int64_t max_count);

  size_t runs();
  size_t bytes();

 private:
  struct Entry {
    ExecutionRow row;
    int64_t first_event_id = 1;                    // id of events.front()
    std::deque<std::string> events;                // serialized, ids first_event_id .. row.next_event_id - 1
    size_t event_bytes = 0;                        // events' share of bytes
    size_t bytes = 0;                              // what the entry counts against the budget, row and events
    std::list<const ExecutionKey*>::iterator lru;  // position in lru_ (front: most recent)
  };

  void touch(Entry& entry);
  // Calls fn(events, from, to) under the lock with the stored events from first_event_id on (at
  // most max_count; 0: all): events[from, to). False if the cache does not hold the history from
  // first_event_id on.
  template <class Fn>
  bool visit_events(const ExecutionKey& key, int64_t first_event_id, int64_t max_count, Fn fn);
  void evict_until_within_budget();
  static size_t row_bytes(const ExecutionRow& row);

  const Limits limits_;
  std::mutex mu_;
  std::unordered_map<ExecutionKey, Entry, ExecutionKeyHash> entries_;
  std::list<const ExecutionKey*> lru_;  // keys of entries_, most recently written or read first
  size_t bytes_ = 0;
};

}  // namespace reprise::history
