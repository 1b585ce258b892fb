// The task loop: walking history, one workflow task at a time (see workflow_machines.h).
//
// A history is a sequence of workflow tasks. For task N it looks like this:
//
//   ... events that happened since task N-1 (ActivityTaskCompleted, TimerFired, Signaled, ...)
//   WorkflowTaskScheduled
//   WorkflowTaskStarted        <- the code runs here, after everything above was applied
//   WorkflowTaskCompleted      <- present when the task was answered: the code is replaying
//   command events             <- what task N's commands became, in command order: matched
//   ...                           against the commands the code just produced
//
// or WorkflowTaskStarted followed by WorkflowTaskFailed / WorkflowTaskTimedOut (that attempt left
// no trace: the code does not run), or WorkflowTaskStarted as the last event (the task being
// answered now: the code runs as new work and its commands are sent).
// Exercised by tests/worker/three_ways_test.cpp and tests/worker/task_failure_test.cpp.
#include <google/protobuf/util/time_util.h>

#include "replay/workflow_machines.h"

namespace reprise::detail {

namespace enums = temporal::api::enums::v1;

void WorkflowMachines::apply(std::span<const HistoryEvent> events) {
  if (events.empty()) return;
  for (std::size_t i = 0; i < events.size(); ++i) {
    const HistoryEvent& event = events[i];
    const auto type = event.event_type();
    if (type == enums::EVENT_TYPE_WORKFLOW_TASK_COMPLETED) {
      first_event_after_commands_ = nullptr;  // the command events of the task come next
      continue;
    }
    if (is_command_event(type)) {
      Machine* machine = commands_.match(event, scheduler_.last_blocked_at());
      if (machine->initial_event_id == 0) {  // its first command event: later events name its id
        machine->initial_event_id = event.event_id();
        by_initial_event_id_[event.event_id()] = machine;
      }
      if (machine->done()) release(*machine);  // a marker, a canceled timer
      continue;
    }
    if (first_event_after_commands_ == nullptr) first_event_after_commands_ = &event;
    switch (type) {
      case enums::EVENT_TYPE_WORKFLOW_TASK_SCHEDULED:
      case enums::EVENT_TYPE_WORKFLOW_TASK_FAILED:  // WorkflowRun resets the run if it was ours
      case enums::EVENT_TYPE_WORKFLOW_TASK_TIMED_OUT:
        break;
      case enums::EVENT_TYPE_WORKFLOW_TASK_STARTED:
        on_task_started(events, i);
        break;
      default:
        apply_non_command_event(event);
    }
  }
  // A closed history (the Replayer's): the last task's commands must all be in it.
  const HistoryEvent* first_after = first_event_after_commands_;
  first_event_after_commands_ = nullptr;
  // The pointer is into `events`, so it goes now. Nothing is lost: after a closed history every
  // command is matched (or the run failed just below); after a task's WorkflowTaskStarted the
  // commands waiting are the new ones, and the events that will match them begin with a
  // WorkflowTaskCompleted, which resets it anyway.
  if (events.back().event_type() != enums::EVENT_TYPE_WORKFLOW_TASK_STARTED) commands_.expect_all_matched(first_after);
}

void WorkflowMachines::on_task_started(std::span<const HistoryEvent> events, std::size_t index) {
  const HistoryEvent& started = events[index];
  // Whatever the previous task produced must have been matched by now.
  commands_.expect_all_matched(first_event_after_commands_ ? first_event_after_commands_ : &started);

  const HistoryEvent* next = index + 1 < events.size() ? &events[index + 1] : nullptr;
  if (next != nullptr && next->event_type() != enums::EVENT_TYPE_WORKFLOW_TASK_COMPLETED) return;

  replaying_ = next != nullptr;
  now_ = std::chrono::system_clock::time_point(std::chrono::duration_cast<std::chrono::system_clock::duration>(
      std::chrono::nanoseconds(google::protobuf::util::TimeUtil::TimestampToNanoseconds(started.event_time()))));
  if (replaying_) {
    look_ahead_for_markers(events, index + 1);
  } else {
    answered_task_started_id_ = started.event_id();
  }
  run_workflow_code();
}

void WorkflowMachines::look_ahead_for_markers(std::span<const HistoryEvent> events, std::size_t from) {
  for (std::size_t i = from; i < events.size(); ++i) {
    const auto type = events[i].event_type();
    if (type == enums::EVENT_TYPE_WORKFLOW_TASK_STARTED) break;
    if (type == enums::EVENT_TYPE_MARKER_RECORDED) recorded_markers_.remember(events[i]);
  }
}

}  // namespace reprise::detail
