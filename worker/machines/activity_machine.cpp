// ActivityMachine transitions (the table is in activity_machine.h).
// Exercised by tests/worker/activity_test.cpp and tests/worker/cancellation_test.cpp.
#include "machines/activity_machine.h"

#include <stdexcept>

#include "replay/describe.h"
#include "reprise/errors.h"

namespace reprise::detail {

namespace enums = temporal::api::enums::v1;
using temporal::api::failure::v1::Failure;

ActivityMachine::ActivityMachine(Scheduler& scheduler, CommandQueue& commands,
                                 temporal::api::command::v1::ScheduleActivityTaskCommandAttributes attributes,
                                 ActivityCancellationType cancellation_type, std::source_location where)
    : operation_(new Operation(scheduler, where, this)),
      commands_(commands),
      activity_id_(attributes.activity_id()),
      activity_type_(attributes.activity_type().name()),
      cancellation_type_(cancellation_type) {
  Command command;
  command.set_command_type(enums::COMMAND_TYPE_SCHEDULE_ACTIVITY_TASK);
  *command.mutable_schedule_activity_task_command_attributes() = std::move(attributes);
  commands_.push(std::move(command), this, where);
}

std::string ActivityMachine::apply_command_event(const HistoryEvent& event, const Command& command) {
  switch (command.command_type()) {
    case enums::COMMAND_TYPE_SCHEDULE_ACTIVITY_TASK: {
      const auto& scheduled = event.activity_task_scheduled_event_attributes();
      if (scheduled.activity_id() != activity_id_)
        return "activity id differs: history \"" + scheduled.activity_id() + "\", code \"" + activity_id_ + "\"";
      if (scheduled.activity_type().name() != activity_type_)
        return "activity type differs: history \"" + scheduled.activity_type().name() + "\", code \"" + activity_type_ +
               "\"";
      scheduled_event_id_ = event.event_id();
      state_ = State::Scheduled;
      return "";
    }
    case enums::COMMAND_TYPE_REQUEST_CANCEL_ACTIVITY_TASK: {
      std::int64_t target = event.activity_task_cancel_requested_event_attributes().scheduled_event_id();
      if (target != scheduled_event_id_)
        return "cancel request for scheduled event " + std::to_string(target) + ", code cancels " +
               std::to_string(scheduled_event_id_);
      state_ = State::CancelRequested;
      return "";
    }
    default:
      throw std::logic_error("ActivityMachine was paired with " + describe_command(command));
  }
}

void ActivityMachine::apply_event(const HistoryEvent& event) {
  if (state_ == State::Canceled && cancellation_type_ == ActivityCancellationType::abandon) {
    // The code stopped waiting, but the activity was never told and runs on: history still
    // records it starting and ending, which changes nothing here.
    closed_in_history_ = event.event_type() != enums::EVENT_TYPE_ACTIVITY_TASK_STARTED;
    return;
  }
  const bool open = state_ == State::Scheduled || state_ == State::Started || state_ == State::CancelCommandCreated ||
                    state_ == State::CancelRequested;
  if (!open) throw std::runtime_error("activity cannot take history event " + describe_event(event) + " now");
  const bool cancel_requested = state_ == State::CancelCommandCreated || state_ == State::CancelRequested;
  const bool cancel_command_waiting = state_ == State::CancelCommandCreated;
  switch (event.event_type()) {
    case enums::EVENT_TYPE_ACTIVITY_TASK_STARTED:
      started_event_id_ = event.event_id();
      identity_ = event.activity_task_started_event_attributes().identity();
      if (!cancel_requested) state_ = State::Started;
      break;
    case enums::EVENT_TYPE_ACTIVITY_TASK_COMPLETED:
      state_ = State::Completed;
      operation_->resolve(event.activity_task_completed_event_attributes().result());
      break;
    case enums::EVENT_TYPE_ACTIVITY_TASK_FAILED: {
      const auto& failed = event.activity_task_failed_event_attributes();
      state_ = State::Failed;
      if (!failed.identity().empty()) identity_ = failed.identity();
      operation_->reject(
          std::make_exception_ptr(ActivityError(activity_failure("failed", failed.failure(), failed.retry_state()))));
      break;
    }
    case enums::EVENT_TYPE_ACTIVITY_TASK_TIMED_OUT: {
      const auto& timed_out = event.activity_task_timed_out_event_attributes();
      state_ = State::TimedOut;
      operation_->reject(std::make_exception_ptr(
          ActivityError(activity_failure("timed out", timed_out.failure(), timed_out.retry_state()))));
      break;
    }
    case enums::EVENT_TYPE_ACTIVITY_TASK_CANCELED:
      state_ = State::Canceled;
      fail_as_canceled();
      break;
    default:
      throw std::runtime_error("activity cannot take history event " + describe_event(event));
  }
  // Every event but ActivityTaskStarted closes the activity; then nothing more can reach it, unless
  // its cancel command still waits for its event.
  closed_in_history_ = event.event_type() != enums::EVENT_TYPE_ACTIVITY_TASK_STARTED && !cancel_command_waiting;
}

bool ActivityMachine::done() const { return closed_in_history_; }

void ActivityMachine::cancel(std::source_location where) {
  switch (state_) {
    case State::ScheduleCommandCreated:
      // Never sent (RequestCancelActivityTask would need a scheduled event id that does not exist).
      commands_.withdraw(this);
      state_ = State::Canceled;
      fail_as_canceled();
      break;
    case State::Scheduled:
    case State::Started:
      if (cancellation_type_ == ActivityCancellationType::abandon) {
        state_ = State::Canceled;
        fail_as_canceled();
        break;
      }
      {
        Command command;
        command.set_command_type(enums::COMMAND_TYPE_REQUEST_CANCEL_ACTIVITY_TASK);
        command.mutable_request_cancel_activity_task_command_attributes()->set_scheduled_event_id(scheduled_event_id_);
        commands_.push(std::move(command), this, where);
      }
      state_ = State::CancelCommandCreated;
      if (cancellation_type_ == ActivityCancellationType::try_cancel) fail_as_canceled();
      break;
    default:  // already asked, or finished: nothing to do
      break;
  }
}

Failure ActivityMachine::activity_failure(const std::string& verb, const Failure& cause,
                                          enums::RetryState retry_state) const {
  Failure failure;
  failure.set_message("Activity task " + verb);
  auto* info = failure.mutable_activity_failure_info();
  info->set_scheduled_event_id(scheduled_event_id_);
  info->set_started_event_id(started_event_id_);
  info->set_identity(identity_);
  info->mutable_activity_type()->set_name(activity_type_);
  info->set_activity_id(activity_id_);
  info->set_retry_state(retry_state);
  *failure.mutable_cause() = cause;
  return failure;
}

void ActivityMachine::fail_as_canceled() {
  operation_->reject(std::make_exception_ptr(ActivityError(activity_failure(
      "canceled", CanceledError("Activity canceled").to_failure(), enums::RETRY_STATE_CANCEL_REQUESTED))));
}

}  // namespace reprise::detail
