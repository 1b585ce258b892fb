// Workflow tasks: how the server asks a worker "what next?" and takes its answer.
//
// Life of one workflow task (events in history):
//   WorkflowTaskScheduled  -- something needs the workflow's attention; a task waits in matching
//   WorkflowTaskStarted    -- a worker polled and got it, with the history it needs to replay
//   WorkflowTaskCompleted  -- the worker answered with commands (commands.cpp writes their events)
//   or WorkflowTaskFailed / WorkflowTaskTimedOut, and a new attempt is scheduled.
//
// Rules kept from Temporal (temporal-semantics.md 1.0, 1.4, 1.12, 1.13):
//   - one workflow task at a time; what arrives meanwhile is buffered (execution_update.cpp);
//   - attempts >= 2 are *transient*: their Scheduled/Started events are not written unless the
//     attempt completes, so a workflow stuck on a bug does not grow its history;
//   - a worker may ask for its next tasks on its own sticky queue; it then gets only new events,
//     and if it does not pick the task up within the schedule-to-start timeout the task moves back
//     to the normal queue with the full history; once its worker has shut down (ShutdownWorker), new
//     tasks skip the sticky queue;
//   - a completion may ask for the next task inline (return_new_workflow_task).
// Exercised by tests/engine/server_workflow_task_test.cpp, server_sticky_test.cpp and
// server_buffering_test.cpp.
#include <google/protobuf/unknown_field_set.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <random>

#include "history/history_bytes.h"
#include "long_poll.h"
#include "time_util.h"
#include "update_run.h"

namespace reprise::engine {

namespace {

TaskQueue normal_queue(const MutableState& st) {
  TaskQueue tq;
  tq.set_name(st.execution().task_queue());
  tq.set_kind(enums::TASK_QUEUE_KIND_NORMAL);
  return tq;
}

int64_t workflow_task_timeout_ms(const MutableState& st) {
  return ms_from_duration(st.execution().workflow_task_timeout());
}

// The start-to-close timeout of a workflow task's attempt: the workflow's task timeout, and from
// attempt 4 on that plus a growing delay (5 s, doubling per attempt, at most 10 min, its last fifth
// random), as Temporal's workflow task state machine does: a workflow stuck on a failing task is
// tried ever more slowly instead of every task timeout forever (temporal-semantics.md 1.12).
google::protobuf::Duration workflow_task_start_to_close(const MutableState& st, int32_t attempt) {
  constexpr int32_t kAttemptsAtTaskTimeout = 3;
  constexpr int64_t kInitialMs = 5'000, kMaximumMs = 600'000;
  if (attempt <= kAttemptsAtTaskTimeout) return st.execution().workflow_task_timeout();
  const int doublings = std::min(attempt - kAttemptsAtTaskTimeout - 1, 20);
  const int64_t delay = std::min(kInitialMs << doublings, kMaximumMs);
  thread_local std::mt19937_64 random{std::random_device{}()};
  const int64_t jitter = std::uniform_int_distribution<int64_t>(0, delay / 5 - 1)(random);
  return duration_from_ms(workflow_task_timeout_ms(st) + delay - delay / 5 + jitter);
}

// When the started workflow task times out start-to-close.
int64_t start_to_close_deadline_ms(const MutableState& st) {
  const auto& wt = st.workflow_task();
  int64_t timeout = ms_from_duration(wt.start_to_close_timeout());
  if (timeout <= 0) timeout = workflow_task_timeout_ms(st);
  return ms_from_timestamp(wt.started_time()) + timeout;
}

// A failure the server itself reports in a WorkflowTaskFailed event.
Failure server_failure(const std::string& message) {
  Failure failure;
  failure.set_message(message);
  failure.set_source("Server");
  failure.mutable_server_failure_info();
  return failure;
}

void check_workflow_task_token(const MutableState& st, const TaskToken& token) {
  if (st.execution().status() != enums::WORKFLOW_EXECUTION_STATUS_RUNNING)
    throw not_found("workflow execution already completed");
  const auto& wt = st.workflow_task();
  if (!st.has_workflow_task() || wt.scheduled_event_id() != token.scheduled_event_id() ||
      wt.started_event_id() != token.started_event_id() || wt.attempt() != token.attempt() ||
      wt.started_event_id() == 0)
    throw not_found("workflow task not found: it was already completed, failed or timed out");
}

// True while `task` is still the run's workflow task: the same attempt, on the same queue, of a
// running run. Whether it has started yet is the caller's question.
bool is_current_task(const MutableState& st, const TaskRow& task) {
  const auto& wt = st.workflow_task();
  return is_running(st) && st.has_workflow_task() && wt.scheduled_event_id() == task.scheduled_event_id &&
         wt.attempt() == task.attempt && wt.task_queue().name() == task.task_queue;
}

StartedWorkflowTask snapshot(const ExecutionKey& key, const MutableState& st) {
  StartedWorkflowTask s;
  s.key = key;
  s.workflow_type = st.execution().workflow_type();
  s.normal_queue = st.execution().task_queue();
  s.task = st.workflow_task();
  s.previous_started_event_id = st.last_completed_workflow_task_started_event_id();
  s.sticky = st.workflow_task().task_queue().kind() == enums::TASK_QUEUE_KIND_STICKY;
  return s;
}
}  // namespace

void HistoryEngine::schedule_workflow_task(ExecutionUpdate& u, int32_t attempt, bool to_waiting_poller) {
  auto& st = u.state();
  TaskQueue tq = normal_queue(st);
  bool sticky = !st.sticky().worker_task_queue().name().empty();
  if (sticky && sticky_queue_shut_down(u.key().namespace_, st.sticky().worker_task_queue().name())) {
    st.clear_sticky();  // its worker said goodbye: nobody will poll that queue again
    u.touch();
    sticky = false;
  }
  if (sticky) {
    tq.set_name(st.sticky().worker_task_queue().name());
    tq.set_kind(enums::TASK_QUEUE_KIND_STICKY);
    tq.set_normal_name(st.execution().task_queue());
  }
  int64_t scheduled_id;
  if (attempt >= 2) {
    // Transient: remembered in mutable state only; its events are written if it ever completes.
    auto* wt = st.mutable_workflow_task();
    wt->Clear();
    wt->set_scheduled_event_id(st.next_event_id());
    wt->set_attempt(attempt);
    *wt->mutable_task_queue() = tq;
    *wt->mutable_scheduled_time() = timestamp_from_ms(u.now_ms());
    *wt->mutable_start_to_close_timeout() = workflow_task_start_to_close(st, attempt);
    wt->set_transient(true);
    scheduled_id = wt->scheduled_event_id();
    u.touch();
  } else {
    HistoryEvent e;
    e.set_event_type(enums::EVENT_TYPE_WORKFLOW_TASK_SCHEDULED);
    auto* a = e.mutable_workflow_task_scheduled_event_attributes();
    *a->mutable_task_queue() = tq;
    *a->mutable_start_to_close_timeout() = workflow_task_start_to_close(st, attempt);
    a->set_attempt(attempt);
    scheduled_id = u.append(std::move(e));
  }
  history::TaskRow task;
  task.kind = TaskKind::WorkflowTask;
  task.task_queue = tq.name();
  task.execution = u.key();
  task.scheduled_event_id = scheduled_id;
  task.attempt = attempt;
  task.created_time_ms = u.now_ms();
  if (to_waiting_poller) {
    if (auto poller = matching_->claim(QueueKey{u.key().namespace_, tq.name(), TaskKind::WorkflowTask})) {
      // A worker is already waiting on the queue: the task starts for it in this transaction and
      // goes to it after the commit (AfterCommit, started_for_claim). No task row, no sticky
      // timeout, no second transaction.
      start_workflow_task(u, poller->identity(), new_uuid());
      u.claimed_tasks.push_back({std::move(poller), std::move(task)});
      return;
    }
  }
  u.add_task(std::move(task));
  if (sticky) {
    int64_t timeout = ms_from_duration(st.sticky().schedule_to_start_timeout());
    if (timeout <= 0) timeout = options_.default_sticky_schedule_to_start_ms;
    u.add_timer(history::TimerKind::WorkflowTaskScheduleToStart, u.now_ms() + timeout, scheduled_id, attempt);
  }
}

std::optional<StartedWorkflowTask> HistoryEngine::started_for_claim(const ExecutionKey& key, const MutableState& st,
                                                                    const history::TaskRow& task) {
  if (!is_current_task(st, task) || st.workflow_task().started_event_id() == 0) return std::nullopt;
  return snapshot(key, st);
}

void HistoryEngine::schedule_workflow_task_retry(ExecutionUpdate& u, int32_t failed_attempt, bool was_sticky) {
  auto& st = u.state();
  st.clear_sticky();  // a failed or timed-out task goes back to the normal queue
  u.touch();
  if (st.buffered_events_size() > 0) {
    // New events arrived meanwhile: they are written now, and the next task is a normal attempt 1.
    u.flush_buffer();
    schedule_workflow_task(u, 1);
    return;
  }
  schedule_workflow_task(u, was_sticky ? 1 : failed_attempt + 1);
}

void HistoryEngine::schedule_workflow_task_if_needed(ExecutionUpdate& u) {
  auto& st = u.state();
  if (!u.needs_workflow_task || st.execution().status() != enums::WORKFLOW_EXECUTION_STATUS_RUNNING) return;
  if (!st.has_workflow_task()) {
    schedule_workflow_task(u, 1);
  } else if (st.workflow_task().transient() && st.workflow_task().started_event_id() == 0) {
    // A transient attempt waiting in the queue becomes a normal attempt 1 now that history moved on.
    st.clear_workflow_task();
    schedule_workflow_task(u, 1);
  }
}

void HistoryEngine::start_workflow_task(ExecutionUpdate& u, const std::string& identity,
                                        const std::string& request_id) {
  auto& st = u.state();
  auto* wt = st.mutable_workflow_task();
  if (wt->transient()) {
    wt->set_started_event_id(wt->scheduled_event_id() + 1);
    *wt->mutable_started_time() = timestamp_from_ms(u.now_ms());
    wt->set_started_identity(identity);
    wt->set_started_request_id(request_id);
    u.touch();
  } else {
    HistoryEvent e;
    e.set_event_type(enums::EVENT_TYPE_WORKFLOW_TASK_STARTED);
    auto* a = e.mutable_workflow_task_started_event_attributes();
    a->set_scheduled_event_id(wt->scheduled_event_id());
    a->set_identity(identity);
    a->set_request_id(request_id);
    u.append(std::move(e));
  }
  arm_workflow_task_start_to_close(u);
}

void HistoryEngine::arm_workflow_task_start_to_close(ExecutionUpdate& u) {
  const auto& st = u.state();
  if (st.execution().status() != enums::WORKFLOW_EXECUTION_STATUS_RUNNING || !st.has_workflow_task() ||
      st.workflow_task().started_event_id() == 0)
    return;
  arm_start_to_close(u, history::TimerKind::WorkflowTaskStartToClose, start_to_close_deadline_ms(st),
                     st.workflow_task().scheduled_event_id(), st.workflow_task().attempt());
}

// Writes the Scheduled/Started events of a transient attempt that is about to complete.
static void write_transient_events(ExecutionUpdate& u) {
  auto& st = u.state();
  if (!st.workflow_task().transient()) return;
  WorkflowTaskInfo wt = st.workflow_task();
  HistoryEvent scheduled;
  scheduled.set_event_type(enums::EVENT_TYPE_WORKFLOW_TASK_SCHEDULED);
  *scheduled.mutable_event_time() = wt.scheduled_time();
  auto* sa = scheduled.mutable_workflow_task_scheduled_event_attributes();
  *sa->mutable_task_queue() = wt.task_queue();
  *sa->mutable_start_to_close_timeout() = wt.start_to_close_timeout();
  sa->set_attempt(wt.attempt());
  u.append(std::move(scheduled));
  HistoryEvent started;
  started.set_event_type(enums::EVENT_TYPE_WORKFLOW_TASK_STARTED);
  *started.mutable_event_time() = wt.started_time();
  auto* ta = started.mutable_workflow_task_started_event_attributes();
  ta->set_scheduled_event_id(wt.scheduled_event_id());
  ta->set_identity(wt.started_identity());
  ta->set_request_id(wt.started_request_id());
  u.append(std::move(started));
}

void HistoryEngine::fail_workflow_task(ExecutionUpdate& u, enums::WorkflowTaskFailedCause cause, const Failure& failure,
                                       const std::string& identity) {
  auto& st = u.state();
  const auto& wt = st.workflow_task();
  if (wt.transient()) {
    st.clear_workflow_task();  // a failed transient attempt leaves no trace in history
    u.touch();
    return;
  }
  HistoryEvent e;
  e.set_event_type(enums::EVENT_TYPE_WORKFLOW_TASK_FAILED);
  auto* a = e.mutable_workflow_task_failed_event_attributes();
  a->set_scheduled_event_id(wt.scheduled_event_id());
  a->set_started_event_id(wt.started_event_id());
  a->set_cause(cause);
  if (failure.ByteSizeLong() > 0) *a->mutable_failure() = failure;  // a force-close carries none
  a->set_identity(identity);
  u.append(std::move(e));
}

ws::PollWorkflowTaskQueueResponse HistoryEngine::build_workflow_task_response(const StartedWorkflowTask& s) {
  ws::PollWorkflowTaskQueueResponse resp;
  TaskToken token;
  token.set_kind(TaskToken::KIND_WORKFLOW_TASK);
  token.set_namespace_(s.key.namespace_);
  token.set_workflow_id(s.key.workflow_id);
  token.set_run_id(s.key.run_id);
  token.set_scheduled_event_id(s.task.scheduled_event_id());
  token.set_started_event_id(s.task.started_event_id());
  token.set_attempt(s.task.attempt());
  resp.set_task_token(encode_task_token(token));
  resp.mutable_workflow_execution()->set_workflow_id(s.key.workflow_id);
  resp.mutable_workflow_execution()->set_run_id(s.key.run_id);
  resp.mutable_workflow_type()->set_name(s.workflow_type);
  resp.set_previous_started_event_id(s.previous_started_event_id);
  resp.set_started_event_id(s.task.started_event_id());
  resp.set_attempt(s.task.attempt());
  resp.mutable_workflow_execution_task_queue()->set_name(s.normal_queue);
  resp.mutable_workflow_execution_task_queue()->set_kind(enums::TASK_QUEUE_KIND_NORMAL);
  *resp.mutable_scheduled_time() = s.task.scheduled_time();
  *resp.mutable_started_time() = s.task.started_time();

  // A sticky worker still has the workflow in its cache: it needs only what happened since its last
  // task, starting at that task's WorkflowTaskCompleted. Everybody else replays from event 1.
  int64_t first = (s.sticky && s.previous_started_event_id > 0) ? s.previous_started_event_id + 1 : 1;
  int64_t last_written = s.task.transient() ? s.task.scheduled_event_id() - 1 : s.task.started_event_id();

  // The events go out as the bytes the store keeps (history/history_bytes.h): the history is put
  // together in its wire form and attached as the response's `history` field, as an unknown field,
  // which protobuf writes out verbatim. The worker parses an ordinary History; the server decodes
  // no event only to encode it again.
  std::string history_bytes;
  if (last_written >= first) history_bytes = store_.read_history_bytes(s.key, first, last_written - first + 1);
  if (s.task.transient()) {
    // The transient attempt's own events exist only in this response.
    HistoryEvent scheduled;
    scheduled.set_event_id(s.task.scheduled_event_id());
    *scheduled.mutable_event_time() = s.task.scheduled_time();
    scheduled.set_event_type(enums::EVENT_TYPE_WORKFLOW_TASK_SCHEDULED);
    auto* sa = scheduled.mutable_workflow_task_scheduled_event_attributes();
    *sa->mutable_task_queue() = s.task.task_queue();
    *sa->mutable_start_to_close_timeout() = s.task.start_to_close_timeout();
    sa->set_attempt(s.task.attempt());
    history::append_history_event(history_bytes, scheduled.SerializeAsString());
    HistoryEvent started;
    started.set_event_id(s.task.started_event_id());
    *started.mutable_event_time() = s.task.started_time();
    started.set_event_type(enums::EVENT_TYPE_WORKFLOW_TASK_STARTED);
    auto* ta = started.mutable_workflow_task_started_event_attributes();
    ta->set_scheduled_event_id(s.task.scheduled_event_id());
    ta->set_identity(s.task.started_identity());
    ta->set_request_id(s.task.started_request_id());
    history::append_history_event(history_bytes, started.SerializeAsString());
  }
  *resp.GetReflection()->MutableUnknownFields(&resp)->AddLengthDelimited(
      ws::PollWorkflowTaskQueueResponse::kHistoryFieldNumber) = std::move(history_bytes);
  return resp;
}

void HistoryEngine::shutdown_worker(const ws::ShutdownWorkerRequest& req) {
  if (!namespace_exists(req.namespace_())) throw not_found("namespace " + req.namespace_() + " is not found");
  if (req.sticky_task_queue().empty()) return;
  std::lock_guard lock(shut_down_sticky_mu_);
  shut_down_sticky_queues_.insert(req.namespace_() + "/" + req.sticky_task_queue());
}

bool HistoryEngine::sticky_queue_shut_down(const std::string& ns, const std::string& queue) {
  std::lock_guard lock(shut_down_sticky_mu_);
  return shut_down_sticky_queues_.count(ns + "/" + queue) != 0;
}

std::shared_ptr<PollHandle> HistoryEngine::poll_workflow_task_queue(
    const ws::PollWorkflowTaskQueueRequest& req, SteadyTime client_deadline,
    std::function<void(ws::PollWorkflowTaskQueueResponse)> done) {
  if (!namespace_exists(req.namespace_())) throw not_found("namespace " + req.namespace_() + " is not found");
  if (req.task_queue().name().empty()) throw invalid_argument("TaskQueue is not set on request");
  QueueKey queue{req.namespace_(), req.task_queue().name(), TaskKind::WorkflowTask};
  auto poll = std::make_shared<TaskLongPoll<ws::PollWorkflowTaskQueueResponse>>(
      *matching_, queue, poll_deadline(client_deadline, options_.long_poll_timeout), req.identity(),
      [this, req](const TaskRow& task) -> std::optional<ws::PollWorkflowTaskQueueResponse> {
        std::optional<StartedWorkflowTask> started;
        update_run(task.execution, [&](ExecutionUpdate& u) {
          u.remove_task(task.id);
          auto& st = u.state();
          if (!is_current_task(st, task) || st.workflow_task().started_event_id() != 0)
            return;  // stale: the task was already started, timed out or the run closed
          start_workflow_task(u, req.identity(), new_uuid());
          started = snapshot(u.key(), st);
        });
        if (!started) return std::nullopt;
        return build_workflow_task_response(*started);
      },
      std::move(done));
  poll->park();
  return poll;
}

// What completing a workflow task leaves to answer once it is committed.
struct HistoryEngine::Completion {
  std::optional<StartedWorkflowTask> inline_task;  // return_new_workflow_task: the next task, started
  std::vector<ws::PollActivityTaskQueueResponse> eager_tasks;
  std::optional<EngineError> refused;  // the commands were refused: WorkflowTaskFailed was written
};

void HistoryEngine::respond_workflow_task_completed(const ws::RespondWorkflowTaskCompletedRequest& req,
                                                    Reply<ws::RespondWorkflowTaskCompletedResponse> reply) {
  TaskToken token = decode_task_token(req.task_token());
  if (token.kind() != TaskToken::KIND_WORKFLOW_TASK) throw invalid_argument("task token is not a workflow task's");
  ExecutionKey key{token.namespace_(), token.workflow_id(), token.run_id()};
  update_run_async(
      key, [this, &req, token](ExecutionUpdate& u) { return complete_workflow_task(u, req, token); },
      [this, reply = std::move(reply)](Completion c, std::exception_ptr error) {
        if (!error && c.refused) error = std::make_exception_ptr(*c.refused);
        if (error) return reply({}, error);
        ws::RespondWorkflowTaskCompletedResponse resp;
        try {
          if (c.inline_task) *resp.mutable_workflow_task() = build_workflow_task_response(*c.inline_task);
        } catch (...) {
          return reply({}, std::current_exception());
        }
        for (auto& t : c.eager_tasks) *resp.add_activity_tasks() = std::move(t);
        reply(std::move(resp), nullptr);
      });
}

HistoryEngine::Completion HistoryEngine::complete_workflow_task(ExecutionUpdate& u,
                                                                const ws::RespondWorkflowTaskCompletedRequest& req,
                                                                const TaskToken& token) {
  Completion c;
  auto& st = u.state();
  check_workflow_task_token(st, token);
  if (auto malformed = validate_command_sequence(req.commands())) throw invalid_argument(*malformed);
  const bool was_sticky = st.workflow_task().task_queue().kind() == enums::TASK_QUEUE_KIND_STICKY;
  const int32_t attempt = st.workflow_task().attempt();

  if (auto bad = validate_commands(st, req.commands(), options_.max_pending_activities)) {
    // Nothing of the completion is applied; the worker is told why. On a transient attempt
    // nothing else happens either: the task is left to time out, as in Temporal, so a workflow
    // stuck on a bug (or on a command Reprise does not support) retries at the timeout's pace
    // instead of spinning. (Temporal's one exception, UNHANDLED_COMMAND for events that arrived
    // during the task, is the branch below, which never comes here.)
    if (attempt > 1) throw invalid_argument(bad->describe());
    fail_workflow_task(u, bad->cause, server_failure(bad->describe()), req.identity());
    schedule_workflow_task_retry(u, attempt, was_sticky);
    c.refused.emplace(invalid_argument(bad->describe()));
    return c;
  }
  if (has_close_command(req.commands()) && st.buffered_events_size() > 0) {
    // New events arrived while the worker was deciding to close: it must see them first. The
    // answer is exactly Temporal's INVALID_ARGUMENT "UnhandledCommand", which SDKs recognise
    // and answer by polling again.
    fail_workflow_task(u, enums::WORKFLOW_TASK_FAILED_CAUSE_UNHANDLED_COMMAND, server_failure("UnhandledCommand"),
                       req.identity());
    schedule_workflow_task_retry(u, attempt, /*was_sticky=*/true);
    c.refused.emplace(invalid_argument("UnhandledCommand"));
    return c;
  }

  write_transient_events(u);
  HistoryEvent completed;
  completed.set_event_type(enums::EVENT_TYPE_WORKFLOW_TASK_COMPLETED);
  auto* ca = completed.mutable_workflow_task_completed_event_attributes();
  ca->set_scheduled_event_id(st.workflow_task().scheduled_event_id());
  ca->set_started_event_id(st.workflow_task().started_event_id());
  ca->set_identity(req.identity());
  ca->set_binary_checksum(req.binary_checksum());
  if (req.has_sdk_metadata()) *ca->mutable_sdk_metadata() = req.sdk_metadata();
  if (req.has_metering_metadata()) *ca->mutable_metering_metadata() = req.metering_metadata();
  if (req.has_worker_version_stamp()) *ca->mutable_worker_version() = req.worker_version_stamp();
  int64_t completed_id = u.append(std::move(completed));

  if (req.has_sticky_attributes() && !req.sticky_attributes().worker_task_queue().name().empty())
    *st.mutable_sticky() = req.sticky_attributes();
  else
    st.clear_sticky();

  apply_commands(u, req.commands(), completed_id, req.identity());
  if (!is_running(st)) return c;
  // The activities the worker asked to run itself, already started (commands.cpp). Their input
  // and header are in the ActivityTaskScheduled events this update is about to write.
  for (int64_t id : u.eager_activities) {
    auto scheduled =
        std::find_if(u.events().begin(), u.events().end(), [id](const HistoryEvent& e) { return e.event_id() == id; });
    if (scheduled == u.events().end())
      throw EngineError(grpc::StatusCode::INTERNAL, "eager activity " + std::to_string(id) + " has no scheduled event");
    c.eager_tasks.push_back(activity_task_response(u.key(), st, st.activities().at(id),
                                                   scheduled->activity_task_scheduled_event_attributes()));
  }

  bool had_buffered = st.buffered_events_size() > 0;
  u.flush_buffer();
  if (had_buffered || req.force_create_new_workflow_task() || u.needs_workflow_task) {
    // A worker that asked for the next task inline gets it in this response, not through a poll.
    if (!st.has_workflow_task()) schedule_workflow_task(u, 1, /*to_waiting_poller=*/!req.return_new_workflow_task());
    if (req.return_new_workflow_task() && st.workflow_task().started_event_id() == 0) {
      // Hand the new task straight back instead of through the queue.
      int64_t scheduled_id = st.workflow_task().scheduled_event_id();
      auto& tasks = u.tasks();
      std::erase_if(tasks, [&](const TaskRow& t) { return t.scheduled_event_id == scheduled_id; });
      std::erase_if(u.timers(), [&](const TimerRow& t) {
        return t.kind == history::TimerKind::WorkflowTaskScheduleToStart && t.event_id == scheduled_id;
      });
      start_workflow_task(u, req.identity(), "request-from-RespondWorkflowTaskCompleted");
      c.inline_task = snapshot(u.key(), st);
    }
  }
  return c;
}

ws::RespondWorkflowTaskFailedResponse HistoryEngine::respond_workflow_task_failed(
    const ws::RespondWorkflowTaskFailedRequest& req) {
  TaskToken token = decode_task_token(req.task_token());
  if (token.kind() != TaskToken::KIND_WORKFLOW_TASK) throw invalid_argument("task token is not a workflow task's");
  ExecutionKey key{token.namespace_(), token.workflow_id(), token.run_id()};
  update_run(key, [&](ExecutionUpdate& u) {
    auto& st = u.state();
    check_workflow_task_token(st, token);
    const bool was_sticky = st.workflow_task().task_queue().kind() == enums::TASK_QUEUE_KIND_STICKY;
    const int32_t attempt = st.workflow_task().attempt();
    auto cause = req.cause() == enums::WORKFLOW_TASK_FAILED_CAUSE_UNSPECIFIED
                     ? enums::WORKFLOW_TASK_FAILED_CAUSE_WORKFLOW_WORKER_UNHANDLED_FAILURE
                     : req.cause();
    fail_workflow_task(u, cause, req.failure(), req.identity());
    schedule_workflow_task_retry(u, attempt, was_sticky);
  });
  return {};
}

void HistoryEngine::on_workflow_task_timer(const TimerRow& timer) {
  update_run(timer.execution, [&](ExecutionUpdate& u) {
    u.remove_timer(timer.id);
    apply_workflow_task_timer(u, timer);
    // The row may have stood for a later task's deadline too (arm_start_to_close).
    if (timer.kind == history::TimerKind::WorkflowTaskStartToClose) arm_workflow_task_start_to_close(u);
  });
}

void HistoryEngine::apply_workflow_task_timer(ExecutionUpdate& u, const TimerRow& timer) {
  auto& st = u.state();
  if (st.execution().status() != enums::WORKFLOW_EXECUTION_STATUS_RUNNING || !st.has_workflow_task()) return;
  const auto& wt = st.workflow_task();
  if (wt.scheduled_event_id() != timer.event_id || wt.attempt() != timer.attempt) return;  // already moved on
  const bool was_sticky = wt.task_queue().kind() == enums::TASK_QUEUE_KIND_STICKY;

  if (timer.kind == history::TimerKind::WorkflowTaskScheduleToStart) {
    if (wt.started_event_id() != 0) return;  // picked up in time
    // Nobody polled the sticky queue: give the task to any worker on the normal queue.
    HistoryEvent e;
    e.set_event_type(enums::EVENT_TYPE_WORKFLOW_TASK_TIMED_OUT);
    auto* a = e.mutable_workflow_task_timed_out_event_attributes();
    a->set_scheduled_event_id(wt.scheduled_event_id());
    a->set_started_event_id(0);
    a->set_timeout_type(enums::TIMEOUT_TYPE_SCHEDULE_TO_START);
    u.append(std::move(e));
    st.clear_sticky();
    schedule_workflow_task(u, 1);
    return;
  }
  if (wt.started_event_id() == 0) return;
  int32_t attempt = wt.attempt();
  if (wt.transient()) {
    st.clear_workflow_task();
    u.touch();
  } else {
    HistoryEvent e;
    e.set_event_type(enums::EVENT_TYPE_WORKFLOW_TASK_TIMED_OUT);
    auto* a = e.mutable_workflow_task_timed_out_event_attributes();
    a->set_scheduled_event_id(wt.scheduled_event_id());
    a->set_started_event_id(wt.started_event_id());
    a->set_timeout_type(enums::TIMEOUT_TYPE_START_TO_CLOSE);
    u.append(std::move(e));
  }
  schedule_workflow_task_retry(u, attempt, was_sticky);
}

}  // namespace reprise::engine
