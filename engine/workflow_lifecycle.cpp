// The life of a workflow run from outside: start, signal, cancel request, terminate, time out, and
// the read-only views (describe, list, count).
//
// StartWorkflowExecution writes the first two events of every history in one transaction:
//   1 WorkflowExecutionStarted   2 WorkflowTaskScheduled
// and applies Temporal's id rules (temporal-semantics.md 2.4): a request id seen before returns the
// same run (idempotence); a running workflow id conflicts (FAIL -> ALREADY_EXISTS with details,
// USE_EXISTING -> that run, TERMINATE_EXISTING -> it is terminated in the transaction that starts
// the new run); a closed one may be reused per the reuse policy. Asynchronous, like the calls of
// update_run_async (update_run.h): no thread waits for its commit. Exercised by tests/engine/server_lifecycle_test.cpp (start, terminate,
// timeout, cancel) and server_visibility_test.cpp (describe, list, count).
#include <regex>

#include "retry_policy.h"
#include "temporal/api/errordetails/v1/message.pb.h"
#include "temporal/api/workflow/v1/message.pb.h"
#include "time_util.h"
#include "update_run.h"

namespace reprise::engine {

namespace {

void check_namespace(const HistoryEngine& engine, const std::string& ns) {
  if (ns.empty()) throw invalid_argument("Namespace is not set on request");
  if (!engine.namespace_exists(ns)) throw not_found("namespace " + ns + " is not found");
}

// Run and task timeouts as Temporal normalises them at start and at continue-as-new (2.3), in ms
// (0 = unset): the run timeout at most the execution timeout (all of it when unset), the task
// timeout defaulted, then at most the server's maximum and the run timeout.
void normalize_timeouts(const EngineOptions& options, int64_t execution_ms, int64_t& run_ms, int64_t& task_ms) {
  if (execution_ms > 0) run_ms = run_ms == 0 ? execution_ms : std::min(run_ms, execution_ms);
  if (task_ms == 0) task_ms = options.default_workflow_task_timeout_ms;
  task_ms = std::min(task_ms, options.max_workflow_task_timeout_ms);
  if (run_ms > 0) task_ms = std::min(task_ms, run_ms);
}

int64_t checked_duration(const google::protobuf::Duration& d, const char* name) {
  int64_t ms = ms_from_duration(d);
  if (ms < 0) throw invalid_argument(std::string("Invalid ") + name + ": it cannot be negative");
  return ms;
}

EngineError already_started(const std::string& workflow_id, const MutableState& running) {
  api::errordetails::v1::WorkflowExecutionAlreadyStartedFailure details;
  details.set_start_request_id(running.execution().start_request_id());
  details.set_run_id(running.execution().run_id());
  return EngineError(grpc::StatusCode::ALREADY_EXISTS,
                     "Workflow execution is already running. WorkflowId: " + workflow_id +
                         ", RunId: " + running.execution().run_id() + ".",
                     details);
}

}  // namespace

// What a StartWorkflowExecution asks for, checked and normalised before its workflow's turn.
struct HistoryEngine::StartPlan {
  int64_t execution_timeout = 0, run_timeout = 0, task_timeout = 0;  // ms
  std::string request_id;
  enums::WorkflowIdReusePolicy reuse{};
  enums::WorkflowIdConflictPolicy conflict{};
};

// One StartWorkflowExecution in flight. Like update_run_async (update_run.h), its decision runs
// under the workflow id's turn on the caller's thread (or the io thread), and the rest once the
// store has the transaction durably, on the store's answering thread.
struct HistoryEngine::AsyncStart : std::enable_shared_from_this<AsyncStart> {
  AsyncStart(HistoryEngine& engine, const ws::StartWorkflowExecutionRequest& req, StartPlan plan,
             Reply<ws::StartWorkflowExecutionResponse> reply)
      : engine(engine),
        req(req),
        plan(std::move(plan)),
        ctx(engine.context_for(req.namespace_(), req.workflow_id())),
        reply(std::move(reply)) {}

  void attempt() {
    try {
      if (!decide()) return;  // answered without a commit
    } catch (...) {
      return finish(std::current_exception());
    }
    engine.commit_async(*ctx, transaction,
                        [self = shared_from_this()](history::CommitResult result, std::exception_ptr error) {
                          self->committed(result, error);
                        });
  }

  // Applies the id rules to the current run, if any. Returns false when the answer is already
  // given; else `transaction` holds the new run (and, for TERMINATE_EXISTING, the end of the old
  // one: both in one transaction, as for continue-as-new).
  bool decide() {
    if (LoadedRun* current = engine.find_run(*ctx, ExecutionKey{req.namespace_(), req.workflow_id(), ""})) {
      const auto& cst = current->state;
      ws::StartWorkflowExecutionResponse existing;
      existing.set_run_id(cst.execution().run_id());
      existing.set_status(cst.execution().status());
      if (cst.execution().start_request_id() == plan.request_id) {
        // The same request again (a client retry): the run it created is the answer.
        existing.set_started(true);
        return answer(std::move(existing));
      }
      if (is_running(cst)) {
        if (plan.conflict == enums::WORKFLOW_ID_CONFLICT_POLICY_USE_EXISTING) return answer(std::move(existing));
        if (plan.conflict != enums::WORKFLOW_ID_CONFLICT_POLICY_TERMINATE_EXISTING)
          throw already_started(req.workflow_id(), cst);
        closing.emplace(current->state, engine.clock_.now_ms());
        closing->set_key(current->row.key);
        engine.terminate_run(*closing, "terminated by a new start with conflict policy TERMINATE_EXISTING", {},
                             req.identity());
        begin(closing->start_successor(new_key()));
        transaction = engine.prepare_commit(*current, *closing);
        return true;
      }
      auto status = cst.execution().status();
      bool failed_like =
          status == enums::WORKFLOW_EXECUTION_STATUS_FAILED || status == enums::WORKFLOW_EXECUTION_STATUS_TERMINATED ||
          status == enums::WORKFLOW_EXECUTION_STATUS_CANCELED || status == enums::WORKFLOW_EXECUTION_STATUS_TIMED_OUT;
      if (plan.reuse == enums::WORKFLOW_ID_REUSE_POLICY_REJECT_DUPLICATE ||
          (plan.reuse == enums::WORKFLOW_ID_REUSE_POLICY_ALLOW_DUPLICATE_FAILED_ONLY && !failed_like)) {
        api::errordetails::v1::WorkflowExecutionAlreadyStartedFailure details;
        details.set_start_request_id(cst.execution().start_request_id());
        details.set_run_id(cst.execution().run_id());
        throw EngineError(grpc::StatusCode::ALREADY_EXISTS,
                          "Workflow execution already finished and its id reuse policy does not allow a new run. "
                          "WorkflowId: " +
                              req.workflow_id() + ", RunId: " + cst.execution().run_id() + ".",
                          details);
      }
    }
    fresh = std::make_unique<NewRun>(engine.clock_.now_ms());
    fresh->state.set_next_event_id(1);
    fresh->update.set_key(new_key());
    auto* info = fresh->state.mutable_execution();
    info->set_namespace_(req.namespace_());
    info->set_workflow_id(req.workflow_id());
    info->set_run_id(fresh->update.key().run_id);
    begin(*fresh);
    transaction = engine.prepare_new_run(fresh->update);
    return true;
  }

  ExecutionKey new_key() { return ExecutionKey{req.namespace_(), req.workflow_id(), new_uuid()}; }

  // The new run's first events: WorkflowExecutionStarted as the request describes it, then
  // begin_run's WorkflowTaskScheduled and timeouts.
  void begin(NewRun& run) {
    ExecutionUpdate& u = run.update;
    const std::string& run_id = u.key().run_id;
    run.state.mutable_execution()->set_start_request_id(plan.request_id);
    HistoryEvent started;
    started.set_event_type(enums::EVENT_TYPE_WORKFLOW_EXECUTION_STARTED);
    auto* a = started.mutable_workflow_execution_started_event_attributes();
    *a->mutable_workflow_type() = req.workflow_type();
    a->mutable_task_queue()->set_name(req.task_queue().name());
    a->mutable_task_queue()->set_kind(enums::TASK_QUEUE_KIND_NORMAL);
    if (req.has_input()) *a->mutable_input() = req.input();
    *a->mutable_workflow_execution_timeout() = duration_from_ms(plan.execution_timeout);
    *a->mutable_workflow_run_timeout() = duration_from_ms(plan.run_timeout);
    *a->mutable_workflow_task_timeout() = duration_from_ms(plan.task_timeout);
    a->set_original_execution_run_id(run_id);
    a->set_identity(req.identity());
    a->set_first_execution_run_id(run_id);
    if (req.has_retry_policy()) *a->mutable_retry_policy() = normalize_retry_policy(req.retry_policy());
    a->set_attempt(1);
    a->set_cron_schedule(req.cron_schedule());
    *a->mutable_first_workflow_task_backoff() = duration_from_ms(0);
    if (req.has_memo()) *a->mutable_memo() = req.memo();
    if (req.has_search_attributes()) *a->mutable_search_attributes() = req.search_attributes();
    if (req.has_header()) *a->mutable_header() = req.header();
    // Recorded as sent; Reprise's matching does not order tasks by it.
    if (req.has_priority()) *a->mutable_priority() = req.priority();
    a->set_workflow_id(req.workflow_id());
    if (plan.execution_timeout > 0)
      *a->mutable_workflow_execution_expiration_time() = timestamp_from_ms(u.now_ms() + plan.execution_timeout);
    engine.begin_run(u, std::move(started));
  }

  void committed(history::CommitResult result, std::exception_ptr error) {
    if (!error && result != history::CommitResult::Ok) {
      error = std::make_exception_ptr(
          closing ? EngineError(grpc::StatusCode::ABORTED, "workflow changed while terminating it; try again")
                  : EngineError(grpc::StatusCode::ALREADY_EXISTS,
                                "run " + transaction.execution.key.run_id + " already exists"));
    }
    if (error) return finish(error);
    ws::StartWorkflowExecutionResponse started;
    started.set_run_id(closing ? closing->successor()->update.key().run_id : fresh->update.key().run_id);
    started.set_started(true);
    started.set_status(enums::WORKFLOW_EXECUTION_STATUS_RUNNING);
    auto error_after = engine.take_in_landed(
        *ctx,
        [&](AfterCommit& after_commit) {
          if (closing)
            engine.apply_commit(*ctx, *ctx->cached, *closing, transaction, after_commit);
          else
            engine.apply_new_run(*ctx, fresh->update, transaction, after_commit);
        },
        [&] { closing.reset(); });  // it refers to the cached state
    if (error_after) return reply({}, error_after);
    reply(std::move(started), nullptr);
  }

  bool answer(ws::StartWorkflowExecutionResponse response) {
    ctx->turn.unlock();
    reply(std::move(response), nullptr);
    return false;
  }

  void finish(std::exception_ptr error) {
    if (closing) ctx->cached.reset();  // terminate_run changed the cached state, or more: forget it
    closing.reset();
    ctx->turn.unlock();
    reply({}, error);
  }

  HistoryEngine& engine;
  const ws::StartWorkflowExecutionRequest& req;
  StartPlan plan;
  ContextLease ctx;
  Reply<ws::StartWorkflowExecutionResponse> reply;
  std::optional<ExecutionUpdate> closing;  // TERMINATE_EXISTING: the running run's end, the new run its successor
  std::unique_ptr<NewRun> fresh;           // otherwise: the new run alone
  history::Transaction transaction;
};

void HistoryEngine::start_workflow_execution(const ws::StartWorkflowExecutionRequest& req,
                                             Reply<ws::StartWorkflowExecutionResponse> reply) {
  check_namespace(*this, req.namespace_());
  if (req.workflow_id().empty()) throw invalid_argument("WorkflowId is not set on request");
  if (req.workflow_type().name().empty()) throw invalid_argument("WorkflowType is not set on request");
  if (req.task_queue().name().empty()) throw invalid_argument("TaskQueue is not set on request");
  StartPlan plan;
  plan.execution_timeout = checked_duration(req.workflow_execution_timeout(), "WorkflowExecutionTimeout");
  plan.run_timeout = checked_duration(req.workflow_run_timeout(), "WorkflowRunTimeout");
  plan.task_timeout = checked_duration(req.workflow_task_timeout(), "WorkflowTaskTimeout");
  // What Reprise cannot do yet is refused before anything happens (TERMINATE_EXISTING would already
  // have ended the running run), not accepted and silently ignored: a delayed first workflow task,
  // a workflow retried or run again on a schedule after it closes.
  if (checked_duration(req.workflow_start_delay(), "WorkflowStartDelay") > 0)
    throw invalid_argument("WorkflowStartDelay is not supported by Reprise yet");
  if (req.has_retry_policy()) {
    normalize_retry_policy(req.retry_policy());  // a malformed policy is named as such first
    throw invalid_argument(
        "RetryPolicy of a workflow is not supported by Reprise yet (activities' retry policies are)");
  }
  if (!req.cron_schedule().empty()) throw invalid_argument("CronSchedule is not supported by Reprise yet");
  normalize_timeouts(options_, plan.execution_timeout, plan.run_timeout, plan.task_timeout);
  plan.request_id = req.request_id().empty() ? new_uuid() : req.request_id();

  plan.reuse = req.workflow_id_reuse_policy();
  plan.conflict = req.workflow_id_conflict_policy();
  // Two combinations say contradictory things; Temporal's frontend refuses them with these words.
  if (plan.reuse == enums::WORKFLOW_ID_REUSE_POLICY_TERMINATE_IF_RUNNING &&
      plan.conflict != enums::WORKFLOW_ID_CONFLICT_POLICY_UNSPECIFIED)
    throw invalid_argument(
        "Invalid WorkflowIDReusePolicy: WORKFLOW_ID_REUSE_POLICY_TERMINATE_IF_RUNNING cannot be used together with a "
        "WorkflowIDConflictPolicy");
  if (plan.reuse == enums::WORKFLOW_ID_REUSE_POLICY_REJECT_DUPLICATE &&
      plan.conflict == enums::WORKFLOW_ID_CONFLICT_POLICY_TERMINATE_EXISTING)
    throw invalid_argument(
        "Invalid WorkflowIDReusePolicy: WORKFLOW_ID_REUSE_POLICY_REJECT_DUPLICATE cannot be used together with "
        "WorkflowIdConflictPolicy WORKFLOW_ID_CONFLICT_POLICY_TERMINATE_EXISTING");
  if (plan.reuse == enums::WORKFLOW_ID_REUSE_POLICY_TERMINATE_IF_RUNNING) {
    plan.reuse = enums::WORKFLOW_ID_REUSE_POLICY_ALLOW_DUPLICATE;
    plan.conflict = enums::WORKFLOW_ID_CONFLICT_POLICY_TERMINATE_EXISTING;
  }
  if (plan.reuse == enums::WORKFLOW_ID_REUSE_POLICY_UNSPECIFIED)
    plan.reuse = enums::WORKFLOW_ID_REUSE_POLICY_ALLOW_DUPLICATE;
  if (plan.conflict == enums::WORKFLOW_ID_CONFLICT_POLICY_UNSPECIFIED)
    plan.conflict = enums::WORKFLOW_ID_CONFLICT_POLICY_FAIL;

  auto op = std::make_shared<AsyncStart>(*this, req, std::move(plan), std::move(reply));
  op->ctx->turn.take([op] { op->attempt(); });
}

void HistoryEngine::begin_run(ExecutionUpdate& u, HistoryEvent started) {
  const auto& a = started.workflow_execution_started_event_attributes();
  const int64_t run_timeout = ms_from_duration(a.workflow_run_timeout());
  const int64_t run_deadline = run_timeout > 0 ? u.now_ms() + run_timeout : 0;
  // The execution timeout spans the whole chain of runs: its deadline is fixed by the first run.
  const int64_t execution_deadline =
      a.has_workflow_execution_expiration_time() ? ms_from_timestamp(a.workflow_execution_expiration_time()) : 0;
  u.append(std::move(started));
  schedule_workflow_task(u, 1);
  if (run_deadline > 0) u.add_timer(history::TimerKind::WorkflowRunTimeout, run_deadline, 1, 0);
  if (execution_deadline > 0 && execution_deadline != run_deadline)
    u.add_timer(history::TimerKind::WorkflowExecutionTimeout, execution_deadline, 1, 0);
}

void HistoryEngine::continue_as_new(ExecutionUpdate& u, const ContinueAsNewAttributes& c, int64_t completed_id,
                                    const std::string& identity) {
  const auto& old = u.state().execution();
  const std::string new_run_id = new_uuid();
  // What the command leaves unset carries over from the closing run.
  api::common::v1::WorkflowType type;
  type.set_name(c.workflow_type().name().empty() ? old.workflow_type() : c.workflow_type().name());
  api::taskqueue::v1::TaskQueue queue;
  queue.set_name(c.task_queue().name().empty() ? old.task_queue() : c.task_queue().name());
  queue.set_kind(enums::TASK_QUEUE_KIND_NORMAL);
  // Unset timeouts carry over, then are bounded as at start (Temporal's command validator), by the
  // chain's execution timeout: its length, while the deadline stays as the first run fixed it.
  int64_t run_ms = ms_from_duration(c.workflow_run_timeout());
  if (run_ms == 0) run_ms = ms_from_duration(old.workflow_run_timeout());
  int64_t task_ms = ms_from_duration(c.workflow_task_timeout());
  if (task_ms == 0) task_ms = ms_from_duration(old.workflow_task_timeout());
  normalize_timeouts(options_, ms_from_duration(old.workflow_execution_timeout()), run_ms, task_ms);
  const auto run_timeout = duration_from_ms(run_ms);
  const auto task_timeout = duration_from_ms(task_ms);

  HistoryEvent closed;
  closed.set_event_type(enums::EVENT_TYPE_WORKFLOW_EXECUTION_CONTINUED_AS_NEW);
  auto* ca = closed.mutable_workflow_execution_continued_as_new_event_attributes();
  ca->set_new_execution_run_id(new_run_id);
  *ca->mutable_workflow_type() = type;
  *ca->mutable_task_queue() = queue;
  if (c.has_input()) *ca->mutable_input() = c.input();
  *ca->mutable_workflow_run_timeout() = run_timeout;
  *ca->mutable_workflow_task_timeout() = task_timeout;
  ca->set_workflow_task_completed_event_id(completed_id);
  ca->set_initiator(enums::CONTINUE_AS_NEW_INITIATOR_WORKFLOW);
  if (c.has_header()) *ca->mutable_header() = c.header();
  if (c.has_memo()) *ca->mutable_memo() = c.memo();
  if (c.has_search_attributes()) *ca->mutable_search_attributes() = c.search_attributes();

  HistoryEvent started;
  started.set_event_type(enums::EVENT_TYPE_WORKFLOW_EXECUTION_STARTED);
  auto* sa = started.mutable_workflow_execution_started_event_attributes();
  *sa->mutable_workflow_type() = type;
  *sa->mutable_task_queue() = queue;
  if (c.has_input()) *sa->mutable_input() = c.input();
  *sa->mutable_workflow_execution_timeout() = old.workflow_execution_timeout();
  *sa->mutable_workflow_run_timeout() = run_timeout;
  *sa->mutable_workflow_task_timeout() = task_timeout;
  sa->set_continued_execution_run_id(old.run_id());
  sa->set_initiator(enums::CONTINUE_AS_NEW_INITIATOR_WORKFLOW);
  sa->set_original_execution_run_id(new_run_id);
  sa->set_identity(identity);
  sa->set_first_execution_run_id(old.first_execution_run_id());
  sa->set_attempt(1);
  *sa->mutable_first_workflow_task_backoff() = duration_from_ms(0);
  if (c.has_memo()) *sa->mutable_memo() = c.memo();
  if (c.has_search_attributes()) *sa->mutable_search_attributes() = c.search_attributes();
  if (c.has_header()) *sa->mutable_header() = c.header();
  sa->set_workflow_id(old.workflow_id());
  // The chain keeps the execution deadline its first run was given.
  if (old.has_execution_expiration_time())
    *sa->mutable_workflow_execution_expiration_time() = old.execution_expiration_time();

  NewRun& next = u.start_successor(ExecutionKey{old.namespace_(), old.workflow_id(), new_run_id});
  next.state.mutable_execution()->set_start_request_id(new_uuid());
  u.append(std::move(closed));  // closes this run: its pending activities and timers are dropped
  begin_run(next.update, std::move(started));
}

ws::SignalWorkflowExecutionResponse HistoryEngine::signal_workflow_execution(
    const ws::SignalWorkflowExecutionRequest& req) {
  check_namespace(*this, req.namespace_());
  if (req.workflow_execution().workflow_id().empty()) throw invalid_argument("WorkflowId is not set on request");
  if (req.signal_name().empty()) throw invalid_argument("SignalName is not set on request");
  ExecutionKey key{req.namespace_(), req.workflow_execution().workflow_id(), req.workflow_execution().run_id()};
  update_run(key, [&](ExecutionUpdate& u) {
    auto& st = u.state();
    if (!is_running(st)) throw not_found("workflow execution already completed");
    if (!req.request_id().empty()) {
      for (const auto& seen : st.signal_request_ids())
        if (seen == req.request_id()) return;  // a retried request: applied already
      st.add_signal_request_ids(req.request_id());
    }
    HistoryEvent e;
    e.set_event_type(enums::EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED);
    auto* a = e.mutable_workflow_execution_signaled_event_attributes();
    a->set_signal_name(req.signal_name());
    if (req.has_input()) *a->mutable_input() = req.input();
    a->set_identity(req.identity());
    if (req.has_header()) *a->mutable_header() = req.header();
    a->set_request_id(req.request_id());
    u.append(std::move(e));
    schedule_workflow_task_if_needed(u);
  });
  return {};
}

namespace {
// A client that names the first run of a chain (first_execution_run_id, as the TypeScript client's
// handle does) means that chain only: a later, unrelated run under the same workflow id is not
// found, rather than cancelled or terminated in its place.
void check_first_execution_run_id(const MutableState& st, const std::string& first_execution_run_id) {
  if (!first_execution_run_id.empty() && st.execution().first_execution_run_id() != first_execution_run_id)
    throw not_found("workflow execution not found: the current run of " + st.execution().workflow_id() +
                    " was not started by the chain of run " + first_execution_run_id);
}
}  // namespace

ws::RequestCancelWorkflowExecutionResponse HistoryEngine::request_cancel_workflow_execution(
    const ws::RequestCancelWorkflowExecutionRequest& req) {
  check_namespace(*this, req.namespace_());
  if (req.workflow_execution().workflow_id().empty()) throw invalid_argument("WorkflowId is not set on request");
  ExecutionKey key{req.namespace_(), req.workflow_execution().workflow_id(), req.workflow_execution().run_id()};
  update_run(key, [&](ExecutionUpdate& u) {
    auto& st = u.state();
    if (!is_running(st)) throw not_found("workflow execution already completed");
    check_first_execution_run_id(st, req.first_execution_run_id());
    if (st.cancel_requested()) return;  // cancellation is idempotent, as in Temporal
    HistoryEvent e;
    e.set_event_type(enums::EVENT_TYPE_WORKFLOW_EXECUTION_CANCEL_REQUESTED);
    auto* a = e.mutable_workflow_execution_cancel_requested_event_attributes();
    a->set_cause(req.reason());
    a->set_identity(req.identity());
    u.append(std::move(e));
    schedule_workflow_task_if_needed(u);
  });
  return {};
}

void HistoryEngine::force_close_workflow_task(ExecutionUpdate& u) {
  if (workflow_task_in_flight(u.state())) {
    // The worker's answer can no longer be accepted: fail its task first, as Temporal does
    // (with no failure details; a transient attempt writes nothing).
    fail_workflow_task(u, enums::WORKFLOW_TASK_FAILED_CAUSE_FORCE_CLOSE_COMMAND, Failure{}, "history-service");
  }
  u.flush_buffer();
}

void HistoryEngine::terminate_run(ExecutionUpdate& u, const std::string& reason, const Payloads& details,
                                  const std::string& identity) {
  force_close_workflow_task(u);
  HistoryEvent e;
  e.set_event_type(enums::EVENT_TYPE_WORKFLOW_EXECUTION_TERMINATED);
  auto* a = e.mutable_workflow_execution_terminated_event_attributes();
  a->set_reason(reason);
  if (details.payloads_size() > 0) *a->mutable_details() = details;
  a->set_identity(identity);
  u.append(std::move(e));
}

ws::TerminateWorkflowExecutionResponse HistoryEngine::terminate_workflow_execution(
    const ws::TerminateWorkflowExecutionRequest& req) {
  check_namespace(*this, req.namespace_());
  if (req.workflow_execution().workflow_id().empty()) throw invalid_argument("WorkflowId is not set on request");
  ExecutionKey key{req.namespace_(), req.workflow_execution().workflow_id(), req.workflow_execution().run_id()};
  update_run(key, [&](ExecutionUpdate& u) {
    if (!is_running(u.state())) throw not_found("workflow execution already completed");
    check_first_execution_run_id(u.state(), req.first_execution_run_id());
    terminate_run(u, req.reason(), req.details(), req.identity());
  });
  return {};
}

void HistoryEngine::on_workflow_timeout_timer(const TimerRow& timer) {
  update_run(timer.execution, [&](ExecutionUpdate& u) {
    u.remove_timer(timer.id);
    if (!is_running(u.state())) return;
    force_close_workflow_task(u);
    // As Temporal decides it: past the execution deadline no retry could run (TIMEOUT); before it
    // a run timeout would be retried by a workflow retry policy, which Reprise's runs never have.
    const auto& info = u.state().execution();
    const bool execution_expired =
        info.has_execution_expiration_time() && u.now_ms() >= ms_from_timestamp(info.execution_expiration_time());
    HistoryEvent e;
    e.set_event_type(enums::EVENT_TYPE_WORKFLOW_EXECUTION_TIMED_OUT);
    e.mutable_workflow_execution_timed_out_event_attributes()->set_retry_state(
        execution_expired ? enums::RETRY_STATE_TIMEOUT : enums::RETRY_STATE_RETRY_POLICY_NOT_SET);
    u.append(std::move(e));
  });
}

ws::DescribeWorkflowExecutionResponse HistoryEngine::describe_workflow_execution(
    const ws::DescribeWorkflowExecutionRequest& req) {
  check_namespace(*this, req.namespace_());
  if (req.execution().workflow_id().empty()) throw invalid_argument("WorkflowId is not set on request");
  ExecutionKey key{req.namespace_(), req.execution().workflow_id(), req.execution().run_id()};
  auto ctx = context_for(key.namespace_, key.workflow_id);
  std::lock_guard lock(ctx->turn);
  const LoadedRun& run = load_run(*ctx, key);
  const MutableState& st = run.state;
  const auto& info = st.execution();

  ws::DescribeWorkflowExecutionResponse resp;
  auto* config = resp.mutable_execution_config();
  config->mutable_task_queue()->set_name(info.task_queue());
  config->mutable_task_queue()->set_kind(enums::TASK_QUEUE_KIND_NORMAL);
  *config->mutable_workflow_execution_timeout() = info.workflow_execution_timeout();
  *config->mutable_workflow_run_timeout() = info.workflow_run_timeout();
  *config->mutable_default_workflow_task_timeout() = info.workflow_task_timeout();

  auto* wi = resp.mutable_workflow_execution_info();
  wi->mutable_execution()->set_workflow_id(info.workflow_id());
  wi->mutable_execution()->set_run_id(info.run_id());
  wi->mutable_type()->set_name(info.workflow_type());
  *wi->mutable_start_time() = info.start_time();
  if (info.has_close_time()) *wi->mutable_close_time() = info.close_time();
  wi->set_status(info.status());
  wi->set_history_length(st.next_event_id() - 1);
  *wi->mutable_execution_time() = info.start_time();
  wi->set_task_queue(info.task_queue());
  wi->set_state_transition_count(st.state_transition_count());
  wi->set_first_run_id(info.first_execution_run_id());

  for (const auto& [id, act] : st.activities()) {
    auto* pa = resp.add_pending_activities();
    pa->set_activity_id(act.activity_id());
    pa->mutable_activity_type()->set_name(act.activity_type());
    pa->set_state(act.cancel_requested() ? enums::PENDING_ACTIVITY_STATE_CANCEL_REQUESTED
                  : act.started()        ? enums::PENDING_ACTIVITY_STATE_STARTED
                                         : enums::PENDING_ACTIVITY_STATE_SCHEDULED);
    if (act.has_heartbeat_details()) *pa->mutable_heartbeat_details() = act.heartbeat_details();
    if (act.has_last_heartbeat_time()) *pa->mutable_last_heartbeat_time() = act.last_heartbeat_time();
    if (act.has_started_time()) *pa->mutable_last_started_time() = act.started_time();
    pa->set_attempt(act.attempt());
    pa->set_maximum_attempts(act.retry_policy().maximum_attempts());
    *pa->mutable_scheduled_time() = act.current_attempt_scheduled_time();
    if (int64_t s2c = ms_from_duration(act.schedule_to_close_timeout()); s2c > 0)
      *pa->mutable_expiration_time() = timestamp_from_ms(ms_from_timestamp(act.scheduled_time()) + s2c);
    if (act.has_last_failure()) *pa->mutable_last_failure() = act.last_failure();
    pa->set_last_worker_identity(act.last_worker_identity());
  }
  if (st.has_workflow_task()) {
    const auto& wt = st.workflow_task();
    auto* pw = resp.mutable_pending_workflow_task();
    pw->set_state(wt.started_event_id() ? enums::PENDING_WORKFLOW_TASK_STATE_STARTED
                                        : enums::PENDING_WORKFLOW_TASK_STATE_SCHEDULED);
    *pw->mutable_scheduled_time() = wt.scheduled_time();
    *pw->mutable_original_scheduled_time() = wt.scheduled_time();
    if (wt.has_started_time()) *pw->mutable_started_time() = wt.started_time();
    pw->set_attempt(wt.attempt());
  }
  return resp;
}

namespace {

// Reprise understands a small part of Temporal's list filter language:
//   WorkflowId = 'x' AND WorkflowType = 'y' AND ExecutionStatus = 'Running'
history::ListFilter parse_list_query(const std::string& ns, const std::string& query) {
  history::ListFilter filter;
  filter.namespace_ = ns;
  static const std::regex clause(R"re(^\s*(\w+)\s*=\s*(?:'([^']*)'|"([^"]*)")\s*(?:(?:AND|and)\s+|$))re");
  std::string rest = query;
  while (!rest.empty() && rest.find_first_not_of(" \t") != std::string::npos) {
    std::smatch m;
    if (!std::regex_search(rest, m, clause))
      throw invalid_argument("invalid query \"" + query +
                             "\": Reprise understands WorkflowId, WorkflowType and ExecutionStatus compared with = "
                             "to a quoted value, joined by AND");
    std::string field = m[1];
    std::string value = m[2].matched ? m[2].str() : m[3].str();
    if (field == "WorkflowId") {
      filter.workflow_id = value;
    } else if (field == "WorkflowType") {
      filter.workflow_type = value;
    } else if (field == "ExecutionStatus") {
      static const std::map<std::string, int> statuses{
          {"Running", enums::WORKFLOW_EXECUTION_STATUS_RUNNING},
          {"Completed", enums::WORKFLOW_EXECUTION_STATUS_COMPLETED},
          {"Failed", enums::WORKFLOW_EXECUTION_STATUS_FAILED},
          {"Canceled", enums::WORKFLOW_EXECUTION_STATUS_CANCELED},
          {"Terminated", enums::WORKFLOW_EXECUTION_STATUS_TERMINATED},
          {"ContinuedAsNew", enums::WORKFLOW_EXECUTION_STATUS_CONTINUED_AS_NEW},
          {"TimedOut", enums::WORKFLOW_EXECUTION_STATUS_TIMED_OUT}};
      auto it = statuses.find(value);
      if (it == statuses.end())
        throw invalid_argument("invalid ExecutionStatus '" + value +
                               "': use Running, Completed, Failed, Canceled, Terminated, ContinuedAsNew or TimedOut");
      filter.status = it->second;
    } else {
      throw invalid_argument("invalid query: unknown field " + field +
                             " (Reprise filters on WorkflowId, WorkflowType and ExecutionStatus)");
    }
    rest = m.suffix();
  }
  return filter;
}

api::workflow::v1::WorkflowExecutionInfo info_from_row(const history::ExecutionRow& row) {
  api::workflow::v1::WorkflowExecutionInfo wi;
  wi.mutable_execution()->set_workflow_id(row.key.workflow_id);
  wi.mutable_execution()->set_run_id(row.key.run_id);
  wi.mutable_type()->set_name(row.workflow_type);
  *wi.mutable_start_time() = timestamp_from_ms(row.start_time_ms);
  *wi.mutable_execution_time() = timestamp_from_ms(row.start_time_ms);
  if (row.close_time_ms) *wi.mutable_close_time() = timestamp_from_ms(row.close_time_ms);
  wi.set_status(static_cast<enums::WorkflowExecutionStatus>(row.status));
  wi.set_history_length(row.next_event_id - 1);
  wi.set_task_queue(row.task_queue);
  return wi;
}

}  // namespace

ws::ListWorkflowExecutionsResponse HistoryEngine::list_workflow_executions(
    const ws::ListWorkflowExecutionsRequest& req) {
  check_namespace(*this, req.namespace_());
  history::ListFilter filter = parse_list_query(req.namespace_(), req.query());
  filter.page_size = req.page_size() > 0 ? std::min(req.page_size(), 1000) : 100;
  if (!req.next_page_token().empty()) {
    try {
      filter.after = std::stoll(req.next_page_token());
    } catch (const std::exception&) {
      throw invalid_argument("next_page_token is malformed");
    }
  }
  auto page = store_.list_executions(filter);
  ws::ListWorkflowExecutionsResponse resp;
  for (const auto& row : page.executions) *resp.add_executions() = info_from_row(row);
  if (page.next) resp.set_next_page_token(std::to_string(page.next));
  return resp;
}

ws::CountWorkflowExecutionsResponse HistoryEngine::count_workflow_executions(
    const ws::CountWorkflowExecutionsRequest& req) {
  check_namespace(*this, req.namespace_());
  ws::CountWorkflowExecutionsResponse resp;
  resp.set_count(store_.count_executions(parse_list_query(req.namespace_(), req.query())));
  return resp;
}

}  // namespace reprise::engine
