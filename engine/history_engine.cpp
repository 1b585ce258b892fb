// The engine's core loop: per-workflow locking, loading mutable state, committing transactions,
// and routing fired timers. See history_engine.h for the map of the other files.
#include "history_engine.h"

#include <spdlog/spdlog.h>

#include <boost/asio/post.hpp>

#include "time_util.h"
#include "update_run.h"

namespace reprise::engine {

HistoryEngine::HistoryEngine(history::HistoryStore& store, Clock& clock, EngineOptions options)
    : store_(store), clock_(clock), options_(std::move(options)) {
  pool_ = std::make_unique<boost::asio::thread_pool>(options_.pool_threads);
  matching_ = std::make_unique<Matching>(io_, *pool_);
  timer_service_ = std::make_unique<TimerService>(clock_, io_, *pool_, [this](const TimerRow& t) { on_timer(t); });
}

HistoryEngine::~HistoryEngine() { stop(); }

bool HistoryEngine::namespace_exists(const std::string& ns) const {
  for (const auto& n : options_.namespaces)
    if (n == ns) return true;
  return false;
}

void HistoryEngine::start() {
  if (started_.exchange(true)) return;
  io_work_.emplace(io_.get_executor());
  io_thread_ = std::thread([this] { io_.run(); });
  // Whatever was scheduled before a restart is still in the store: pick it up again.
  auto tasks = store_.load_tasks();
  for (const auto& t : tasks) enqueue_task(t);
  auto timers = store_.load_timers();
  for (const auto& t : timers) timer_service_->add(t);
  spdlog::info("engine started: {} tasks and {} timers reloaded from the store", tasks.size(), timers.size());
}

void HistoryEngine::begin_shutdown() {
  if (shutting_down_.exchange(true)) return;
  matching_->shutdown();
  cancel_history_waiters();
}

void HistoryEngine::stop() {
  if (!started_ || stopped_.exchange(true)) return;
  begin_shutdown();
  cancel_history_waiters();  // any that slipped in while gRPC was draining
  timer_service_->stop();
  pool_->join();  // lets the answers above go out
  io_work_.reset();
  io_.stop();
  if (io_thread_.joinable()) io_thread_.join();
}

void HistoryEngine::enqueue_task(const TaskRow& task) {
  matching_->add_task(QueueKey{task.execution.namespace_, task.task_queue, task.kind}, task);
}

HistoryEngine::ContextLease HistoryEngine::context_for(const std::string& ns, const std::string& workflow_id) {
  std::string k = ns;
  k.push_back('\x1f');
  k += workflow_id;
  std::lock_guard lock(contexts_mu_);
  auto& slot = contexts_[k];
  if (!slot) slot = std::make_shared<WorkflowContext>(io_);
  return ContextLease(*this, std::move(k), slot);
}

HistoryEngine::ContextLease::~ContextLease() {
  std::lock_guard lock(engine_.contexts_mu_);
  // Copies are made only under contexts_mu_ (context_for), so two owners - the map and this lease
  // - means nobody else is using the context or waiting for its mutex.
  if (ctx_.use_count() != 2) return;
  if (ctx_->cached && ctx_->cached->state.execution().status() == enums::WORKFLOW_EXECUTION_STATUS_RUNNING) return;
  engine_.contexts_.erase(key_);
}

size_t HistoryEngine::workflow_contexts() {
  std::lock_guard lock(contexts_mu_);
  return contexts_.size();
}

HistoryEngine::LoadedRun& HistoryEngine::load_run(WorkflowContext& ctx, const ExecutionKey& key) {
  if (LoadedRun* run = find_run(ctx, key)) return *run;
  throw not_found("workflow execution not found: WorkflowId " + key.workflow_id +
                  (key.run_id.empty() ? std::string() : ", RunId " + key.run_id));
}

HistoryEngine::LoadedRun* HistoryEngine::find_run(WorkflowContext& ctx, const ExecutionKey& key) {
  const std::string& run_id = key.run_id.empty() ? ctx.current_run_id : key.run_id;
  if (!run_id.empty() && ctx.cached && ctx.cached->row.key.run_id == run_id) return &*ctx.cached;

  std::optional<history::ExecutionRow> row =
      run_id.empty() ? store_.get_current_execution(key.namespace_, key.workflow_id)
                     : store_.get_execution(ExecutionKey{key.namespace_, key.workflow_id, run_id});
  if (!row) return nullptr;
  if (key.run_id.empty()) ctx.current_run_id = row->key.run_id;
  LoadedRun loaded;
  if (!loaded.state.ParseFromString(row->state))
    throw EngineError(grpc::StatusCode::DATA_LOSS, "stored mutable state of " + key.workflow_id + " is corrupt");
  row->state.clear();
  loaded.row = std::move(*row);
  ctx.cached = std::move(loaded);
  return &*ctx.cached;
}

namespace {
history::ExecutionRow row_from_state(const ExecutionKey& key, const MutableState& state) {
  history::ExecutionRow row;
  row.key = key;
  row.workflow_type = state.execution().workflow_type();
  row.task_queue = state.execution().task_queue();
  row.status = state.execution().status();
  row.next_event_id = state.next_event_id();
  row.state_transition_count = state.state_transition_count();
  row.start_time_ms = ms_from_timestamp(state.execution().start_time());
  row.close_time_ms = state.execution().has_close_time() ? ms_from_timestamp(state.execution().close_time()) : 0;
  state.SerializeToString(&row.state);
  return row;
}

history::Transaction transaction_from(ExecutionUpdate& u, history::ExecutionRow row) {
  history::Transaction tx;
  tx.execution = std::move(row);
  tx.events = std::move(u.events());
  tx.add_tasks = std::move(u.tasks());
  tx.remove_tasks = std::move(u.removed_tasks());
  tx.add_timers = std::move(u.timers());
  tx.remove_timers = std::move(u.removed_timers());
  return tx;
}
}  // namespace

namespace {
// The run closes in this update: its pending timers can only be stale from then on, so their rows
// go with it (see TimerService::timer_ids_of).
bool closes(const history::ExecutionRow& stored, const MutableState& state) {
  return stored.status == enums::WORKFLOW_EXECUTION_STATUS_RUNNING && !is_running(state);
}
}  // namespace

history::CommitResult HistoryEngine::commit(WorkflowContext& ctx, LoadedRun& run, ExecutionUpdate& u,
                                            AfterCommit& after_commit) {
  history::Transaction tx = prepare_commit(run, u);
  history::CommitResult result;
  try {
    result = store_.commit(tx);
  } catch (...) {
    result = landed_despite(ctx, tx, std::current_exception());
  }
  if (result == history::CommitResult::Ok) apply_commit(ctx, run, u, tx, after_commit);
  return result;
}

history::Transaction HistoryEngine::prepare_commit(LoadedRun& run, ExecutionUpdate& u) {
  MutableState& state = run.state;
  state.set_state_transition_count(run.row.state_transition_count + 1);
  history::Transaction tx = transaction_from(u, row_from_state(run.row.key, state));
  if (closes(run.row, state))
    for (int64_t id : timer_service_->timer_ids_of(run.row.key)) tx.remove_timers.push_back(id);
  tx.expected_next_event_id = run.row.next_event_id;
  tx.expected_state_transition_count = run.row.state_transition_count;
  if (NewRun* next = u.successor()) {
    next->state.set_state_transition_count(1);
    tx.successor = std::make_shared<history::Transaction>(
        transaction_from(next->update, row_from_state(next->update.key(), next->state)));
  }
  return tx;
}

history::CommitResult HistoryEngine::landed_despite(WorkflowContext& ctx, history::Transaction& tx,
                                                    std::exception_ptr error) {
  std::string what = "unknown error";
  try {
    std::rethrow_exception(error);
  } catch (const std::exception& e) {
    what = e.what();
  } catch (...) {
  }
  // The write may or may not have landed (think of a crash between write and acknowledgement).
  // Ask the store which it was instead of guessing.
  auto stored = store_.get_execution(tx.execution.key);
  if (!stored || stored->state_transition_count != tx.execution.state_transition_count) {
    ctx.cached.reset();
    throw EngineError(grpc::StatusCode::UNAVAILABLE, "could not persist the change: " + what);
  }
  spdlog::warn("commit of {} reported an error but landed: {}", tx.execution.key.workflow_id, what);
  // Task and timer ids are unknown after such a failure: reload the runs' rows from the store.
  const auto stored_tasks = store_.load_tasks();
  const auto stored_timers = store_.load_timers();
  for (history::Transaction* written = &tx; written; written = written->successor.get()) {
    written->add_tasks.clear();
    written->add_timers.clear();
    for (const auto& t : stored_tasks)
      if (t.execution == written->execution.key) written->add_tasks.push_back(t);
    for (const auto& t : stored_timers)
      if (t.execution == written->execution.key) written->add_timers.push_back(t);
  }
  return history::CommitResult::Ok;
}

void HistoryEngine::apply_commit(WorkflowContext& ctx, LoadedRun& run, ExecutionUpdate& u, history::Transaction& tx,
                                 AfterCommit& after_commit) {
  const bool closing = closes(run.row, run.state);
  tx.execution.state.clear();
  if (closing) timer_service_->forget_run(run.row.key);
  run.row = std::move(tx.execution);
  for (history::Transaction* written = &tx; written; written = written->successor.get()) {
    for (const auto& t : written->add_tasks) enqueue_task(t);
    for (const auto& t : written->add_timers) timer_service_->add(t);
  }
  if (tx.successor) ctx.current_run_id = tx.successor->execution.key.run_id;
  after_commit.take(u);
  if (!tx.events.empty()) {
    RunView view{run.row.key, run.state.next_event_id(), is_running(run.state)};
    after_commit.answer(history_waiters_to_wake(run.row.key, !view.running), view);
  }
}

void HistoryEngine::AfterCommit::take(ExecutionUpdate& u) {
  for (auto& claimed : u.claimed_tasks) {
    // A claim whose task the update went on to end is dropped: its poll answers "no task".
    if (auto started = started_for_claim(u.key(), u.state(), claimed.task))
      tasks_.push_back({std::move(claimed.poller), std::move(*started)});
  }
  u.claimed_tasks.clear();
  if (NewRun* next = u.successor()) take(next->update);
}

HistoryEngine::AfterCommit::~AfterCommit() {
  for (auto& [poller, started] : tasks_) {
    try {
      poller->answer(engine_.build_workflow_task_response(started));
    } catch (const std::exception& e) {
      // The task is started: it times out on the server and goes to the next poll.
      spdlog::error("could not hand workflow task of {} to its poller: {}", started.key.workflow_id, e.what());
    }
  }
  for (auto& [waiter, view] : waiters_) engine_.answer_history_waiter(waiter, &view);
}

void HistoryEngine::AfterCommit::answer(std::vector<std::shared_ptr<HistoryWaiter>> waiters, const RunView& view) {
  for (auto& w : waiters) waiters_.emplace_back(std::move(w), view);
}

// One update_run_async in flight. Its steps run where update_run.h says: attempt() on the caller's
// thread (or the io thread's), committed() on the store's answering thread; both with the turn held.
struct HistoryEngine::AsyncUpdate : std::enable_shared_from_this<AsyncUpdate> {
  AsyncUpdate(HistoryEngine& engine, const ExecutionKey& key, std::function<void(ExecutionUpdate&)> apply,
              std::function<void(std::exception_ptr)> finished)
      : engine(engine),
        key(key),
        ctx(engine.context_for(key.namespace_, key.workflow_id)),
        apply(std::move(apply)),
        finished(std::move(finished)) {}

  void attempt() {
    try {
      LoadedRun& run = engine.load_run(*ctx, key);
      update.emplace(run.state, engine.clock_.now_ms());
      update->set_key(run.row.key);
      apply(*update);
      if (update->empty()) return done(nullptr);
      transaction = engine.prepare_commit(run, *update);
    } catch (...) {
      return done(std::current_exception());
    }
    engine.commit_async(*ctx, transaction,
                        [self = shared_from_this()](history::CommitResult result, std::exception_ptr error) {
                          self->committed(result, error);
                        });
  }

  void committed(history::CommitResult result, std::exception_ptr error) {
    if (error) return done(error);
    if (result != history::CommitResult::Ok) {
      // Somebody else changed the run since we loaded it: load it again and rerun the handler.
      ctx->cached.reset();
      spdlog::debug("conflict on {}/{}, retrying", key.workflow_id, key.run_id);
      if (++conflicts > kMaxConflicts)
        return done(std::make_exception_ptr(
            EngineError(grpc::StatusCode::ABORTED, "too many concurrent changes to workflow " + key.workflow_id)));
      // On the io thread: not the store's, and nothing there waits for a turn (workflow_turn.h).
      return boost::asio::post(engine.io_, [self = shared_from_this()] { self->attempt(); });
    }
    finished(engine.take_in_landed(
        *ctx,
        [&](AfterCommit& after_commit) { engine.apply_commit(*ctx, *ctx->cached, *update, transaction, after_commit); },
        [&] { update.reset(); }));
  }

  // The end of a request that did not commit, or whose commit failed: pass the turn on, then
  // answer. After an error the cached state may hold what never reached the store: forgotten.
  void done(std::exception_ptr error) {
    update.reset();
    if (error)
      ctx->cached.reset();
    else
      forget_if_closed(*ctx);
    ctx->turn.unlock();
    finished(error);
  }

  static constexpr int kMaxConflicts = 5;
  HistoryEngine& engine;
  ExecutionKey key;
  ContextLease ctx;
  std::function<void(ExecutionUpdate&)> apply;
  std::function<void(std::exception_ptr)> finished;
  std::optional<ExecutionUpdate> update;
  history::Transaction transaction;
  int conflicts = 0;
};

void HistoryEngine::run_update_async(const ExecutionKey& key, std::function<void(ExecutionUpdate&)> apply,
                                     std::function<void(std::exception_ptr)> finished) {
  auto op = std::make_shared<AsyncUpdate>(*this, key, std::move(apply), std::move(finished));
  op->ctx->turn.take([op] { op->attempt(); });
}

std::exception_ptr HistoryEngine::take_in_landed(WorkflowContext& ctx, const std::function<void(AfterCommit&)>& take_in,
                                                 const std::function<void()>& release) {
  std::exception_ptr error;
  {
    AfterCommit after_commit(*this);  // runs after the turn is passed on, below
    try {
      take_in(after_commit);
      release();
      forget_if_closed(ctx);
    } catch (...) {
      error = std::current_exception();
      release();
      ctx.cached.reset();
    }
    ctx.turn.unlock();
  }
  return error;
}

void HistoryEngine::forget_if_closed(WorkflowContext& ctx) {
  if (ctx.cached && ctx.cached->state.execution().status() != enums::WORKFLOW_EXECUTION_STATUS_RUNNING)
    ctx.cached.reset();
}

history::Transaction HistoryEngine::prepare_new_run(ExecutionUpdate& u) {
  u.state().set_state_transition_count(1);
  return transaction_from(u, row_from_state(u.key(), u.state()));
}

void HistoryEngine::apply_new_run(WorkflowContext& ctx, ExecutionUpdate& u, history::Transaction& tx,
                                  AfterCommit& after_commit) {
  after_commit.take(u);  // while the update's state is still its own
  tx.execution.state.clear();
  LoadedRun loaded{std::move(tx.execution), std::move(u.state())};
  ctx.current_run_id = loaded.row.key.run_id;
  ctx.cached = std::move(loaded);
  for (const auto& t : tx.add_tasks) enqueue_task(t);
  for (const auto& t : tx.add_timers) timer_service_->add(t);
}

void HistoryEngine::commit_async(WorkflowContext& ctx, history::Transaction& tx,
                                 std::function<void(history::CommitResult, std::exception_ptr)> done) {
  store_.commit_async(tx, [this, &ctx, &tx, done = std::move(done)](history::CommitOutcome outcome) {
    if (!outcome.error) return done(outcome.result, nullptr);
    // Rare. Finding out whether it landed reads the store: not on the store's thread, which must not
    // wait, but on the io thread, where nothing waits for a turn (workflow_turn.h).
    boost::asio::post(io_, [this, &ctx, &tx, done, error = outcome.error] {
      history::CommitResult result;
      try {
        result = landed_despite(ctx, tx, error);
      } catch (...) {
        return done(history::CommitResult::Ok, std::current_exception());
      }
      done(result, nullptr);
    });
  });
}

void HistoryEngine::on_timer(const TimerRow& timer) {
  try {
    switch (timer.kind) {
      case history::TimerKind::UserTimer:
        update_run(timer.execution, [&](ExecutionUpdate& u) {
          u.remove_timer(timer.id);
          auto& st = u.state();
          auto it = st.timers().find(timer.timer_id);
          if (it == st.timers().end() || it->second.started_event_id() != timer.event_id) return;  // canceled
          HistoryEvent fired;
          fired.set_event_type(enums::EVENT_TYPE_TIMER_FIRED);
          auto* a = fired.mutable_timer_fired_event_attributes();
          a->set_timer_id(timer.timer_id);
          a->set_started_event_id(timer.event_id);
          u.append(std::move(fired));
          schedule_workflow_task_if_needed(u);
        });
        break;
      case history::TimerKind::ActivityScheduleToStart:
      case history::TimerKind::ActivityScheduleToClose:
      case history::TimerKind::ActivityStartToClose:
      case history::TimerKind::ActivityHeartbeat:
      case history::TimerKind::ActivityRetryBackoff:
        on_activity_timer(timer);
        break;
      case history::TimerKind::WorkflowTaskScheduleToStart:
      case history::TimerKind::WorkflowTaskStartToClose:
        on_workflow_task_timer(timer);
        break;
      case history::TimerKind::WorkflowRunTimeout:
      case history::TimerKind::WorkflowExecutionTimeout:
        on_workflow_timeout_timer(timer);
        break;
    }
  } catch (const EngineError& e) {
    if (e.code() == grpc::StatusCode::NOT_FOUND) return;  // the run is gone: nothing to do
    spdlog::warn("timer {} of {} failed ({}); retrying in 1s", timer.id, timer.execution.workflow_id, e.what());
    retry_later(timer);
  } catch (const std::exception& e) {
    spdlog::warn("timer {} of {} failed ({}); retrying in 1s", timer.id, timer.execution.workflow_id, e.what());
    retry_later(timer);
  }
}

void HistoryEngine::retry_later(const TimerRow& timer) {
  if (stopped_) return;
  TimerRow again = timer;
  again.fire_time_ms = clock_.now_ms() + 1000;
  timer_service_->add(again);
}

void HistoryEngine::arm_start_to_close(ExecutionUpdate& u, history::TimerKind kind, int64_t due_ms, int64_t event_id,
                                       int32_t attempt) {
  // A row this update adds, or one already stored (and not being removed by this update), that
  // fires no later covers this deadline: when it fires it arms whatever is then the earliest.
  for (const TimerRow& t : u.timers())
    if (t.kind == kind && t.fire_time_ms <= due_ms) return;
  if (timer_service_->has_due_by(u.key(), kind, due_ms, u.removed_timers())) return;
  u.add_timer(kind, due_ms, event_id, attempt);
}

}  // namespace reprise::engine
