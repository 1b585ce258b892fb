// CompleteWorkflowMachine transitions (the table is in complete_workflow_machine.h).
// Exercised by tests/worker/completion_test.cpp.
#include "machines/complete_workflow_machine.h"

#include <stdexcept>

#include "replay/describe.h"

namespace reprise::detail {

namespace enums = temporal::api::enums::v1;

CompleteWorkflowMachine::CompleteWorkflowMachine(CommandQueue& commands, temporal::api::common::v1::Payloads result)
    : state_(State::CompleteCommandCreated) {
  Command command;
  command.set_command_type(enums::COMMAND_TYPE_COMPLETE_WORKFLOW_EXECUTION);
  *command.mutable_complete_workflow_execution_command_attributes()->mutable_result() = std::move(result);
  commands.push(std::move(command), this, "when the workflow function returned");
}

CompleteWorkflowMachine::CompleteWorkflowMachine(CommandQueue& commands, temporal::api::failure::v1::Failure failure)
    : state_(State::FailCommandCreated) {
  Command command;
  command.set_command_type(enums::COMMAND_TYPE_FAIL_WORKFLOW_EXECUTION);
  *command.mutable_fail_workflow_execution_command_attributes()->mutable_failure() = std::move(failure);
  commands.push(std::move(command), this, "when the workflow function threw a TemporalFailure");
}

CompleteWorkflowMachine::CompleteWorkflowMachine(
    CommandQueue& commands, temporal::api::command::v1::ContinueAsNewWorkflowExecutionCommandAttributes attributes)
    : state_(State::ContinueAsNewCommandCreated) {
  Command command;
  command.set_command_type(enums::COMMAND_TYPE_CONTINUE_AS_NEW_WORKFLOW_EXECUTION);
  *command.mutable_continue_as_new_workflow_execution_command_attributes() = std::move(attributes);
  commands.push(std::move(command), this, "when the workflow function threw ContinueAsNewError");
}

CompleteWorkflowMachine::CompleteWorkflowMachine(CommandQueue& commands, CancelWorkflow cancel)
    : state_(State::CancelCommandCreated) {
  Command command;
  command.set_command_type(enums::COMMAND_TYPE_CANCEL_WORKFLOW_EXECUTION);
  *command.mutable_cancel_workflow_execution_command_attributes()->mutable_details() = std::move(cancel.details);
  commands.push(std::move(command), this,
                "when the workflow function threw CanceledError after a cancellation request");
}

std::string CompleteWorkflowMachine::apply_command_event(const HistoryEvent& event, const Command& command) {
  // The CommandQueue already checked that the event kind is the one this command produces.
  switch (state_) {
    case State::CompleteCommandCreated:
    case State::FailCommandCreated:
    case State::ContinueAsNewCommandCreated:
    case State::CancelCommandCreated:
      state_ = State::Closed;
      return "";
    case State::Closed:
      break;
  }
  throw std::logic_error("workflow closed twice, at " + describe_event(event));
}

void CompleteWorkflowMachine::apply_event(const HistoryEvent& event) {
  throw std::runtime_error("a closed workflow takes no further events, got " + describe_event(event));
}

}  // namespace reprise::detail
