// MemoryHistoryStore: the HistoryStore contract as plain maps behind one mutex (not durable).
// Exercised by tests/history/store_conformance_test.cpp.
#include "history/memory_history_store.h"

#include <algorithm>
#include <stdexcept>
#include <string>

namespace reprise::history {

void check_transaction(const Transaction& tx) {
  if (tx.expected_next_event_id.has_value() != tx.expected_state_transition_count.has_value()) {
    throw std::invalid_argument(
        "transaction sets only one of expected_next_event_id / expected_state_transition_count");
  }
  // A new run starts its history at event 1; an existing one continues where the caller last saw
  // it. If that view is stale the store answers Conflict later; the shape is checked here.
  const int64_t old_next = tx.expected_next_event_id.value_or(1);
  int64_t want = old_next;
  for (const HistoryEvent& event : tx.events) {
    if (event.event_id() != want) {
      throw std::invalid_argument("event id " + std::to_string(event.event_id()) + " where " + std::to_string(want) +
                                  " was expected (events must be contiguous)");
    }
    ++want;
  }
  if (want != tx.execution.next_event_id) {
    throw std::invalid_argument("execution.next_event_id is " + std::to_string(tx.execution.next_event_id) +
                                " but the events end at " + std::to_string(want - 1));
  }
  // A transaction adds rows for its own run only (a successor's rows go in the successor).
  auto check_own_run = [&](const ExecutionKey& row_run, const char* what) {
    if (row_run != tx.execution.key)
      throw std::invalid_argument(std::string(what) + " for run " + row_run.run_id + " added in a transaction of run " +
                                  tx.execution.key.run_id);
  };
  for (const TaskRow& task : tx.add_tasks) check_own_run(task.execution, "task");
  for (const TimerRow& timer : tx.add_timers) check_own_run(timer.execution, "timer");
  if (tx.successor) {
    if (tx.successor->expected_next_event_id || tx.successor->successor)
      throw std::invalid_argument("a successor must be a new run without a successor of its own");
    if (tx.successor->execution.key == tx.execution.key)
      throw std::invalid_argument("a run cannot be its own successor");
    check_transaction(*tx.successor);
  }
}

namespace {

bool matches(const ExecutionRow& row, const ListFilter& filter) {
  return row.key.namespace_ == filter.namespace_ && (!filter.status || row.status == *filter.status) &&
         (!filter.workflow_type || row.workflow_type == *filter.workflow_type) &&
         (!filter.workflow_id || row.key.workflow_id == *filter.workflow_id);
}

}  // namespace

CommitResult MemoryHistoryStore::commit(Transaction& tx) {
  check_transaction(tx);
  std::lock_guard lock(mu_);

  // 1. The concurrency check: decide Ok / Conflict / AlreadyExists before changing anything.
  if (CommitResult result = check_locked(tx); result != CommitResult::Ok) return result;
  if (tx.successor && runs_.contains(tx.successor->execution.key)) return CommitResult::AlreadyExists;

  // 2. Apply. Nothing below can fail for a reason the caller controls, so all-or-nothing holds.
  apply_locked(tx);
  if (tx.successor) apply_locked(*tx.successor);
  return CommitResult::Ok;
}

CommitResult MemoryHistoryStore::check_locked(const Transaction& tx) const {
  auto it = runs_.find(tx.execution.key);
  const bool is_new = !tx.expected_next_event_id.has_value();
  if (is_new) return it == runs_.end() ? CommitResult::Ok : CommitResult::AlreadyExists;
  // A run that does not exist cannot be at the expected version either: Conflict.
  if (it == runs_.end() || it->second.row.next_event_id != *tx.expected_next_event_id ||
      it->second.row.state_transition_count != *tx.expected_state_transition_count) {
    return CommitResult::Conflict;
  }
  return CommitResult::Ok;
}

void MemoryHistoryStore::apply_locked(Transaction& tx) {
  auto it = runs_.find(tx.execution.key);
  if (it == runs_.end()) {
    Run run;
    run.position = ++last_position_;
    it = runs_.emplace(tx.execution.key, std::move(run)).first;
    by_position_.emplace(it->second.position, tx.execution.key);
  }
  Run& run = it->second;
  run.row = tx.execution;
  run.events.insert(run.events.end(), tx.events.begin(), tx.events.end());
  for (TaskRow& task : tx.add_tasks) {
    task.id = ++last_task_id_;
    tasks_[task.id] = task;
  }
  for (int64_t id : tx.remove_tasks) tasks_.erase(id);  // removing an absent id is not an error
  for (TimerRow& timer : tx.add_timers) {
    timer.id = ++last_timer_id_;
    timers_[timer.id] = timer;
  }
  for (int64_t id : tx.remove_timers) timers_.erase(id);
}

std::optional<ExecutionRow> MemoryHistoryStore::get_execution(const ExecutionKey& key) {
  std::lock_guard lock(mu_);
  auto it = runs_.find(key);
  if (it == runs_.end()) return std::nullopt;
  return it->second.row;
}

std::optional<ExecutionRow> MemoryHistoryStore::get_current_execution(const std::string& namespace_,
                                                                      const std::string& workflow_id) {
  std::lock_guard lock(mu_);
  // runs_ is ordered by (namespace, workflow id, run id): the runs of one workflow are adjacent.
  const Run* newest = nullptr;
  for (auto it = runs_.lower_bound(ExecutionKey{namespace_, workflow_id, ""});
       it != runs_.end() && it->first.namespace_ == namespace_ && it->first.workflow_id == workflow_id; ++it) {
    if (newest == nullptr || it->second.position > newest->position) newest = &it->second;
  }
  if (newest == nullptr) return std::nullopt;
  return newest->row;
}

std::vector<HistoryEvent> MemoryHistoryStore::read_events(const ExecutionKey& key, int64_t first_event_id,
                                                          int64_t max_count) {
  std::lock_guard lock(mu_);
  auto it = runs_.find(key);
  if (it == runs_.end()) return {};
  const std::vector<HistoryEvent>& events = it->second.events;
  const int64_t total = static_cast<int64_t>(events.size());
  const int64_t begin = std::clamp<int64_t>(first_event_id - 1, 0, total);
  const int64_t end = max_count > 0 ? std::min(total, begin + max_count) : total;
  return {events.begin() + begin, events.begin() + end};
}

ListPage MemoryHistoryStore::list_executions(const ListFilter& filter) {
  std::lock_guard lock(mu_);
  const size_t page_size = filter.page_size > 0 ? static_cast<size_t>(filter.page_size) : 100;
  ListPage page;
  int64_t last_position = 0;
  // Walk positions downwards from just below `after` (or from the newest run).
  auto it = filter.after > 0 ? by_position_.lower_bound(filter.after) : by_position_.end();
  while (it != by_position_.begin()) {
    --it;
    const Run& run = runs_.at(it->second);
    if (!matches(run.row, filter)) continue;
    if (page.executions.size() == page_size) {
      // A further matching run exists: hand out a token that continues below the last one shown.
      page.next = last_position;
      break;
    }
    page.executions.push_back(run.row);
    last_position = it->first;
  }
  return page;
}

int64_t MemoryHistoryStore::count_executions(const ListFilter& filter) {
  std::lock_guard lock(mu_);
  // Paging fields (page_size, after) do not apply to a count.
  return std::count_if(runs_.begin(), runs_.end(),
                       [&](const auto& entry) { return matches(entry.second.row, filter); });
}

std::vector<TaskRow> MemoryHistoryStore::load_tasks() {
  std::lock_guard lock(mu_);
  std::vector<TaskRow> out;
  for (const auto& [id, task] : tasks_) out.push_back(task);
  return out;
}

std::vector<TimerRow> MemoryHistoryStore::load_timers() {
  std::lock_guard lock(mu_);
  std::vector<TimerRow> out;
  for (const auto& [id, timer] : timers_) out.push_back(timer);
  std::stable_sort(out.begin(), out.end(),
                   [](const TimerRow& a, const TimerRow& b) { return a.fire_time_ms < b.fire_time_ms; });
  return out;
}

}  // namespace reprise::history
