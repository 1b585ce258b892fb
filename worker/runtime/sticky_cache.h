// The sticky cache: workflow runs kept in a worker's memory between workflow tasks.
//
// Without it, every workflow task replays the workflow from event 1: a workflow of N steps costs
// O(N^2) work in total. With it, a run that answered the previous task is still here, so the next
// task applies only the events since then: O(N) in total. The server cooperates by sending a cached
// run's next tasks to this worker's sticky queue with only the new events (engine/workflow_tasks.cpp).
// The cache is an LRU of bounded size; an evicted run is simply replayed in full next time, which is
// always correct, only slower. A run is checked out while a task is being answered, so no two threads
// ever touch one run: should the run's next task reach another poller while the previous one is
// still being answered, that poller waits for the run instead of replaying from scratch. (The run is
// put back before the answer is sent, so such a wait is short.)
// Exercised by tests/worker/runtime_test.cpp ("sticky and evicted ... identical").
#pragma once

#include <condition_variable>
#include <list>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>
#include <unordered_set>

#include "reprise/workflow_run.h"

namespace reprise::detail {

class StickyCache {
 public:
  explicit StickyCache(std::size_t capacity) : capacity_(capacity) {}

  // Checks the run id out and returns its run, or nullptr if it is not cached. Waits while another
  // thread has the same run id checked out. The caller must put() or release() the id afterwards.
  std::unique_ptr<WorkflowRun> take(const std::string& run_id) {
    std::unique_lock lock(mu_);
    returned_.wait(lock, [&] { return !checked_out_.contains(run_id); });
    checked_out_.insert(run_id);
    auto it = index_.find(run_id);
    if (it == index_.end()) return nullptr;
    auto run = std::move(it->second->second);
    lru_.erase(it->second);
    index_.erase(it);
    return run;
  }

  // Checks the run id back in without a run (it closed, failed, or could not be answered).
  void release(const std::string& run_id) {
    {
      std::lock_guard lock(mu_);
      checked_out_.erase(run_id);
    }
    returned_.notify_all();
  }

  // Checks a run back in as the most recently used; drops the least recently used beyond capacity.
  void put(const std::string& run_id, std::unique_ptr<WorkflowRun> run) {
    if (capacity_ == 0) return release(run_id);
    std::unique_ptr<WorkflowRun> evicted;  // destroyed outside the lock
    std::unique_lock lock(mu_);
    // Checked out by this caller, the run is not in the LRU: only its holder ever puts it back.
    checked_out_.erase(run_id);
    lru_.emplace_front(run_id, std::move(run));
    index_[run_id] = lru_.begin();
    if (lru_.size() > capacity_) {
      evicted = std::move(lru_.back().second);
      index_.erase(lru_.back().first);
      lru_.pop_back();
    }
    lock.unlock();
    returned_.notify_all();
  }

  std::size_t size() {
    std::lock_guard lock(mu_);
    return lru_.size();
  }
  void clear() {
    std::list<std::pair<std::string, std::unique_ptr<WorkflowRun>>> all;
    std::lock_guard lock(mu_);
    all.swap(lru_);
    index_.clear();
  }

 private:
  std::size_t capacity_;
  std::mutex mu_;
  std::list<std::pair<std::string, std::unique_ptr<WorkflowRun>>> lru_;
  std::unordered_map<std::string, std::list<std::pair<std::string, std::unique_ptr<WorkflowRun>>>::iterator> index_;
  std::unordered_set<std::string> checked_out_;  // run ids some thread is answering a task for
  std::condition_variable returned_;
};

}  // namespace reprise::detail
