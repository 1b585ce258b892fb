// FaultInjectingStore: forwards to the inner store, failing armed commits before or after the write.
// Exercised by tests/history/store_fault_injection_test.cpp.
#include "history/fault_injecting_store.h"

#include <utility>

namespace reprise::history {

FaultInjectingStore::FaultInjectingStore(std::shared_ptr<HistoryStore> inner) : inner_(std::move(inner)) {}

void FaultInjectingStore::fail_next_commit_before_write(int times) { before_write_armed_ += times; }
void FaultInjectingStore::fail_next_commit_after_write(int times) { after_write_armed_ += times; }

FaultInjectingStore::Counters FaultInjectingStore::counters() const {
  return Counters{commits_.load(), failed_before_write_.load(), failed_after_write_.load()};
}

bool FaultInjectingStore::take(std::atomic<int>& armed) {
  // A compare-and-swap loop rather than `armed-- > 0`, so that two threads racing for the last
  // armed fault cannot both take it (or drive the count below zero).
  int n = armed.load();
  while (n > 0) {
    if (armed.compare_exchange_weak(n, n - 1)) return true;
  }
  return false;
}

CommitResult FaultInjectingStore::commit(Transaction& tx) {
  ++commits_;
  if (take(before_write_armed_)) {
    ++failed_before_write_;
    throw InjectedFault("injected fault: commit failed before anything was written");
  }
  const CommitResult result = inner_->commit(tx);
  if (take(after_write_armed_)) {
    // The inner store has answered `result` (usually Ok: the data is there); the caller never
    // learns it, as when the process dies between the write and the reply.
    ++failed_after_write_;
    throw InjectedFault("injected fault: commit written, then the acknowledgement was lost");
  }
  return result;
}

std::optional<ExecutionRow> FaultInjectingStore::get_execution(const ExecutionKey& key) {
  return inner_->get_execution(key);
}
std::optional<ExecutionRow> FaultInjectingStore::get_current_execution(const std::string& namespace_,
                                                                       const std::string& workflow_id) {
  return inner_->get_current_execution(namespace_, workflow_id);
}
std::vector<HistoryEvent> FaultInjectingStore::read_events(const ExecutionKey& key, int64_t first_event_id,
                                                           int64_t max_count) {
  return inner_->read_events(key, first_event_id, max_count);
}
std::string FaultInjectingStore::read_history_bytes(const ExecutionKey& key, int64_t first_event_id,
                                                    int64_t max_count) {
  return inner_->read_history_bytes(key, first_event_id, max_count);
}
ListPage FaultInjectingStore::list_executions(const ListFilter& filter) { return inner_->list_executions(filter); }
int64_t FaultInjectingStore::count_executions(const ListFilter& filter) { return inner_->count_executions(filter); }
std::vector<TaskRow> FaultInjectingStore::load_tasks() { return inner_->load_tasks(); }
std::vector<TimerRow> FaultInjectingStore::load_timers() { return inner_->load_timers(); }

}  // namespace reprise::history
