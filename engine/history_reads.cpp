// Reading a history: GetWorkflowExecutionHistory, with paging and long polls.
//
// Clients use it two ways. Paging through a whole history (the CLI's `workflow show`, a worker
// fetching the rest of a long history). And waiting: a client waiting for a result asks for the
// CLOSE_EVENT with wait_new_event and parks until the run closes; if it does not close before the
// deadline the answer is an empty page plus a token to ask again (temporal-semantics.md 4.4).
// The page token is ours: "<run id>:<next event id>". Exercised by tests/engine/server_history_test.cpp.
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>

#include "long_poll.h"
#include "update_run.h"

namespace reprise::engine {

struct HistoryEngine::HistoryWaiter : PollHandle {
  std::mutex mu;
  bool finished = false;
  bool close_only = false;             // waits for the close event: nothing to read before the run closes
  std::function<bool()> try_answer;    // true when it answered
  std::function<void()> answer_empty;  // at the deadline
  std::unique_ptr<boost::asio::steady_timer> timer;
  void cancel() override {
    std::lock_guard lock(mu);
    if (!finished) {
      finished = true;
      answer_empty();
    }
  }
};

namespace {
struct ReadPosition {
  std::string run_id;
  int64_t next_event_id = 1;
};

std::string encode_page_token(const ReadPosition& p) { return p.run_id + ":" + std::to_string(p.next_event_id); }

ReadPosition decode_page_token(const std::string& token) {
  auto colon = token.rfind(':');
  try {
    if (colon == std::string::npos) throw std::invalid_argument("no colon");
    return ReadPosition{token.substr(0, colon), std::stoll(token.substr(colon + 1))};
  } catch (const std::exception&) {
    throw invalid_argument("next_page_token is malformed: it was not issued by this server");
  }
}
}  // namespace

std::shared_ptr<PollHandle> HistoryEngine::get_workflow_execution_history(
    const ws::GetWorkflowExecutionHistoryRequest& req, SteadyTime client_deadline,
    std::function<void(ws::GetWorkflowExecutionHistoryResponse)> done) {
  if (!namespace_exists(req.namespace_())) throw not_found("namespace " + req.namespace_() + " is not found");
  if (req.execution().workflow_id().empty()) throw invalid_argument("WorkflowId is not set on request");
  ExecutionKey requested{req.namespace_(), req.execution().workflow_id(), req.execution().run_id()};
  const bool close_only = req.history_event_filter_type() == enums::HISTORY_EVENT_FILTER_TYPE_CLOSE_EVENT;
  const int64_t page_size = req.maximum_page_size() > 0 ? req.maximum_page_size() : 1000;
  std::optional<ReadPosition> position;
  if (!req.next_page_token().empty()) position = decode_page_token(req.next_page_token());
  // Without a run id the read is of the current run, pinned now: a caller waiting for the close
  // event of a run that continues as new gets that run's WorkflowExecutionContinuedAsNew (and
  // follows new_execution_run_id), not a silent switch to the next run. A page token pins it too.
  if (requested.run_id.empty()) {
    if (position && !position->run_id.empty()) {
      requested.run_id = position->run_id;
    } else {
      auto ctx = context_for(requested.namespace_, requested.workflow_id);
      std::lock_guard lock(ctx->mu);
      requested.run_id = load_run(*ctx, requested).row.key.run_id;
    }
  }

  // Reads what is there now; returns nullopt when the caller asked to wait and there is nothing yet.
  auto read = [this, requested, close_only, page_size, position,
               wait = req.wait_new_event()]() -> std::optional<ws::GetWorkflowExecutionHistoryResponse> {
    ExecutionKey key;
    int64_t next_event_id;
    bool running;
    {
      auto ctx = context_for(requested.namespace_, requested.workflow_id);
      std::lock_guard lock(ctx->mu);
      const LoadedRun& run = load_run(*ctx, requested);
      key = run.row.key;
      next_event_id = run.state.next_event_id();
      running = run.state.execution().status() == enums::WORKFLOW_EXECUTION_STATUS_RUNNING;
    }
    if (position && !position->run_id.empty() && position->run_id != key.run_id)
      throw invalid_argument("next_page_token belongs to another run of this workflow");
    ws::GetWorkflowExecutionHistoryResponse resp;
    if (close_only) {
      if (running) {
        if (wait) return std::nullopt;
        return resp;
      }
      for (auto& e : store_.read_events(key, next_event_id - 1, 1))
        *resp.mutable_history()->add_events() = std::move(e);
      return resp;
    }
    int64_t first = position ? position->next_event_id : 1;
    if (first >= next_event_id) {
      if (wait && running) return std::nullopt;
      return resp;
    }
    auto events = store_.read_events(key, first, page_size);
    int64_t after = first + static_cast<int64_t>(events.size());
    for (auto& e : events) *resp.mutable_history()->add_events() = std::move(e);
    if (after < next_event_id || (wait && running)) resp.set_next_page_token(encode_page_token({key.run_id, after}));
    return resp;
  };

  if (auto now = read()) {
    done(std::move(*now));
    return nullptr;
  }
  if (shutting_down_) {  // no waiting during shutdown: an empty page and a token to ask again
    ws::GetWorkflowExecutionHistoryResponse empty;
    empty.mutable_history();
    empty.set_next_page_token(req.next_page_token());
    done(std::move(empty));
    return nullptr;
  }
  // Park until the run changes or the deadline passes.
  auto waiter = std::make_shared<HistoryWaiter>();
  waiter->close_only = close_only;
  const ExecutionKey& resolved = requested;  // its run id was pinned above
  std::string token = req.next_page_token();
  if (token.empty()) token = encode_page_token({resolved.run_id, close_only ? 0 : 1});
  waiter->answer_empty = [done, token] {
    ws::GetWorkflowExecutionHistoryResponse empty;
    empty.mutable_history();
    empty.set_next_page_token(token);
    done(std::move(empty));
  };
  waiter->try_answer = [read, done] {
    auto resp = read();
    if (!resp) return false;
    done(std::move(*resp));
    return true;
  };
  waiter->timer =
      std::make_unique<boost::asio::steady_timer>(io_, poll_deadline(client_deadline, options_.long_poll_timeout));
  {
    std::lock_guard lock(waiters_mu_);
    history_waiters_.emplace(resolved, waiter);
  }
  waiter->timer->async_wait([this, waiter, resolved](const boost::system::error_code& ec) {
    {
      std::lock_guard lock(waiters_mu_);
      auto [b, e] = history_waiters_.equal_range(resolved);
      for (auto it = b; it != e; ++it)
        if (it->second == waiter) {
          history_waiters_.erase(it);
          break;
        }
    }
    boost::asio::post(*pool_, [waiter] { waiter->cancel(); });
  });
  // The run may have changed between the first read and registering: look once more.
  boost::asio::post(*pool_, [this, resolved] { notify_history_waiters(resolved, /*closed=*/true); });
  return waiter;
}

void HistoryEngine::cancel_history_waiters() {
  std::multimap<ExecutionKey, std::shared_ptr<HistoryWaiter>> all;
  {
    std::lock_guard lock(waiters_mu_);
    all.swap(history_waiters_);
  }
  for (auto& [key, w] : all) w->cancel();
}

void HistoryEngine::notify_history_waiters(const ExecutionKey& key, bool closed) {
  std::vector<std::shared_ptr<HistoryWaiter>> woken;
  {
    std::lock_guard lock(waiters_mu_);
    auto [b, e] = history_waiters_.equal_range(key);
    // A client waiting for a result would only read "still running" and park again: a wasted
    // thread hop and lock per commit of the run (30 of them for a workflow of 10 activities).
    for (auto it = b; it != e; ++it)
      if (closed || !it->second->close_only) woken.push_back(it->second);
  }
  for (auto& w : woken) {
    boost::asio::post(*pool_, [this, w, key] {
      std::lock_guard lock(w->mu);
      if (w->finished) return;
      bool answered = false;
      try {
        answered = w->try_answer();
      } catch (const std::exception& e) {
        spdlog::warn("history long poll of {} failed: {}", key.workflow_id, e.what());
        w->answer_empty();
        answered = true;
      }
      if (!answered) return;
      w->finished = true;
      boost::asio::post(io_, [w] { w->timer->cancel(); });
    });
  }
}

}  // namespace reprise::engine
