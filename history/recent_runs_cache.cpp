// The recently written runs (see recent_runs_cache.h).
#include "history/recent_runs_cache.h"

#include <algorithm>
#include <stdexcept>
#include <utility>

#include "history/history_bytes.h"

namespace reprise::history {

namespace {
// What an entry costs beside its strings (map node, list node, deque blocks), roughly.
constexpr size_t kEntryOverhead = 256;
constexpr size_t kEventOverhead = 32;
}  // namespace

RecentRunsCache::RecentRunsCache(Limits limits) : limits_(limits) {}

size_t RecentRunsCache::row_bytes(const ExecutionRow& row) {
  return kEntryOverhead + row.key.namespace_.size() + row.key.workflow_id.size() + row.key.run_id.size() +
         row.workflow_type.size() + row.task_queue.size() + row.state.size();
}

void RecentRunsCache::touch(Entry& entry) { lru_.splice(lru_.begin(), lru_, entry.lru); }

void RecentRunsCache::committed(const ExecutionRow& row, std::vector<std::string> event_data, bool new_run) {
  std::lock_guard lock(mu_);
  auto it = entries_.find(row.key);
  if (it == entries_.end()) {
    it = entries_.emplace(row.key, Entry{}).first;
    // A run seen for the first time (new, or written again after it was evicted) is cached from
    // the first event of this commit on: the tail of its history, as every entry is.
    it->second.first_event_id = new_run ? 1 : row.next_event_id - static_cast<int64_t>(event_data.size());
    lru_.push_front(&it->first);
    it->second.lru = lru_.begin();
  } else {
    touch(it->second);
  }
  Entry& entry = it->second;
  entry.row = row;
  for (std::string& data : event_data) {
    entry.event_bytes += data.size() + kEventOverhead;
    entry.events.push_back(std::move(data));
  }
  while (entry.events.size() > limits_.max_events_per_run) {
    entry.event_bytes -= entry.events.front().size() + kEventOverhead;
    entry.events.pop_front();
    ++entry.first_event_id;
  }
  bytes_ -= entry.bytes;  // 0 for a new entry
  entry.bytes = row_bytes(entry.row) + entry.event_bytes;
  bytes_ += entry.bytes;
  // The store checks that a commit's events continue the run's history exactly where the stored
  // row said it ended, and this entry mirrors that row; a tail that does not end at the row's last
  // event would be a bug here, and a stale answer is worse than a database read.
  if (entry.first_event_id + static_cast<int64_t>(entry.events.size()) != row.next_event_id) {
    bytes_ -= entry.bytes;
    lru_.erase(entry.lru);
    entries_.erase(it);
  }
  evict_until_within_budget();
}

void RecentRunsCache::evict_until_within_budget() {
  while (bytes_ > limits_.max_bytes && !lru_.empty()) {
    auto it = entries_.find(*lru_.back());
    bytes_ -= it->second.bytes;
    lru_.pop_back();
    entries_.erase(it);
  }
}

std::optional<ExecutionRow> RecentRunsCache::execution(const ExecutionKey& key) {
  std::lock_guard lock(mu_);
  auto it = entries_.find(key);
  if (it == entries_.end()) return std::nullopt;
  touch(it->second);
  return it->second.row;
}

template <class Fn>
bool RecentRunsCache::visit_events(const ExecutionKey& key, int64_t first_event_id, int64_t max_count, Fn fn) {
  std::lock_guard lock(mu_);
  auto it = entries_.find(key);
  if (it == entries_.end() || first_event_id < it->second.first_event_id) return false;
  Entry& entry = it->second;
  touch(entry);
  // Past the end (nothing new yet) is an empty range at the end.
  const size_t from = std::min(static_cast<size_t>(first_event_id - entry.first_event_id), entry.events.size());
  size_t to = entry.events.size();
  if (max_count > 0) to = std::min(to, from + static_cast<size_t>(max_count));
  fn(entry.events, from, to);
  return true;
}

std::optional<std::string> RecentRunsCache::history_bytes(const ExecutionKey& key, int64_t first_event_id,
                                                          int64_t max_count) {
  std::string history;
  auto frame = [&](const std::deque<std::string>& events, size_t from, size_t to) {
    size_t size = 0;
    for (size_t i = from; i < to; ++i) size += framed_history_event_size(events[i].size());
    history.reserve(size);
    for (size_t i = from; i < to; ++i) append_history_event(history, events[i]);
  };
  if (!visit_events(key, first_event_id, max_count, frame)) return std::nullopt;
  return history;
}

std::optional<std::vector<HistoryEvent>> RecentRunsCache::events(const ExecutionKey& key, int64_t first_event_id,
                                                                 int64_t max_count) {
  std::vector<std::string> copies;
  auto copy = [&](const std::deque<std::string>& events, size_t from, size_t to) {
    copies.assign(events.begin() + static_cast<std::ptrdiff_t>(from), events.begin() + static_cast<std::ptrdiff_t>(to));
  };
  if (!visit_events(key, first_event_id, max_count, copy)) return std::nullopt;
  // Decoded outside the lock: the writer thread must never wait for a reader's parsing.
  std::vector<HistoryEvent> events(copies.size());
  for (size_t i = 0; i < copies.size(); ++i) {
    if (!events[i].ParseFromString(copies[i])) {
      throw std::runtime_error("recent runs cache: event " + std::to_string(first_event_id + static_cast<int64_t>(i)) +
                               " of " + key.workflow_id + " does not decode as a HistoryEvent");
    }
  }
  return events;
}

size_t RecentRunsCache::runs() {
  std::lock_guard lock(mu_);
  return entries_.size();
}

size_t RecentRunsCache::bytes() {
  std::lock_guard lock(mu_);
  return bytes_;
}

}  // namespace reprise::history
