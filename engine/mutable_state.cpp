// The fold from events to mutable state (see mutable_state.h for the idea).
// Exercised by tests/engine/mutable_state_test.cpp.
#include "mutable_state.h"

#include <map>

#include "time_util.h"

namespace reprise::engine {

bool is_close_event(EventType type) {
  switch (type) {
    case enums::EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED:
    case enums::EVENT_TYPE_WORKFLOW_EXECUTION_FAILED:
    case enums::EVENT_TYPE_WORKFLOW_EXECUTION_TIMED_OUT:
    case enums::EVENT_TYPE_WORKFLOW_EXECUTION_CANCELED:
    case enums::EVENT_TYPE_WORKFLOW_EXECUTION_TERMINATED:
    case enums::EVENT_TYPE_WORKFLOW_EXECUTION_CONTINUED_AS_NEW:
      return true;
    default:
      return false;
  }
}

bool is_bufferable(const HistoryEvent& event) { return is_bufferable_type(event.event_type()); }

bool is_bufferable_type(EventType type) {
  switch (type) {
    case enums::EVENT_TYPE_ACTIVITY_TASK_STARTED:
    case enums::EVENT_TYPE_ACTIVITY_TASK_COMPLETED:
    case enums::EVENT_TYPE_ACTIVITY_TASK_FAILED:
    case enums::EVENT_TYPE_ACTIVITY_TASK_TIMED_OUT:
    case enums::EVENT_TYPE_ACTIVITY_TASK_CANCELED:
    case enums::EVENT_TYPE_TIMER_FIRED:
    case enums::EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED:
    case enums::EVENT_TYPE_WORKFLOW_EXECUTION_CANCEL_REQUESTED:
    case enums::EVENT_TYPE_CHILD_WORKFLOW_EXECUTION_STARTED:
    case enums::EVENT_TYPE_CHILD_WORKFLOW_EXECUTION_COMPLETED:
    case enums::EVENT_TYPE_CHILD_WORKFLOW_EXECUTION_FAILED:
    case enums::EVENT_TYPE_CHILD_WORKFLOW_EXECUTION_CANCELED:
    case enums::EVENT_TYPE_CHILD_WORKFLOW_EXECUTION_TIMED_OUT:
    case enums::EVENT_TYPE_CHILD_WORKFLOW_EXECUTION_TERMINATED:
    case enums::EVENT_TYPE_START_CHILD_WORKFLOW_EXECUTION_FAILED:
    case enums::EVENT_TYPE_EXTERNAL_WORKFLOW_EXECUTION_SIGNALED:
    case enums::EVENT_TYPE_SIGNAL_EXTERNAL_WORKFLOW_EXECUTION_FAILED:
    case enums::EVENT_TYPE_EXTERNAL_WORKFLOW_EXECUTION_CANCEL_REQUESTED:
    case enums::EVENT_TYPE_REQUEST_CANCEL_EXTERNAL_WORKFLOW_EXECUTION_FAILED:
      return true;
    default:
      return false;
  }
}

bool workflow_task_in_flight(const MutableState& state) {
  return state.has_workflow_task() && state.workflow_task().started_event_id() != 0;
}

namespace {

bool is_completion(EventType type) {
  switch (type) {
    case enums::EVENT_TYPE_ACTIVITY_TASK_COMPLETED:
    case enums::EVENT_TYPE_ACTIVITY_TASK_FAILED:
    case enums::EVENT_TYPE_ACTIVITY_TASK_TIMED_OUT:
    case enums::EVENT_TYPE_ACTIVITY_TASK_CANCELED:
    case enums::EVENT_TYPE_CHILD_WORKFLOW_EXECUTION_COMPLETED:
    case enums::EVENT_TYPE_CHILD_WORKFLOW_EXECUTION_FAILED:
    case enums::EVENT_TYPE_CHILD_WORKFLOW_EXECUTION_CANCELED:
    case enums::EVENT_TYPE_CHILD_WORKFLOW_EXECUTION_TIMED_OUT:
    case enums::EVENT_TYPE_CHILD_WORKFLOW_EXECUTION_TERMINATED:
      return true;
    default:
      return false;
  }
}

void close_run(MutableState& state, const HistoryEvent& event, enums::WorkflowExecutionStatus status) {
  auto* info = state.mutable_execution();
  info->set_status(status);
  *info->mutable_close_time() = event.event_time();
  state.clear_workflow_task();
  state.clear_activities();
  state.clear_timers();
  state.clear_buffered_events();
}

}  // namespace

void apply_event(MutableState& state, const HistoryEvent& event) {
  if (event.event_id() != 0) {
    state.set_next_event_id(event.event_id() + 1);
    state.mutable_execution()->set_history_length(event.event_id());
  }
  auto* info = state.mutable_execution();
  switch (event.event_type()) {
    case enums::EVENT_TYPE_WORKFLOW_EXECUTION_STARTED: {
      const auto& a = event.workflow_execution_started_event_attributes();
      info->set_workflow_type(a.workflow_type().name());
      info->set_task_queue(a.task_queue().name());
      info->set_status(enums::WORKFLOW_EXECUTION_STATUS_RUNNING);
      *info->mutable_start_time() = event.event_time();
      *info->mutable_workflow_execution_timeout() = a.workflow_execution_timeout();
      *info->mutable_workflow_run_timeout() = a.workflow_run_timeout();
      *info->mutable_workflow_task_timeout() = a.workflow_task_timeout();
      info->set_first_execution_run_id(a.first_execution_run_id());
      if (a.has_workflow_execution_expiration_time())
        *info->mutable_execution_expiration_time() = a.workflow_execution_expiration_time();
      if (!a.workflow_id().empty()) info->set_workflow_id(a.workflow_id());
      if (!a.original_execution_run_id().empty()) info->set_run_id(a.original_execution_run_id());
      break;
    }
    case enums::EVENT_TYPE_WORKFLOW_TASK_SCHEDULED: {
      const auto& a = event.workflow_task_scheduled_event_attributes();
      auto* wt = state.mutable_workflow_task();
      wt->Clear();
      wt->set_scheduled_event_id(event.event_id());
      wt->set_attempt(a.attempt() == 0 ? 1 : a.attempt());
      *wt->mutable_task_queue() = a.task_queue();
      *wt->mutable_start_to_close_timeout() = a.start_to_close_timeout();
      *wt->mutable_scheduled_time() = event.event_time();
      break;
    }
    case enums::EVENT_TYPE_WORKFLOW_TASK_STARTED: {
      const auto& a = event.workflow_task_started_event_attributes();
      auto* wt = state.mutable_workflow_task();
      wt->set_started_event_id(event.event_id());
      *wt->mutable_started_time() = event.event_time();
      wt->set_started_identity(a.identity());
      wt->set_started_request_id(a.request_id());
      wt->set_transient(false);
      break;
    }
    case enums::EVENT_TYPE_WORKFLOW_EXECUTION_CANCEL_REQUESTED:
      state.set_cancel_requested(true);
      break;
    case enums::EVENT_TYPE_WORKFLOW_TASK_COMPLETED:
      state.set_last_completed_workflow_task_started_event_id(
          event.workflow_task_completed_event_attributes().started_event_id());
      state.clear_workflow_task();
      break;
    case enums::EVENT_TYPE_WORKFLOW_TASK_FAILED:
    case enums::EVENT_TYPE_WORKFLOW_TASK_TIMED_OUT:
      state.clear_workflow_task();
      break;
    case enums::EVENT_TYPE_ACTIVITY_TASK_SCHEDULED: {
      const auto& a = event.activity_task_scheduled_event_attributes();
      ActivityInfo act;
      act.set_scheduled_event_id(event.event_id());
      act.set_activity_id(a.activity_id());
      act.set_activity_type(a.activity_type().name());
      act.set_task_queue(a.task_queue().name());
      *act.mutable_scheduled_time() = event.event_time();
      *act.mutable_current_attempt_scheduled_time() = event.event_time();
      act.set_attempt(1);
      *act.mutable_schedule_to_close_timeout() = a.schedule_to_close_timeout();
      *act.mutable_schedule_to_start_timeout() = a.schedule_to_start_timeout();
      *act.mutable_start_to_close_timeout() = a.start_to_close_timeout();
      *act.mutable_heartbeat_timeout() = a.heartbeat_timeout();
      *act.mutable_retry_policy() = a.retry_policy();
      (*state.mutable_activities())[event.event_id()] = std::move(act);
      break;
    }
    case enums::EVENT_TYPE_ACTIVITY_TASK_STARTED: {
      const auto& a = event.activity_task_started_event_attributes();
      auto it = state.mutable_activities()->find(a.scheduled_event_id());
      if (it != state.mutable_activities()->end()) {
        it->second.set_started(true);
        it->second.set_attempt(a.attempt());
        it->second.set_started_identity(a.identity());
        it->second.set_started_request_id(a.request_id());
        *it->second.mutable_started_time() = event.event_time();
      }
      break;
    }
    case enums::EVENT_TYPE_ACTIVITY_TASK_COMPLETED:
      state.mutable_activities()->erase(event.activity_task_completed_event_attributes().scheduled_event_id());
      break;
    case enums::EVENT_TYPE_ACTIVITY_TASK_FAILED:
      state.mutable_activities()->erase(event.activity_task_failed_event_attributes().scheduled_event_id());
      break;
    case enums::EVENT_TYPE_ACTIVITY_TASK_TIMED_OUT:
      state.mutable_activities()->erase(event.activity_task_timed_out_event_attributes().scheduled_event_id());
      break;
    case enums::EVENT_TYPE_ACTIVITY_TASK_CANCELED:
      state.mutable_activities()->erase(event.activity_task_canceled_event_attributes().scheduled_event_id());
      break;
    case enums::EVENT_TYPE_ACTIVITY_TASK_CANCEL_REQUESTED: {
      const auto& a = event.activity_task_cancel_requested_event_attributes();
      auto it = state.mutable_activities()->find(a.scheduled_event_id());
      if (it != state.mutable_activities()->end()) {
        it->second.set_cancel_requested(true);
        it->second.set_cancel_requested_event_id(event.event_id());
      }
      break;
    }
    case enums::EVENT_TYPE_TIMER_STARTED: {
      const auto& a = event.timer_started_event_attributes();
      auto& timer = (*state.mutable_timers())[a.timer_id()];
      timer.set_timer_id(a.timer_id());
      timer.set_started_event_id(event.event_id());
      *timer.mutable_expiry_time() =
          timestamp_from_ms(ms_from_timestamp(event.event_time()) + ms_from_duration(a.start_to_fire_timeout()));
      break;
    }
    case enums::EVENT_TYPE_TIMER_FIRED:
      state.mutable_timers()->erase(event.timer_fired_event_attributes().timer_id());
      break;
    case enums::EVENT_TYPE_TIMER_CANCELED:
      state.mutable_timers()->erase(event.timer_canceled_event_attributes().timer_id());
      break;
    case enums::EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED:
      close_run(state, event, enums::WORKFLOW_EXECUTION_STATUS_COMPLETED);
      break;
    case enums::EVENT_TYPE_WORKFLOW_EXECUTION_FAILED:
      close_run(state, event, enums::WORKFLOW_EXECUTION_STATUS_FAILED);
      break;
    case enums::EVENT_TYPE_WORKFLOW_EXECUTION_TIMED_OUT:
      close_run(state, event, enums::WORKFLOW_EXECUTION_STATUS_TIMED_OUT);
      break;
    case enums::EVENT_TYPE_WORKFLOW_EXECUTION_CANCELED:
      close_run(state, event, enums::WORKFLOW_EXECUTION_STATUS_CANCELED);
      break;
    case enums::EVENT_TYPE_WORKFLOW_EXECUTION_TERMINATED:
      close_run(state, event, enums::WORKFLOW_EXECUTION_STATUS_TERMINATED);
      break;
    case enums::EVENT_TYPE_WORKFLOW_EXECUTION_CONTINUED_AS_NEW:
      close_run(state, event, enums::WORKFLOW_EXECUTION_STATUS_CONTINUED_AS_NEW);
      break;
    default:
      break;  // markers, signals, ...: recorded in history, nothing to summarise
  }
}

std::vector<HistoryEvent> flush_buffered_events(MutableState& state) {
  std::vector<HistoryEvent> ordered;
  ordered.reserve(state.buffered_events_size());
  for (const auto& e : state.buffered_events())
    if (!is_completion(e.event_type())) ordered.push_back(e);
  for (const auto& e : state.buffered_events())
    if (is_completion(e.event_type())) ordered.push_back(e);
  state.clear_buffered_events();

  std::map<int64_t, int64_t> activity_started_ids;  // scheduled event id -> new started event id
  for (auto& e : ordered) {
    e.set_event_id(state.next_event_id());
    state.set_next_event_id(e.event_id() + 1);
    state.mutable_execution()->set_history_length(e.event_id());
    switch (e.event_type()) {
      case enums::EVENT_TYPE_ACTIVITY_TASK_STARTED:
        activity_started_ids[e.activity_task_started_event_attributes().scheduled_event_id()] = e.event_id();
        break;
      case enums::EVENT_TYPE_ACTIVITY_TASK_COMPLETED: {
        auto* a = e.mutable_activity_task_completed_event_attributes();
        if (auto it = activity_started_ids.find(a->scheduled_event_id()); it != activity_started_ids.end())
          a->set_started_event_id(it->second);
        break;
      }
      case enums::EVENT_TYPE_ACTIVITY_TASK_FAILED: {
        auto* a = e.mutable_activity_task_failed_event_attributes();
        if (auto it = activity_started_ids.find(a->scheduled_event_id()); it != activity_started_ids.end())
          a->set_started_event_id(it->second);
        break;
      }
      case enums::EVENT_TYPE_ACTIVITY_TASK_TIMED_OUT: {
        auto* a = e.mutable_activity_task_timed_out_event_attributes();
        if (auto it = activity_started_ids.find(a->scheduled_event_id()); it != activity_started_ids.end())
          a->set_started_event_id(it->second);
        break;
      }
      case enums::EVENT_TYPE_ACTIVITY_TASK_CANCELED: {
        auto* a = e.mutable_activity_task_canceled_event_attributes();
        if (auto it = activity_started_ids.find(a->scheduled_event_id()); it != activity_started_ids.end())
          a->set_started_event_id(it->second);
        break;
      }
      default:
        break;
    }
  }
  return ordered;
}

}  // namespace reprise::engine
