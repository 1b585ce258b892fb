// Commands: what a worker's completed workflow task asks the server to do, and the events each one
// writes (temporal-semantics.md 1.1-1.3, 2.1).
//
//   command                       event written                         side records
//   ScheduleActivityTask          ActivityTaskScheduled (normalised)    activity task, timeouts; or,
//                                                                       eager: started at once, no task
//   RequestCancelActivityTask     ActivityTaskCancelRequested           (+ ActivityTaskCanceled if not started)
//   StartTimer                    TimerStarted                          a durable user timer
//   CancelTimer                   TimerCanceled                         (a buffered TimerFired is dropped)
//   RecordMarker                  MarkerRecorded                        -
//   UpsertWorkflowSearchAttributes UpsertWorkflowSearchAttributes       -
//   CompleteWorkflowExecution     WorkflowExecutionCompleted            the run closes
//   FailWorkflowExecution         WorkflowExecutionFailed               the run closes
//   CancelWorkflowExecution       WorkflowExecutionCanceled             the run closes
//   ContinueAsNewWorkflowExecution WorkflowExecutionContinuedAsNew      the run closes; its successor
//                                 (+ the new run's Started, Scheduled)  starts in the same transaction
//
// All commands are validated before any is applied (validate_commands): a bad one fails the
// workflow task with the matching WorkflowTaskFailedCause and nothing of the completion is kept.
// Temporal's limits hold too: activity ids, types and task queues, timer ids and marker names up
// to 1,000 bytes, and at most EngineOptions::max_pending_activities (2,000) activities pending
// per run.
// A close command that is not the last one makes the whole request malformed
// (validate_command_sequence): it is refused and nothing at all is written.
// Exercised by tests/engine/server_errors_test.cpp, server_timer_test.cpp and the other server tests.
#include <cctype>
#include <set>

#include "retry_policy.h"
#include "time_util.h"
#include "update_run.h"

namespace reprise::engine {

namespace {

using api::command::v1::ScheduleActivityTaskCommandAttributes;

bool is_close_command(enums::CommandType type) {
  return type == enums::COMMAND_TYPE_COMPLETE_WORKFLOW_EXECUTION ||
         type == enums::COMMAND_TYPE_FAIL_WORKFLOW_EXECUTION || type == enums::COMMAND_TYPE_CANCEL_WORKFLOW_EXECUTION ||
         type == enums::COMMAND_TYPE_CONTINUE_AS_NEW_WORKFLOW_EXECUTION;
}

// The longest id or name a command may carry (activity ids, types and task queues, timer ids,
// marker names), Temporal's limit.maxIDLength: they are stored in every event and row that names
// them.
constexpr size_t kMaxIdLength = 1000;

// Temporal's wording ("ActivityId on ScheduleActivityTaskCommand exceeds length limit. ..."),
// without echoing the thousand-byte value itself. Returns empty when `value` fits.
std::string too_long(const char* field, const std::string& value, const char* command) {
  if (value.size() <= kMaxIdLength) return {};
  return std::string(field) + " on " + command + " exceeds length limit. Length=" + std::to_string(value.size()) +
         " Limit=" + std::to_string(kMaxIdLength);
}

// What ActivityTaskScheduled records of a ScheduleActivityTask command beyond its own fields: the
// timeouts filled and capped, and the retry policy with its defaults.
struct ActivityTerms {
  int64_t schedule_to_close_ms = 0, schedule_to_start_ms = 0, start_to_close_ms = 0, heartbeat_ms = 0;
  api::common::v1::RetryPolicy retry_policy;
};

// Fills and caps an activity's timeouts as Temporal does (temporal-semantics.md 2.1), into
// `terms`; the command itself is read, not copied (its input may be large).
// Returns an error message, or empty when the attributes are usable.
std::string normalize_activity(const ScheduleActivityTaskCommandAttributes& a, const MutableState& st,
                               ActivityTerms& terms) {
  if (a.activity_id().empty()) return "ActivityId is not set on ScheduleActivityTaskCommand";
  if (a.activity_type().name().empty()) return "ActivityType is not set on ScheduleActivityTaskCommand";
  if (auto err = too_long("ActivityId", a.activity_id(), "ScheduleActivityTaskCommand"); !err.empty()) return err;
  if (auto err = too_long("ActivityType", a.activity_type().name(), "ScheduleActivityTaskCommand"); !err.empty())
    return err;
  if (auto err = too_long("TaskQueue", a.task_queue().name(), "ScheduleActivityTaskCommand"); !err.empty()) return err;
  int64_t s2c = ms_from_duration(a.schedule_to_close_timeout());
  int64_t s2s = ms_from_duration(a.schedule_to_start_timeout());
  int64_t stc = ms_from_duration(a.start_to_close_timeout());
  int64_t hb = ms_from_duration(a.heartbeat_timeout());
  if (s2c < 0 || s2s < 0 || stc < 0 || hb < 0) return "activity timeouts cannot be negative";
  int64_t run = ms_from_duration(st.execution().workflow_run_timeout());
  if (s2c > 0) {
    s2s = s2s == 0 ? s2c : std::min(s2s, s2c);
    stc = stc == 0 ? s2c : std::min(stc, s2c);
  } else if (stc > 0) {
    s2c = run;
    if (s2s == 0) s2s = run;
  } else {
    return "a valid StartToCloseTimeout or ScheduleToCloseTimeout must be set on ScheduleActivityTaskCommand";
  }
  if (run > 0) {
    s2c = s2c == 0 ? run : std::min(s2c, run);
    s2s = s2s == 0 ? run : std::min(s2s, run);
    stc = std::min(stc, run);
  }
  hb = std::min(hb, stc);
  terms.schedule_to_close_ms = s2c;
  terms.schedule_to_start_ms = s2s;
  terms.start_to_close_ms = stc;
  terms.heartbeat_ms = hb;
  try {
    terms.retry_policy = normalize_retry_policy(a.retry_policy());
  } catch (const EngineError& e) {
    return e.what();
  }
  return {};
}

// What a ContinueAsNewWorkflowExecution command may not ask for. Returns an error message or empty.
std::string check_continue_as_new(const ContinueAsNewAttributes& a) {
  if (ms_from_duration(a.workflow_run_timeout()) < 0 || ms_from_duration(a.workflow_task_timeout()) < 0)
    return "workflow timeouts cannot be negative on ContinueAsNewWorkflowExecutionCommand";
  if (ms_from_duration(a.backoff_start_interval()) != 0)
    return "BackoffStartInterval (a delayed first workflow task) is not supported by Reprise yet";
  if (!a.cron_schedule().empty()) return "CronSchedule is not supported by Reprise yet";
  if (a.has_retry_policy()) {
    try {
      normalize_retry_policy(a.retry_policy());  // a malformed policy is named as such first
    } catch (const EngineError& e) {
      return e.what();
    }
    // As at start (workflow_lifecycle.cpp): a chain that cannot be retried must not say it can.
    return "RetryPolicy of a workflow is not supported by Reprise yet (activities' retry policies are)";
  }
  return {};
}

// The timers a buffered TimerFired belongs to still count as "known" for CancelTimer.
const HistoryEvent* buffered_timer_fired(const MutableState& st, const std::string& timer_id) {
  for (const auto& e : st.buffered_events())
    if (e.event_type() == enums::EVENT_TYPE_TIMER_FIRED && e.timer_fired_event_attributes().timer_id() == timer_id)
      return &e;
  return nullptr;
}

// The event that ended activity `scheduled_id` while the worker was deciding, if it waits in the
// buffer (the activity has already left the pending ones).
bool buffered_activity_finish(const MutableState& st, int64_t scheduled_id) {
  for (const auto& e : st.buffered_events()) {
    switch (e.event_type()) {
      case enums::EVENT_TYPE_ACTIVITY_TASK_COMPLETED:
        if (e.activity_task_completed_event_attributes().scheduled_event_id() == scheduled_id) return true;
        break;
      case enums::EVENT_TYPE_ACTIVITY_TASK_FAILED:
        if (e.activity_task_failed_event_attributes().scheduled_event_id() == scheduled_id) return true;
        break;
      case enums::EVENT_TYPE_ACTIVITY_TASK_TIMED_OUT:
        if (e.activity_task_timed_out_event_attributes().scheduled_event_id() == scheduled_id) return true;
        break;
      case enums::EVENT_TYPE_ACTIVITY_TASK_CANCELED:
        if (e.activity_task_canceled_event_attributes().scheduled_event_id() == scheduled_id) return true;
        break;
      default:
        break;
    }
  }
  return false;
}

}  // namespace

bool has_close_command(const google::protobuf::RepeatedPtrField<Command>& commands) {
  for (const auto& c : commands)
    if (is_close_command(c.command_type())) return true;
  return false;
}

std::string BadCommand::describe() const {
  // WORKFLOW_TASK_FAILED_CAUSE_BAD_SCHEDULE_ACTIVITY_ATTRIBUTES -> BadScheduleActivityAttributes
  const std::string full = enums::WorkflowTaskFailedCause_Name(cause);
  std::string name;
  bool upper = true;
  for (char c : full.substr(std::string("WORKFLOW_TASK_FAILED_CAUSE_").size())) {
    if (c == '_') {
      upper = true;
      continue;
    }
    name += upper ? c : static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    upper = false;
  }
  return name + ": " + message;
}

std::optional<std::string> validate_command_sequence(const google::protobuf::RepeatedPtrField<Command>& commands) {
  for (int i = 0; i + 1 < commands.size(); ++i)
    if (is_close_command(commands[i].command_type()))
      return "invalid command sequence: " + enums::CommandType_Name(commands[i].command_type()) +
             " must be the last command";
  return std::nullopt;
}

std::optional<BadCommand> validate_commands(const MutableState& st,
                                            const google::protobuf::RepeatedPtrField<Command>& commands,
                                            int max_pending_activities) {
  std::set<std::string> activity_ids;
  for (const auto& [id, act] : st.activities()) activity_ids.insert(act.activity_id());
  // Pending activities as the commands are applied in order: one scheduled adds to them; a cancel
  // of one not yet started ends it on the spot (apply_commands), while one already started stays
  // pending until its worker reports. (One whose end arrived during the task is not among them:
  // its buffered event already took it out of the state.)
  int pending = st.activities_size();
  std::set<std::string> timers;
  for (const auto& [id, t] : st.timers()) timers.insert(id);
  std::set<int64_t> cancels_requested;  // activities this completion asks to cancel

  for (int i = 0; i < commands.size(); ++i) {
    const Command& c = commands[i];
    switch (c.command_type()) {
      case enums::COMMAND_TYPE_SCHEDULE_ACTIVITY_TASK: {
        const auto& a = c.schedule_activity_task_command_attributes();
        ActivityTerms terms;
        if (auto err = normalize_activity(a, st, terms); !err.empty())
          return BadCommand{enums::WORKFLOW_TASK_FAILED_CAUSE_BAD_SCHEDULE_ACTIVITY_ATTRIBUTES, err};
        // As in Temporal (limit.numPendingActivities.error), and checked before the id as there:
        // a run's mutable state, written with every transaction of the run, holds each pending
        // activity, so their number is bounded.
        if (max_pending_activities > 0 && pending >= max_pending_activities)
          return BadCommand{enums::WORKFLOW_TASK_FAILED_CAUSE_PENDING_ACTIVITIES_LIMIT_EXCEEDED,
                            "the number of pending activities, " + std::to_string(pending) +
                                ", has reached the per-workflow limit of " + std::to_string(max_pending_activities)};
        if (!activity_ids.insert(a.activity_id()).second)
          return BadCommand{enums::WORKFLOW_TASK_FAILED_CAUSE_SCHEDULE_ACTIVITY_DUPLICATE_ID,
                            "activity id " + a.activity_id() + " is already in use by a pending activity"};
        ++pending;
        break;
      }
      case enums::COMMAND_TYPE_REQUEST_CANCEL_ACTIVITY_TASK: {
        // As in Temporal: an activity that ended while the worker decided (its end is buffered)
        // may still be asked to cancel; one already asked may not be asked again.
        int64_t id = c.request_cancel_activity_task_command_attributes().scheduled_event_id();
        auto pending_activity = st.activities().find(id);
        if (pending_activity == st.activities().end() && !buffered_activity_finish(st, id))
          return BadCommand{enums::WORKFLOW_TASK_FAILED_CAUSE_BAD_REQUEST_CANCEL_ACTIVITY_ATTRIBUTES,
                            "no pending activity was scheduled by event " + std::to_string(id)};
        if ((pending_activity != st.activities().end() && pending_activity->second.cancel_requested()) ||
            !cancels_requested.insert(id).second)
          return BadCommand{enums::WORKFLOW_TASK_FAILED_CAUSE_BAD_REQUEST_CANCEL_ACTIVITY_ATTRIBUTES,
                            "the activity scheduled by event " + std::to_string(id) + " is already asked to cancel"};
        // One that has not started is canceled on the spot (apply_commands), so a later command
        // of this completion may schedule its activity id again, as in Temporal.
        if (pending_activity != st.activities().end() && !pending_activity->second.started()) {
          activity_ids.erase(pending_activity->second.activity_id());
          --pending;
        }
        break;
      }
      case enums::COMMAND_TYPE_START_TIMER: {
        const auto& a = c.start_timer_command_attributes();
        if (a.timer_id().empty())
          return BadCommand{enums::WORKFLOW_TASK_FAILED_CAUSE_BAD_START_TIMER_ATTRIBUTES,
                            "TimerId is not set on StartTimerCommand"};
        if (auto err = too_long("TimerId", a.timer_id(), "StartTimerCommand"); !err.empty())
          return BadCommand{enums::WORKFLOW_TASK_FAILED_CAUSE_BAD_START_TIMER_ATTRIBUTES, err};
        if (ms_from_duration(a.start_to_fire_timeout()) <= 0)
          return BadCommand{enums::WORKFLOW_TASK_FAILED_CAUSE_BAD_START_TIMER_ATTRIBUTES,
                            "StartToFireTimeout of timer " + a.timer_id() + " must be positive"};
        if (!timers.insert(a.timer_id()).second)
          return BadCommand{enums::WORKFLOW_TASK_FAILED_CAUSE_START_TIMER_DUPLICATE_ID,
                            "timer id " + a.timer_id() + " is already in use by a pending timer"};
        break;
      }
      case enums::COMMAND_TYPE_CANCEL_TIMER: {
        const auto& id = c.cancel_timer_command_attributes().timer_id();
        if (!timers.erase(id) && !buffered_timer_fired(st, id))
          return BadCommand{enums::WORKFLOW_TASK_FAILED_CAUSE_BAD_CANCEL_TIMER_ATTRIBUTES,
                            "no pending timer has id " + id};
        break;
      }
      case enums::COMMAND_TYPE_RECORD_MARKER: {
        const auto& name = c.record_marker_command_attributes().marker_name();
        if (name.empty())
          return BadCommand{enums::WORKFLOW_TASK_FAILED_CAUSE_BAD_RECORD_MARKER_ATTRIBUTES,
                            "MarkerName is not set on RecordMarkerCommand"};
        if (auto err = too_long("MarkerName", name, "RecordMarkerCommand"); !err.empty())
          return BadCommand{enums::WORKFLOW_TASK_FAILED_CAUSE_BAD_RECORD_MARKER_ATTRIBUTES, err};
        break;
      }
      case enums::COMMAND_TYPE_CONTINUE_AS_NEW_WORKFLOW_EXECUTION:
        if (auto err = check_continue_as_new(c.continue_as_new_workflow_execution_command_attributes()); !err.empty())
          return BadCommand{enums::WORKFLOW_TASK_FAILED_CAUSE_BAD_CONTINUE_AS_NEW_ATTRIBUTES, err};
        break;
      case enums::COMMAND_TYPE_COMPLETE_WORKFLOW_EXECUTION:
      case enums::COMMAND_TYPE_FAIL_WORKFLOW_EXECUTION:
      case enums::COMMAND_TYPE_CANCEL_WORKFLOW_EXECUTION:
      case enums::COMMAND_TYPE_UPSERT_WORKFLOW_SEARCH_ATTRIBUTES:
        break;
      default:
        return BadCommand{enums::WORKFLOW_TASK_FAILED_CAUSE_UNHANDLED_COMMAND,
                          "command " + enums::CommandType_Name(c.command_type()) + " is not supported by Reprise yet"};
    }
  }
  return std::nullopt;
}

void HistoryEngine::apply_commands(ExecutionUpdate& u, const google::protobuf::RepeatedPtrField<Command>& commands,
                                   int64_t completed_id, const std::string& identity) {
  auto& st = u.state();
  for (const Command& c : commands) {
    HistoryEvent e;
    switch (c.command_type()) {
      case enums::COMMAND_TYPE_SCHEDULE_ACTIVITY_TASK: {
        const auto& a = c.schedule_activity_task_command_attributes();
        ActivityTerms terms;
        normalize_activity(a, st, terms);  // validated already
        e.set_event_type(enums::EVENT_TYPE_ACTIVITY_TASK_SCHEDULED);
        auto* ea = e.mutable_activity_task_scheduled_event_attributes();
        ea->set_activity_id(a.activity_id());
        *ea->mutable_activity_type() = a.activity_type();
        *ea->mutable_task_queue() = a.task_queue();
        if (a.task_queue().name().empty()) ea->mutable_task_queue()->set_name(st.execution().task_queue());
        ea->mutable_task_queue()->set_kind(enums::TASK_QUEUE_KIND_NORMAL);
        if (a.has_header()) *ea->mutable_header() = a.header();
        if (a.has_input()) *ea->mutable_input() = a.input();
        if (a.has_priority()) *ea->mutable_priority() = a.priority();  // recorded, not used for ordering
        *ea->mutable_schedule_to_close_timeout() = duration_from_ms(terms.schedule_to_close_ms);
        *ea->mutable_schedule_to_start_timeout() = duration_from_ms(terms.schedule_to_start_ms);
        *ea->mutable_start_to_close_timeout() = duration_from_ms(terms.start_to_close_ms);
        *ea->mutable_heartbeat_timeout() = duration_from_ms(terms.heartbeat_ms);
        ea->set_workflow_task_completed_event_id(completed_id);
        *ea->mutable_retry_policy() = std::move(terms.retry_policy);
        const bool on_workflow_queue = ea->task_queue().name() == st.execution().task_queue();
        int64_t id = u.append(std::move(e));
        ActivityInfo& act = st.mutable_activities()->at(id);
        // Eager execution: the worker completing this task has a free slot and asks to run the
        // activity itself. Only for the workflow's own task queue (as in Temporal): another queue
        // may be served by other workers. The attempt starts in this commit and its task goes back
        // in the response (workflow_tasks.cpp); nothing waits in a queue.
        if (a.request_eager_execution() && options_.eager_activity_execution && on_workflow_queue) {
          start_activity_attempt(u, act, identity);
          u.eager_activities.push_back(id);
        } else {
          make_activity_dispatchable(u, act);
        }
        if (int64_t s2c = ms_from_duration(act.schedule_to_close_timeout()); s2c > 0)
          u.add_timer(history::TimerKind::ActivityScheduleToClose, u.now_ms() + s2c, id, 0);
        break;
      }
      case enums::COMMAND_TYPE_REQUEST_CANCEL_ACTIVITY_TASK: {
        int64_t scheduled_id = c.request_cancel_activity_task_command_attributes().scheduled_event_id();
        e.set_event_type(enums::EVENT_TYPE_ACTIVITY_TASK_CANCEL_REQUESTED);
        auto* ea = e.mutable_activity_task_cancel_requested_event_attributes();
        ea->set_scheduled_event_id(scheduled_id);
        ea->set_workflow_task_completed_event_id(completed_id);
        int64_t requested_id = u.append(std::move(e));
        auto pending = st.activities().find(scheduled_id);
        if (pending == st.activities().end()) break;  // it ended meanwhile: its end follows from the buffer
        if (!pending->second.started()) {
          // Not running anywhere yet: cancel it on the spot (a worker that polls it later gets nothing).
          // Temporal says why in the details, as a JSON string.
          HistoryEvent canceled;
          canceled.set_event_type(enums::EVENT_TYPE_ACTIVITY_TASK_CANCELED);
          auto* ca = canceled.mutable_activity_task_canceled_event_attributes();
          auto* why = ca->mutable_details()->add_payloads();
          (*why->mutable_metadata())["encoding"] = "json/plain";
          why->set_data("\"ACTIVITY_ID_NOT_STARTED\"");
          ca->set_scheduled_event_id(scheduled_id);
          ca->set_latest_cancel_requested_event_id(requested_id);
          ca->set_identity(identity);
          u.append(std::move(canceled));
        }
        break;
      }
      case enums::COMMAND_TYPE_START_TIMER: {
        const auto& a = c.start_timer_command_attributes();
        e.set_event_type(enums::EVENT_TYPE_TIMER_STARTED);
        auto* ea = e.mutable_timer_started_event_attributes();
        ea->set_timer_id(a.timer_id());
        *ea->mutable_start_to_fire_timeout() = a.start_to_fire_timeout();
        ea->set_workflow_task_completed_event_id(completed_id);
        int64_t id = u.append(std::move(e));
        u.add_timer(history::TimerKind::UserTimer, u.now_ms() + ms_from_duration(a.start_to_fire_timeout()), id, 0,
                    a.timer_id());
        break;
      }
      case enums::COMMAND_TYPE_CANCEL_TIMER: {
        const auto& id = c.cancel_timer_command_attributes().timer_id();
        int64_t started_id = 0;
        if (auto it = st.timers().find(id); it != st.timers().end()) {
          started_id = it->second.started_event_id();
        } else if (const HistoryEvent* fired = buffered_timer_fired(st, id)) {
          // It fired while the worker was deciding to cancel it: the cancel wins, the firing is dropped.
          started_id = fired->timer_fired_event_attributes().started_event_id();
          u.drop_buffered_timer_fired(id);
        }
        e.set_event_type(enums::EVENT_TYPE_TIMER_CANCELED);
        auto* ea = e.mutable_timer_canceled_event_attributes();
        ea->set_timer_id(id);
        ea->set_started_event_id(started_id);
        ea->set_workflow_task_completed_event_id(completed_id);
        ea->set_identity(identity);
        u.append(std::move(e));
        break;
      }
      case enums::COMMAND_TYPE_RECORD_MARKER: {
        const auto& a = c.record_marker_command_attributes();
        e.set_event_type(enums::EVENT_TYPE_MARKER_RECORDED);
        auto* ea = e.mutable_marker_recorded_event_attributes();
        ea->set_marker_name(a.marker_name());
        *ea->mutable_details() = a.details();
        ea->set_workflow_task_completed_event_id(completed_id);
        if (a.has_header()) *ea->mutable_header() = a.header();
        if (a.has_failure()) *ea->mutable_failure() = a.failure();
        u.append(std::move(e));
        break;
      }
      case enums::COMMAND_TYPE_UPSERT_WORKFLOW_SEARCH_ATTRIBUTES: {
        e.set_event_type(enums::EVENT_TYPE_UPSERT_WORKFLOW_SEARCH_ATTRIBUTES);
        auto* ea = e.mutable_upsert_workflow_search_attributes_event_attributes();
        ea->set_workflow_task_completed_event_id(completed_id);
        *ea->mutable_search_attributes() = c.upsert_workflow_search_attributes_command_attributes().search_attributes();
        u.append(std::move(e));
        break;
      }
      case enums::COMMAND_TYPE_COMPLETE_WORKFLOW_EXECUTION: {
        e.set_event_type(enums::EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED);
        auto* ea = e.mutable_workflow_execution_completed_event_attributes();
        if (c.complete_workflow_execution_command_attributes().has_result())
          *ea->mutable_result() = c.complete_workflow_execution_command_attributes().result();
        ea->set_workflow_task_completed_event_id(completed_id);
        u.append(std::move(e));
        break;
      }
      case enums::COMMAND_TYPE_FAIL_WORKFLOW_EXECUTION: {
        e.set_event_type(enums::EVENT_TYPE_WORKFLOW_EXECUTION_FAILED);
        auto* ea = e.mutable_workflow_execution_failed_event_attributes();
        *ea->mutable_failure() = c.fail_workflow_execution_command_attributes().failure();
        ea->set_retry_state(enums::RETRY_STATE_RETRY_POLICY_NOT_SET);
        ea->set_workflow_task_completed_event_id(completed_id);
        u.append(std::move(e));
        break;
      }
      case enums::COMMAND_TYPE_CANCEL_WORKFLOW_EXECUTION: {
        e.set_event_type(enums::EVENT_TYPE_WORKFLOW_EXECUTION_CANCELED);
        auto* ea = e.mutable_workflow_execution_canceled_event_attributes();
        ea->set_workflow_task_completed_event_id(completed_id);
        if (c.cancel_workflow_execution_command_attributes().has_details())
          *ea->mutable_details() = c.cancel_workflow_execution_command_attributes().details();
        u.append(std::move(e));
        break;
      }
      case enums::COMMAND_TYPE_CONTINUE_AS_NEW_WORKFLOW_EXECUTION:
        continue_as_new(u, c.continue_as_new_workflow_execution_command_attributes(), completed_id, identity);
        break;
      default:
        break;  // refused by validate_commands
    }
  }
}

}  // namespace reprise::engine
