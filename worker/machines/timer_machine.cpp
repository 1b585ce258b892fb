// TimerMachine transitions (the table is in timer_machine.h).
// Exercised by tests/worker/timer_test.cpp.
#include "machines/timer_machine.h"

#include <google/protobuf/util/time_util.h>

#include <stdexcept>

#include "replay/describe.h"
#include "reprise/errors.h"

namespace reprise::detail {

namespace enums = temporal::api::enums::v1;

TimerMachine::TimerMachine(Scheduler& scheduler, CommandQueue& commands, std::string timer_id, Duration duration,
                           std::source_location where)
    : operation_(new Operation(scheduler, where, this)), commands_(commands), timer_id_(std::move(timer_id)) {
  Command command;
  command.set_command_type(enums::COMMAND_TYPE_START_TIMER);
  auto* attributes = command.mutable_start_timer_command_attributes();
  attributes->set_timer_id(timer_id_);
  *attributes->mutable_start_to_fire_timeout() =
      google::protobuf::util::TimeUtil::MillisecondsToDuration(duration.count());
  commands_.push(std::move(command), this, where);
}

std::string TimerMachine::check_timer_id(const std::string& in_history) const {
  if (in_history == timer_id_) return "";
  return "timer id differs: history \"" + in_history + "\", code \"" + timer_id_ + "\"";
}

std::string TimerMachine::apply_command_event(const HistoryEvent& event, const Command& command) {
  switch (command.command_type()) {
    case enums::COMMAND_TYPE_START_TIMER: {
      std::string difference = check_timer_id(event.timer_started_event_attributes().timer_id());
      if (!difference.empty()) return difference;
      started_event_id_ = event.event_id();
      if (state_ == State::StartCommandCreated) state_ = State::Started;
      return "";
    }
    case enums::COMMAND_TYPE_CANCEL_TIMER: {
      std::string difference = check_timer_id(event.timer_canceled_event_attributes().timer_id());
      if (!difference.empty()) return difference;
      state_ = State::Canceled;
      return "";
    }
    default:
      throw std::logic_error("TimerMachine was paired with " + describe_command(command));
  }
}

void TimerMachine::apply_event(const HistoryEvent& event) {
  if (event.event_type() != enums::EVENT_TYPE_TIMER_FIRED || state_ != State::Started)
    throw std::runtime_error("timer \"" + timer_id_ + "\" cannot take history event " + describe_event(event) + " now");
  std::string difference = check_timer_id(event.timer_fired_event_attributes().timer_id());
  if (!difference.empty())
    throw NondeterminismError("history event " + describe_event(event) + " fires a timer the code did not start (" +
                              difference + ")");
  state_ = State::Fired;
  operation_->resolve({});
}

bool TimerMachine::done() const { return state_ == State::Fired || state_ == State::Canceled; }

void TimerMachine::cancel(std::source_location where) {
  if (state_ != State::StartCommandCreated && state_ != State::Started) return;
  Command command;
  command.set_command_type(enums::COMMAND_TYPE_CANCEL_TIMER);
  command.mutable_cancel_timer_command_attributes()->set_timer_id(timer_id_);
  commands_.push(std::move(command), this, where);
  state_ = State::CancelCommandCreated;
  operation_->reject(std::make_exception_ptr(CanceledError("Timer canceled")));
}

}  // namespace reprise::detail
