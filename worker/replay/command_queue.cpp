// Matching commands to command events (see command_queue.h).
//
// Which event each command kind produces (the "kind" half of the comparison):
//
//   command                          | event it produces
//   ---------------------------------+----------------------------------
//   ScheduleActivityTask             | ActivityTaskScheduled
//   RequestCancelActivityTask        | ActivityTaskCancelRequested
//   StartTimer                       | TimerStarted
//   CancelTimer                      | TimerCanceled
//   RecordMarker                     | MarkerRecorded
//   CompleteWorkflowExecution        | WorkflowExecutionCompleted
//   FailWorkflowExecution            | WorkflowExecutionFailed
//   ContinueAsNewWorkflowExecution   | WorkflowExecutionContinuedAsNew
//
// Exercised by tests/worker/mismatch_test.cpp.
#include "replay/command_queue.h"

#include <algorithm>

#include "replay/describe.h"
#include "reprise/errors.h"

namespace reprise::detail {

using temporal::api::enums::v1::CommandType;
using temporal::api::enums::v1::EventType;
namespace enums = temporal::api::enums::v1;

namespace {

EventType event_produced_by(CommandType type) {
  switch (type) {
    case enums::COMMAND_TYPE_SCHEDULE_ACTIVITY_TASK:
      return enums::EVENT_TYPE_ACTIVITY_TASK_SCHEDULED;
    case enums::COMMAND_TYPE_REQUEST_CANCEL_ACTIVITY_TASK:
      return enums::EVENT_TYPE_ACTIVITY_TASK_CANCEL_REQUESTED;
    case enums::COMMAND_TYPE_START_TIMER:
      return enums::EVENT_TYPE_TIMER_STARTED;
    case enums::COMMAND_TYPE_CANCEL_TIMER:
      return enums::EVENT_TYPE_TIMER_CANCELED;
    case enums::COMMAND_TYPE_RECORD_MARKER:
      return enums::EVENT_TYPE_MARKER_RECORDED;
    case enums::COMMAND_TYPE_COMPLETE_WORKFLOW_EXECUTION:
      return enums::EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED;
    case enums::COMMAND_TYPE_FAIL_WORKFLOW_EXECUTION:
      return enums::EVENT_TYPE_WORKFLOW_EXECUTION_FAILED;
    case enums::COMMAND_TYPE_CONTINUE_AS_NEW_WORKFLOW_EXECUTION:
      return enums::EVENT_TYPE_WORKFLOW_EXECUTION_CONTINUED_AS_NEW;
    case enums::COMMAND_TYPE_CANCEL_WORKFLOW_EXECUTION:
      return enums::EVENT_TYPE_WORKFLOW_EXECUTION_CANCELED;
    default:
      return enums::EVENT_TYPE_UNSPECIFIED;
  }
}

std::string mismatch(const HistoryEvent& event, const CommandQueue::Entry& entry, const std::string& difference) {
  return "history event " + describe_event(event) +
         " does not match the command the workflow code produced: " + describe_command(entry.command) + " " +
         entry.origin.describe() + " (" + difference + ")";
}

}  // namespace

bool is_command_event(EventType type) {
  switch (type) {
    case enums::EVENT_TYPE_ACTIVITY_TASK_SCHEDULED:
    case enums::EVENT_TYPE_ACTIVITY_TASK_CANCEL_REQUESTED:
    case enums::EVENT_TYPE_TIMER_STARTED:
    case enums::EVENT_TYPE_TIMER_CANCELED:
    case enums::EVENT_TYPE_MARKER_RECORDED:
    case enums::EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED:
    case enums::EVENT_TYPE_WORKFLOW_EXECUTION_FAILED:
    case enums::EVENT_TYPE_WORKFLOW_EXECUTION_CANCELED:
    case enums::EVENT_TYPE_WORKFLOW_EXECUTION_CONTINUED_AS_NEW:
    case enums::EVENT_TYPE_START_CHILD_WORKFLOW_EXECUTION_INITIATED:
    case enums::EVENT_TYPE_REQUEST_CANCEL_EXTERNAL_WORKFLOW_EXECUTION_INITIATED:
    case enums::EVENT_TYPE_SIGNAL_EXTERNAL_WORKFLOW_EXECUTION_INITIATED:
    case enums::EVENT_TYPE_UPSERT_WORKFLOW_SEARCH_ATTRIBUTES:
    case enums::EVENT_TYPE_WORKFLOW_PROPERTIES_MODIFIED:
    case enums::EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_ACCEPTED:
    case enums::EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_COMPLETED:
      return true;
    default:
      return false;
  }
}

std::string CommandQueue::Origin::describe() const { return when ? std::string(when) : "at " + describe_where(where); }

void CommandQueue::push(Command command, Machine* machine, std::source_location where) {
  entries_.push_back(Entry{std::move(command), machine, Origin{where}});
}

void CommandQueue::push(Command command, Machine* machine, const char* when) {
  entries_.push_back(Entry{std::move(command), machine, Origin{std::source_location(), when}});
}

bool CommandQueue::withdraw(const Machine* machine) {
  auto before = entries_.size();
  entries_.erase(std::remove_if(entries_.begin(), entries_.end(), [&](const Entry& e) { return e.machine == machine; }),
                 entries_.end());
  return entries_.size() != before;
}

Machine* CommandQueue::match(const HistoryEvent& event, std::optional<std::source_location> blocked_at) {
  if (entries_.empty()) {
    throw NondeterminismError("history event " + describe_event(event) +
                              " has no matching command: the workflow code produced no further command" +
                              (blocked_at ? " (it is blocked at " + describe_where(*blocked_at) + ")" : std::string()));
  }
  const Entry& oldest = entries_.front();
  EventType expected = event_produced_by(oldest.command.command_type());
  if (event.event_type() != expected) {
    throw NondeterminismError(mismatch(event, oldest,
                                       "a " + command_type_name(oldest.command.command_type()) + " command produces " +
                                           event_type_name(expected) + ", not " + event_type_name(event.event_type())));
  }
  std::string difference = oldest.machine->apply_command_event(event, oldest.command);
  if (!difference.empty()) throw NondeterminismError(mismatch(event, oldest, difference));
  Machine* machine = oldest.machine;
  entries_.pop_front();
  return machine;
}

void CommandQueue::expect_all_matched(const HistoryEvent* next_event) const {
  if (entries_.empty()) return;
  const Entry& extra = entries_.front();
  throw NondeterminismError(
      "the workflow code produced " + describe_command(extra.command) + " " + extra.origin.describe() +
      ", but history has no event for it (" +
      (next_event ? "the workflow task's command events end before history event " + describe_event(*next_event)
                  : std::string("history ends there")) +
      ")");
}

std::vector<Command> CommandQueue::commands() const {
  std::vector<Command> out;
  for (const Entry& e : entries_) out.push_back(e.command);
  return out;
}

}  // namespace reprise::detail
