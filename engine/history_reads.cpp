// Reading a history: GetWorkflowExecutionHistory, with paging and long polls.
//
// Clients use it two ways. Paging through a whole history (the CLI's `workflow show`, a worker
// fetching the rest of a long history). And waiting: a client waiting for a result asks for the
// CLOSE_EVENT with wait_new_event and parks until the run closes; if it does not close before the
// deadline the answer is an empty page plus a token to ask again (temporal-semantics.md 4.4).
// The page token is ours: "<run id>:<next event id>". Exercised by tests/engine/server_history_test.cpp.
//
// A parked poll is in two indexes: by run (a commit's AfterCommit answers it, history_engine.h, with
// what the committer saw of the run) and by deadline, which one Asio timer on the io thread serves,
// as in matching.h: a poll answered early leaves both indexes under a mutex, with no hand-off to
// the io thread.
#include <boost/asio/post.hpp>

#include "long_poll.h"
#include "update_run.h"

namespace reprise::engine {

struct HistoryEngine::HistoryWaiter : PollHandle {
  ExecutionKey key;  // the run it waits on, its run id resolved
  SteadyTime deadline;
  std::mutex mu;
  bool finished = false;
  bool close_only = false;  // waits for the close event: nothing to read before the run closes
  // What there is to answer now, or nullopt: with the given view of the run, or (nullptr) with
  // what the run's turn shows.
  std::function<std::optional<ws::GetWorkflowExecutionHistoryResponse>(const RunView*)> read;
  std::function<void(ws::GetWorkflowExecutionHistoryResponse)> done;
  std::function<void()> answer_empty;  // at the deadline
  // Answers empty unless already answered. A waiter canceled by its client stays in the indexes
  // until its deadline, then leaves them.
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

// Erases `w`'s entry among those under `key` (each index holds one entry per parked waiter).
template <class Index, class Key, class Waiter>
void erase_entry(Index& index, const Key& key, const Waiter& w) {
  auto [b, e] = index.equal_range(key);
  for (auto it = b; it != e; ++it)
    if (it->second == w) {
      index.erase(it);
      return;
    }
}

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
      std::lock_guard lock(ctx->turn);
      requested.run_id = load_run(*ctx, requested).row.key.run_id;
    }
  }

  // Reads what is there now; returns nullopt when the caller asked to wait and there is nothing yet.
  // What the run is like comes from `seen` (what a committer saw of it), else from a turn of its
  // own: taken after a commit under way, so the read shows what is committed.
  auto read = [this, requested, close_only, page_size, position, wait = req.wait_new_event()](
                  const RunView* seen) -> std::optional<ws::GetWorkflowExecutionHistoryResponse> {
    RunView view;
    if (seen) {
      view = *seen;
    } else {
      auto ctx = context_for(requested.namespace_, requested.workflow_id);
      std::lock_guard lock(ctx->turn);
      const LoadedRun& run = load_run(*ctx, requested);
      view = RunView{run.row.key, run.state.next_event_id(), is_running(run.state)};
    }
    const auto& [key, next_event_id, running] = view;
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

  if (auto now = read(nullptr)) {
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
  waiter->key = requested;  // its run id was pinned above
  waiter->deadline = poll_deadline(client_deadline, options_.long_poll_timeout);
  waiter->close_only = close_only;
  std::string token = req.next_page_token();
  if (token.empty()) token = encode_page_token({requested.run_id, close_only ? 0 : 1});
  waiter->answer_empty = [done, token] {
    ws::GetWorkflowExecutionHistoryResponse empty;
    empty.mutable_history();
    empty.set_next_page_token(token);
    done(std::move(empty));
  };
  waiter->read = read;
  waiter->done = done;
  park_history_waiter(waiter);
  // The run may have changed between the first read and parking: look once more.
  answer_history_waiter(waiter);
  return waiter;
}

void HistoryEngine::park_history_waiter(const std::shared_ptr<HistoryWaiter>& w) {
  bool rearm = false;
  {
    std::lock_guard lock(waiters_mu_);
    history_waiters_.emplace(w->key, w);
    history_deadlines_.emplace(w->deadline, w);
    // Most deadlines come after the one the wake-up is armed for: that wake-up finds them.
    if (w->deadline < history_armed_for_) {
      history_armed_for_ = w->deadline;
      rearm = true;
    }
  }
  if (rearm) boost::asio::post(io_, [this] { arm_history_wake(); });
}

void HistoryEngine::unpark_history_waiter(const std::shared_ptr<HistoryWaiter>& w) {
  std::lock_guard lock(waiters_mu_);
  erase_entry(history_waiters_, w->key, w);
  erase_entry(history_deadlines_, w->deadline, w);
}

void HistoryEngine::answer_history_waiter(const std::shared_ptr<HistoryWaiter>& w, const RunView* view) {
  {
    std::lock_guard lock(w->mu);
    if (w->finished) return;
  }
  // Read outside the waiter's mutex: without a view the read waits for the workflow's turn, and the
  // request holding the turn may be about to answer this waiter itself (AfterCommit), for which it
  // takes the mutex. Two answers may be read at once; the first to finish the waiter wins.
  std::optional<ws::GetWorkflowExecutionHistoryResponse> response;
  bool failed = false;
  try {
    response = w->read(view);
  } catch (const std::exception& e) {
    spdlog::warn("history long poll of {} failed: {}", w->key.workflow_id, e.what());
    failed = true;
  }
  if (!response && !failed) return;
  {
    std::lock_guard lock(w->mu);
    if (w->finished) return;
    w->finished = true;
    if (failed)
      w->answer_empty();
    else
      w->done(std::move(*response));
  }
  unpark_history_waiter(w);
}

void HistoryEngine::arm_history_wake() {
  SteadyTime next;
  {
    std::lock_guard lock(waiters_mu_);
    next = history_armed_for_ = history_deadlines_.empty() ? SteadyTime::max() : history_deadlines_.begin()->first;
  }
  if (next == SteadyTime::max()) return;  // the wait armed before, if any, finds nothing due
  history_wake_.expires_at(next);         // cancels the wait armed before
  history_wake_.async_wait([this](const boost::system::error_code& ec) {
    if (!ec) expire_history_waiters();
  });
}

void HistoryEngine::expire_history_waiters() {
  std::vector<std::shared_ptr<HistoryWaiter>> due;
  {
    std::lock_guard lock(waiters_mu_);
    const SteadyTime now = std::chrono::steady_clock::now();
    while (!history_deadlines_.empty() && history_deadlines_.begin()->first <= now) {
      auto w = std::move(history_deadlines_.begin()->second);
      history_deadlines_.erase(history_deadlines_.begin());
      erase_entry(history_waiters_, w->key, w);
      due.push_back(std::move(w));
    }
  }
  for (auto& w : due) boost::asio::post(*pool_, [w] { w->cancel(); });
  arm_history_wake();
}

void HistoryEngine::cancel_history_waiters() {
  decltype(history_waiters_) all;
  {
    std::lock_guard lock(waiters_mu_);
    all.swap(history_waiters_);
    history_deadlines_.clear();
  }
  for (auto& [key, w] : all) w->cancel();
}

std::vector<std::shared_ptr<HistoryEngine::HistoryWaiter>> HistoryEngine::history_waiters_to_wake(
    const ExecutionKey& key, bool closed) {
  std::vector<std::shared_ptr<HistoryWaiter>> woken;
  std::lock_guard lock(waiters_mu_);
  auto [b, e] = history_waiters_.equal_range(key);
  // A client waiting for a result would only read "still running" and park again: a wasted
  // read and lock per commit of the run (30 of them for a workflow of 10 activities).
  for (auto it = b; it != e; ++it)
    if (closed || !it->second->close_only) woken.push_back(it->second);
  return woken;
}

}  // namespace reprise::engine
