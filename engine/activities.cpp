// Activities on the server: handing tasks out, heartbeats, results, retries and the four timeouts.
//
// An activity is scheduled once (ActivityTaskScheduled, commands.cpp) and then lives in mutable
// state through any number of attempts. Temporal writes nothing per attempt: a failed attempt that
// will be retried only bumps the attempt in mutable state and arms a backoff timer. When the
// activity finally closes, two events are written together (temporal-semantics.md 1.2):
//   ActivityTaskStarted{attempt: the last one, last_failure: the one before}
//   ActivityTaskCompleted | ActivityTaskFailed | ActivityTaskTimedOut | ActivityTaskCanceled
// Timeouts (2.1): schedule-to-start and schedule-to-close are final; start-to-close and heartbeat
// time out one attempt, which is then retried under the retry policy like any failure.
// Exercised by tests/engine/server_activity_test.cpp, server_activity_retry_test.cpp and
// server_activity_timeout_test.cpp.
#include "long_poll.h"
#include "retry_policy.h"
#include "time_util.h"
#include "update_run.h"

namespace reprise::engine {

namespace {

// When a started attempt times out start-to-close.
int64_t start_to_close_deadline_ms(const ActivityInfo& act) {
  return ms_from_timestamp(act.started_time()) + ms_from_duration(act.start_to_close_timeout());
}

ActivityInfo& check_activity_token(MutableState& st, const TaskToken& token) {
  if (st.execution().status() != enums::WORKFLOW_EXECUTION_STATUS_RUNNING)
    throw not_found("workflow execution already completed");
  auto it = st.mutable_activities()->find(token.scheduled_event_id());
  if (it == st.mutable_activities()->end() || it->second.attempt() != token.attempt() || !it->second.started())
    throw not_found("activity task not found: it already completed, failed, timed out or was retried");
  return it->second;
}

TaskToken activity_token_from(const std::string& bytes) {
  TaskToken token = decode_task_token(bytes);
  if (token.kind() != TaskToken::KIND_ACTIVITY_TASK) throw invalid_argument("task token is not an activity task's");
  return token;
}

Failure timeout_failure(enums::TimeoutType type, const ActivityInfo& act) {
  Failure f;
  f.set_message(std::string("activity ") + timeout_type_short_name(type) + " timeout");
  f.set_source("Server");
  auto* info = f.mutable_timeout_failure_info();
  info->set_timeout_type(type);
  if (act.has_heartbeat_details()) *info->mutable_last_heartbeat_details() = act.heartbeat_details();
  return f;
}

}  // namespace

void HistoryEngine::make_activity_dispatchable(ExecutionUpdate& u, const ActivityInfo& act) {
  history::TaskRow task;
  task.kind = TaskKind::ActivityTask;
  task.task_queue = act.task_queue();
  task.execution = u.key();
  task.scheduled_event_id = act.scheduled_event_id();
  task.attempt = act.attempt();
  task.created_time_ms = u.now_ms();
  u.add_task(std::move(task));
  if (int64_t s2s = ms_from_duration(act.schedule_to_start_timeout()); s2s > 0)
    u.add_timer(history::TimerKind::ActivityScheduleToStart, u.now_ms() + s2s, act.scheduled_event_id(), act.attempt());
}

int64_t HistoryEngine::write_activity_started(ExecutionUpdate& u, const ActivityInfo& act) {
  HistoryEvent e;
  e.set_event_type(enums::EVENT_TYPE_ACTIVITY_TASK_STARTED);
  *e.mutable_event_time() = act.started_time();  // when this attempt started, not now
  auto* a = e.mutable_activity_task_started_event_attributes();
  a->set_scheduled_event_id(act.scheduled_event_id());
  a->set_identity(act.started_identity());
  a->set_request_id(act.started_request_id());
  a->set_attempt(act.attempt());
  if (act.has_last_failure()) *a->mutable_last_failure() = act.last_failure();
  return u.append(std::move(e));
}

void HistoryEngine::start_activity_attempt(ExecutionUpdate& u, ActivityInfo& act, const std::string& identity) {
  act.set_started(true);
  *act.mutable_started_time() = timestamp_from_ms(u.now_ms());
  act.set_started_identity(identity);
  act.set_started_request_id(new_uuid());
  act.set_last_worker_identity(identity);
  act.clear_last_heartbeat_time();
  u.touch();
  arm_start_to_close(u, history::TimerKind::ActivityStartToClose, start_to_close_deadline_ms(act),
                     act.scheduled_event_id(), act.attempt());
  if (int64_t hb = ms_from_duration(act.heartbeat_timeout()); hb > 0)
    u.add_timer(history::TimerKind::ActivityHeartbeat, u.now_ms() + hb, act.scheduled_event_id(), act.attempt());
}

ws::PollActivityTaskQueueResponse activity_task_response(const ExecutionKey& key, const MutableState& st,
                                                         const ActivityInfo& act,
                                                         const ActivityTaskScheduledEventAttributes& scheduled) {
  ws::PollActivityTaskQueueResponse resp;
  TaskToken token;
  token.set_kind(TaskToken::KIND_ACTIVITY_TASK);
  token.set_namespace_(key.namespace_);
  token.set_workflow_id(key.workflow_id);
  token.set_run_id(key.run_id);
  token.set_scheduled_event_id(act.scheduled_event_id());
  token.set_attempt(act.attempt());
  token.set_activity_id(act.activity_id());
  resp.set_task_token(encode_task_token(token));
  resp.set_workflow_namespace(key.namespace_);
  resp.mutable_workflow_type()->set_name(st.execution().workflow_type());
  resp.mutable_workflow_execution()->set_workflow_id(key.workflow_id);
  resp.mutable_workflow_execution()->set_run_id(key.run_id);
  resp.mutable_activity_type()->set_name(act.activity_type());
  resp.set_activity_id(act.activity_id());
  if (scheduled.has_header()) *resp.mutable_header() = scheduled.header();
  if (scheduled.has_input()) *resp.mutable_input() = scheduled.input();
  if (scheduled.has_priority()) *resp.mutable_priority() = scheduled.priority();
  if (act.has_heartbeat_details()) *resp.mutable_heartbeat_details() = act.heartbeat_details();
  *resp.mutable_scheduled_time() = act.scheduled_time();
  *resp.mutable_current_attempt_scheduled_time() = act.current_attempt_scheduled_time();
  *resp.mutable_started_time() = act.started_time();
  resp.set_attempt(act.attempt());
  *resp.mutable_schedule_to_close_timeout() = act.schedule_to_close_timeout();
  *resp.mutable_start_to_close_timeout() = act.start_to_close_timeout();
  *resp.mutable_heartbeat_timeout() = act.heartbeat_timeout();
  *resp.mutable_retry_policy() = act.retry_policy();
  return resp;
}

std::optional<ws::PollActivityTaskQueueResponse> HistoryEngine::start_activity_task(
    const TaskRow& task, const ws::PollActivityTaskQueueRequest& req) {
  return update_run(task.execution, [&](ExecutionUpdate& u) -> std::optional<ws::PollActivityTaskQueueResponse> {
    u.remove_task(task.id);
    auto& st = u.state();
    if (st.execution().status() != enums::WORKFLOW_EXECUTION_STATUS_RUNNING) return std::nullopt;
    auto it = st.mutable_activities()->find(task.scheduled_event_id);
    if (it == st.mutable_activities()->end() || it->second.attempt() != task.attempt || it->second.started())
      return std::nullopt;  // stale
    ActivityInfo& act = it->second;
    start_activity_attempt(u, act, req.identity());

    // Input and header live in the ActivityTaskScheduled event, not in mutable state.
    auto scheduled = store_.read_events(u.key(), act.scheduled_event_id(), 1);
    if (scheduled.empty() || scheduled[0].event_id() != act.scheduled_event_id())
      throw EngineError(grpc::StatusCode::DATA_LOSS, "ActivityTaskScheduled event is missing from history");
    return activity_task_response(u.key(), st, act, scheduled[0].activity_task_scheduled_event_attributes());
  });
}

std::shared_ptr<PollHandle> HistoryEngine::poll_activity_task_queue(
    const ws::PollActivityTaskQueueRequest& req, SteadyTime client_deadline,
    std::function<void(ws::PollActivityTaskQueueResponse)> done) {
  if (!namespace_exists(req.namespace_())) throw not_found("namespace " + req.namespace_() + " is not found");
  if (req.task_queue().name().empty()) throw invalid_argument("TaskQueue is not set on request");
  QueueKey queue{req.namespace_(), req.task_queue().name(), TaskKind::ActivityTask};
  auto poll = std::make_shared<TaskLongPoll<ws::PollActivityTaskQueueResponse>>(
      *matching_, queue, poll_deadline(client_deadline, options_.long_poll_timeout), req.identity(),
      [this, req](const TaskRow& task) { return start_activity_task(task, req); }, std::move(done));
  poll->park();
  return poll;
}

ws::RecordActivityTaskHeartbeatResponse HistoryEngine::record_activity_task_heartbeat(
    const ws::RecordActivityTaskHeartbeatRequest& req) {
  TaskToken token = activity_token_from(req.task_token());
  ws::RecordActivityTaskHeartbeatResponse resp;
  update_run(ExecutionKey{token.namespace_(), token.workflow_id(), token.run_id()}, [&](ExecutionUpdate& u) {
    ActivityInfo& act = check_activity_token(u.state(), token);
    // Each heartbeat's details replace the last ones, none included (as Temporal's
    // UpdateActivityProgress does): they are what the next attempt and a timeout report.
    if (req.has_details())
      *act.mutable_heartbeat_details() = req.details();
    else
      act.clear_heartbeat_details();
    *act.mutable_last_heartbeat_time() = timestamp_from_ms(u.now_ms());
    u.touch();
    resp.set_cancel_requested(act.cancel_requested());
  });
  return resp;
}

void HistoryEngine::respond_activity_task_completed(const ws::RespondActivityTaskCompletedRequest& req,
                                                    Reply<ws::RespondActivityTaskCompletedResponse> reply) {
  TaskToken token = activity_token_from(req.task_token());
  update_run_async(
      ExecutionKey{token.namespace_(), token.workflow_id(), token.run_id()},
      [this, &req, token](ExecutionUpdate& u) {
        ActivityInfo act = check_activity_token(u.state(), token);
        int64_t started_id = write_activity_started(u, act);
        HistoryEvent e;
        e.set_event_type(enums::EVENT_TYPE_ACTIVITY_TASK_COMPLETED);
        auto* a = e.mutable_activity_task_completed_event_attributes();
        if (req.has_result()) *a->mutable_result() = req.result();
        a->set_scheduled_event_id(act.scheduled_event_id());
        a->set_started_event_id(started_id);  // 0 while buffered; set when the buffer is flushed
        a->set_identity(req.identity());
        u.append(std::move(e));
        schedule_workflow_task_if_needed(u);
        return ws::RespondActivityTaskCompletedResponse{};
      },
      std::move(reply));
}

void HistoryEngine::respond_activity_task_failed(const ws::RespondActivityTaskFailedRequest& req,
                                                 Reply<ws::RespondActivityTaskFailedResponse> reply) {
  TaskToken token = activity_token_from(req.task_token());
  update_run_async(
      ExecutionKey{token.namespace_(), token.workflow_id(), token.run_id()},
      [this, &req, token](ExecutionUpdate& u) {
        ActivityInfo& act = check_activity_token(u.state(), token);
        fail_activity_attempt(u, act, req.failure(), req.identity(),
                              req.has_last_heartbeat_details() ? &req.last_heartbeat_details() : nullptr, false);
        return ws::RespondActivityTaskFailedResponse{};
      },
      std::move(reply));
}

void HistoryEngine::respond_activity_task_canceled(const ws::RespondActivityTaskCanceledRequest& req,
                                                   Reply<ws::RespondActivityTaskCanceledResponse> reply) {
  TaskToken token = activity_token_from(req.task_token());
  update_run_async(
      ExecutionKey{token.namespace_(), token.workflow_id(), token.run_id()},
      [this, &req, token](ExecutionUpdate& u) {
        ActivityInfo act = check_activity_token(u.state(), token);
        // Only the workflow cancels an activity; one that gives up by itself has failed (Temporal).
        if (!act.cancel_requested())
          throw invalid_argument("unable to mark activity as canceled without activity being request canceled first");
        int64_t started_id = write_activity_started(u, act);
        HistoryEvent e;
        e.set_event_type(enums::EVENT_TYPE_ACTIVITY_TASK_CANCELED);
        auto* a = e.mutable_activity_task_canceled_event_attributes();
        if (req.has_details()) *a->mutable_details() = req.details();
        a->set_latest_cancel_requested_event_id(act.cancel_requested_event_id());
        a->set_scheduled_event_id(act.scheduled_event_id());
        a->set_started_event_id(started_id);
        a->set_identity(req.identity());
        u.append(std::move(e));
        schedule_workflow_task_if_needed(u);
        return ws::RespondActivityTaskCanceledResponse{};
      },
      std::move(reply));
}

void HistoryEngine::fail_activity_attempt(ExecutionUpdate& u, ActivityInfo& act, const Failure& failure,
                                          const std::string& identity, const Payloads* last_heartbeat_details,
                                          bool timed_out) {
  if (last_heartbeat_details) *act.mutable_heartbeat_details() = *last_heartbeat_details;
  int64_t s2c = ms_from_duration(act.schedule_to_close_timeout());
  int64_t deadline = s2c > 0 ? ms_from_timestamp(act.scheduled_time()) + s2c : 0;
  RetryDecision decision = act.cancel_requested()
                               ? RetryDecision{enums::RETRY_STATE_CANCEL_REQUESTED, 0}
                               : decide_retry(act.retry_policy(), act.attempt(), failure, u.now_ms(), deadline);

  if (decision.state == enums::RETRY_STATE_IN_PROGRESS) {
    // Retried: no event. The next attempt becomes pollable when its backoff timer fires.
    act.set_attempt(act.attempt() + 1);
    *act.mutable_last_failure() = failure;
    act.set_started(false);
    act.clear_started_time();
    act.clear_started_identity();
    act.clear_started_request_id();
    *act.mutable_current_attempt_scheduled_time() = timestamp_from_ms(u.now_ms() + decision.delay_ms);
    u.touch();
    if (decision.delay_ms <= 0)
      make_activity_dispatchable(u, act);
    else
      u.add_timer(history::TimerKind::ActivityRetryBackoff, u.now_ms() + decision.delay_ms, act.scheduled_event_id(),
                  act.attempt());
    return;
  }

  ActivityInfo closing = act;  // `act` is erased by the close event
  int64_t started_id = closing.started() ? write_activity_started(u, closing) : 0;
  HistoryEvent e;
  if (timed_out) {
    Failure final_failure = failure;
    if (decision.state == enums::RETRY_STATE_TIMEOUT) {
      final_failure = timeout_failure(enums::TIMEOUT_TYPE_SCHEDULE_TO_CLOSE, closing);
      final_failure.set_message(
          "Not enough time to schedule next retry before activity ScheduleToClose timeout, giving up retrying");
    }
    if (closing.has_last_failure()) *final_failure.mutable_cause() = closing.last_failure();
    e.set_event_type(enums::EVENT_TYPE_ACTIVITY_TASK_TIMED_OUT);
    auto* a = e.mutable_activity_task_timed_out_event_attributes();
    *a->mutable_failure() = final_failure;
    a->set_scheduled_event_id(closing.scheduled_event_id());
    a->set_started_event_id(started_id);
    a->set_retry_state(decision.state);
  } else {
    e.set_event_type(enums::EVENT_TYPE_ACTIVITY_TASK_FAILED);
    auto* a = e.mutable_activity_task_failed_event_attributes();
    *a->mutable_failure() = failure;
    a->set_scheduled_event_id(closing.scheduled_event_id());
    a->set_started_event_id(started_id);
    a->set_identity(identity);
    a->set_retry_state(decision.state);
  }
  u.append(std::move(e));
  schedule_workflow_task_if_needed(u);
}

void HistoryEngine::on_activity_timer(const TimerRow& timer) {
  update_run(timer.execution, [&](ExecutionUpdate& u) {
    u.remove_timer(timer.id);
    apply_activity_timer(u, timer);
    // The row may have stood for later deadlines too (arm_start_to_close): the next one gets a row.
    if (timer.kind == history::TimerKind::ActivityStartToClose) rearm_activity_start_to_close(u);
  });
}

void HistoryEngine::rearm_activity_start_to_close(ExecutionUpdate& u) {
  const auto& st = u.state();
  if (st.execution().status() != enums::WORKFLOW_EXECUTION_STATUS_RUNNING) return;
  const ActivityInfo* earliest = nullptr;
  int64_t due = 0;
  for (const auto& [id, act] : st.activities()) {
    if (!act.started()) continue;
    const int64_t d = start_to_close_deadline_ms(act);
    if (!earliest || d < due) {
      earliest = &act;
      due = d;
    }
  }
  if (earliest)
    arm_start_to_close(u, history::TimerKind::ActivityStartToClose, due, earliest->scheduled_event_id(),
                       earliest->attempt());
}

void HistoryEngine::apply_activity_timer(ExecutionUpdate& u, const TimerRow& timer) {
  auto& st = u.state();
  if (st.execution().status() != enums::WORKFLOW_EXECUTION_STATUS_RUNNING) return;
  auto it = st.mutable_activities()->find(timer.event_id);
  if (it == st.mutable_activities()->end()) return;  // closed already
  ActivityInfo& act = it->second;
  const bool same_attempt = act.attempt() == timer.attempt;

  switch (timer.kind) {
    case history::TimerKind::ActivityRetryBackoff:
      if (same_attempt && !act.started()) make_activity_dispatchable(u, act);
      return;
    case history::TimerKind::ActivityScheduleToStart:
      if (!same_attempt || act.started()) return;
      break;
    case history::TimerKind::ActivityScheduleToClose:
      break;  // covers all attempts
    case history::TimerKind::ActivityStartToClose:
      if (!same_attempt || !act.started()) return;
      fail_activity_attempt(u, act, timeout_failure(enums::TIMEOUT_TYPE_START_TO_CLOSE, act), act.started_identity(),
                            nullptr, true);
      return;
    case history::TimerKind::ActivityHeartbeat: {
      if (!same_attempt || !act.started()) return;
      int64_t last = std::max(ms_from_timestamp(act.started_time()),
                              act.has_last_heartbeat_time() ? ms_from_timestamp(act.last_heartbeat_time()) : 0);
      int64_t due = last + ms_from_duration(act.heartbeat_timeout());
      if (due > u.now_ms()) {
        // A heartbeat arrived since this timer was armed: wait for the next deadline instead.
        u.add_timer(history::TimerKind::ActivityHeartbeat, due, act.scheduled_event_id(), act.attempt());
        return;
      }
      fail_activity_attempt(u, act, timeout_failure(enums::TIMEOUT_TYPE_HEARTBEAT, act), act.started_identity(),
                            nullptr, true);
      return;
    }
    default:
      return;
  }
  // Schedule-to-start and schedule-to-close are never retried.
  auto type = timer.kind == history::TimerKind::ActivityScheduleToStart ? enums::TIMEOUT_TYPE_SCHEDULE_TO_START
                                                                        : enums::TIMEOUT_TYPE_SCHEDULE_TO_CLOSE;
  // Both due together (schedule-to-start defaults to schedule-to-close) are two timer rows, taken in
  // either order: the attempt that never started reports schedule-to-start, as Temporal, which
  // takes the timeouts due at one instant in that order, does.
  if (type == enums::TIMEOUT_TYPE_SCHEDULE_TO_CLOSE && !act.started()) {
    const int64_t s2s = ms_from_duration(act.schedule_to_start_timeout());
    if (s2s > 0 && ms_from_timestamp(act.current_attempt_scheduled_time()) + s2s <= u.now_ms())
      type = enums::TIMEOUT_TYPE_SCHEDULE_TO_START;
  }
  ActivityInfo closing = act;
  int64_t started_id = closing.started() ? write_activity_started(u, closing) : 0;
  Failure failure = timeout_failure(type, closing);
  if (closing.has_last_failure()) *failure.mutable_cause() = closing.last_failure();
  HistoryEvent e;
  e.set_event_type(enums::EVENT_TYPE_ACTIVITY_TASK_TIMED_OUT);
  auto* a = e.mutable_activity_task_timed_out_event_attributes();
  *a->mutable_failure() = failure;
  a->set_scheduled_event_id(closing.scheduled_event_id());
  a->set_started_event_id(started_id);
  a->set_retry_state(enums::RETRY_STATE_TIMEOUT);
  u.append(std::move(e));
  schedule_workflow_task_if_needed(u);
}

}  // namespace reprise::engine
