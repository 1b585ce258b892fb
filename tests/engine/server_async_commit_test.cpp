// The RPCs every workflow step makes (here RespondActivityTaskCompleted) commit without a thread
// waiting for the store (update_run_async, engine/update_run.h): while their commits are held back,
// every other request is still served, except a request on one of those workflows, which waits for
// its turn (engine/workflow_turn.h) and then sees the committed change. A GatedStore stands in for
// a store whose fsync is slow: it holds commit_async's transactions until the test opens the gate.
#include <future>

#include "test_server.h"

using namespace reprise::testing;
using reprise::history::CommitDone;
using reprise::history::CommitOutcome;
using reprise::history::Transaction;

namespace {

// A memory store whose commit_async waits at a gate; opening it commits what waited, in order, on
// a thread of its own (as the SQLite store's answering thread does). Everything else goes straight through.
class GatedStore final : public reprise::history::HistoryStore {
 public:
  void close_gate() {
    std::lock_guard lock(mu_);
    closed_ = true;
  }
  void open_gate() {
    std::vector<std::pair<Transaction*, CommitDone>> held;
    {
      std::lock_guard lock(mu_);
      closed_ = false;
      held.swap(held_);
    }
    std::thread([this, held = std::move(held)]() mutable {
      for (auto& [tx, done] : held) inner_.commit_async(*tx, std::move(done));
    }).detach();
  }
  size_t held() {
    std::lock_guard lock(mu_);
    return held_.size();
  }

  void commit_async(Transaction& tx, CommitDone done) override {
    {
      std::lock_guard lock(mu_);
      if (closed_) {
        held_.emplace_back(&tx, std::move(done));
        return;
      }
    }
    inner_.commit_async(tx, std::move(done));
  }
  reprise::history::CommitResult commit(Transaction& tx) override { return inner_.commit(tx); }
  std::optional<reprise::history::ExecutionRow> get_execution(const reprise::history::ExecutionKey& key) override {
    return inner_.get_execution(key);
  }
  std::optional<reprise::history::ExecutionRow> get_current_execution(const std::string& ns,
                                                                      const std::string& workflow_id) override {
    return inner_.get_current_execution(ns, workflow_id);
  }
  std::vector<HistoryEvent> read_events(const reprise::history::ExecutionKey& key, int64_t first_event_id,
                                        int64_t max_count) override {
    return inner_.read_events(key, first_event_id, max_count);
  }
  reprise::history::ListPage list_executions(const reprise::history::ListFilter& filter) override {
    return inner_.list_executions(filter);
  }
  int64_t count_executions(const reprise::history::ListFilter& filter) override {
    return inner_.count_executions(filter);
  }
  std::vector<reprise::history::TaskRow> load_tasks() override { return inner_.load_tasks(); }
  std::vector<reprise::history::TimerRow> load_timers() override { return inner_.load_timers(); }

 private:
  reprise::history::MemoryHistoryStore inner_;
  std::mutex mu_;
  bool closed_ = false;
  std::vector<std::pair<Transaction*, CommitDone>> held_;
};

}  // namespace

TEST_CASE("completions whose commits are held keep no thread: other requests are served, their own workflows wait",
          "[server][async]") {
  GatedStore* gate = nullptr;
  TestServerOptions o;
  o.make_store = [&] {
    auto store = std::make_unique<GatedStore>();
    gate = store.get();
    return store;
  };
  TestServer s(o);
  RawWorker w(s, "gated");
  // More workflows with a commit held than the server has threads for ordinary requests (16), so
  // that one blocked thread per held commit would leave none to answer the bystander below.
  constexpr int kWorkflows = 24;
  std::vector<std::string> tokens;
  for (int i = 0; i < kWorkflows; ++i) {
    w.start("wf-held-" + std::to_string(i));
    auto wt = w.next_workflow_task();
    REQUIRE(w.complete_workflow_task(wt.task_token(), {schedule_activity("1", "step")}).ok());
    tokens.push_back(w.next_activity_task().task_token());
  }
  w.start("wf-bystander");

  gate->close_gate();
  std::vector<std::future<grpc::Status>> completions;
  for (const auto& token : tokens)
    completions.push_back(std::async(std::launch::async, [&w, token] { return w.complete_activity(token, "1"); }));
  REQUIRE(eventually([&] { return gate->held() == kWorkflows; }));

  // A request on a workflow whose commit is held waits for its turn...
  auto described = std::async(std::launch::async, [&] { return describe(s, "wf-held-0"); });
  // ...while a request on another workflow is served at once. (If it were not, `describe` would
  // fail at its deadline: the check cannot pass by luck of timing.)
  CHECK(describe(s, "wf-bystander").workflow_execution_info().status() == enums::WORKFLOW_EXECUTION_STATUS_RUNNING);
  CHECK(described.wait_for(100ms) == std::future_status::timeout);
  for (auto& c : completions) CHECK(c.wait_for(0ms) == std::future_status::timeout);  // not answered before durable

  gate->open_gate();
  for (auto& c : completions) CHECK(c.get().ok());
  // The waiting request saw the committed change: no activity pending, a workflow task to do.
  auto d = described.get();
  CHECK(d.pending_activities_size() == 0);
  CHECK(history_lines(s, "wf-held-0") ==
        std::vector<std::string>{"1 WorkflowExecutionStarted", "2 WorkflowTaskScheduled", "3 WorkflowTaskStarted",
                                 "4 WorkflowTaskCompleted", "5 ActivityTaskScheduled", "6 ActivityTaskStarted",
                                 "7 ActivityTaskCompleted", "8 WorkflowTaskScheduled"});
}
