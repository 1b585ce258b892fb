// CompleteWorkflowMachine: the end of the run: complete, fail, cancel, or continue as new.
//
//   state                       | input                                     | next                        | effect
//   ----------------------------+-------------------------------------------+-----------------------------+-------------------------------
//   (created)                   | code: the workflow function returned      | CompleteCommandCreated      | emits CompleteWorkflowExecution
//   (created)                   | code: it threw another TemporalFailure    | FailCommandCreated          | emits FailWorkflowExecution
//   (created)                   | code: it threw a ContinueAsNewError       | ContinueAsNewCommandCreated | emits ContinueAsNewWorkflowExecution
//   (created)                   | code: CanceledError, cancel requested     | CancelCommandCreated        | emits CancelWorkflowExecution
//   CompleteCommandCreated      | WorkflowExecutionCompleted (matched)      | Closed                      |
//   FailCommandCreated          | WorkflowExecutionFailed (matched)         | Closed                      |
//   CancelCommandCreated        | WorkflowExecutionCanceled (matched)       | Closed                      |
//   ContinueAsNewCommandCreated | WorkflowExecutionContinuedAsNew (matched) | Closed                      |
//
// Replay compares only the kind (as Temporal's SDKs do): a workflow may return a different result
// on replay without being nondeterministic. Any other exception does not get here: it fails the
// workflow task instead (see reprise/errors.h).
// Exercised by tests/worker/completion_test.cpp and workflow_cancel_test.cpp.
#pragma once

#include "machines/machine.h"
#include "replay/command_queue.h"
#include "temporal/api/common/v1/message.pb.h"
#include "temporal/api/failure/v1/message.pb.h"

namespace reprise::detail {

// The workflow accepted a cancellation request (it threw CanceledError after one arrived).
struct CancelWorkflow {
  temporal::api::common::v1::Payloads details;
};

class CompleteWorkflowMachine final : public Machine {
 public:
  // Emits CompleteWorkflowExecution.
  CompleteWorkflowMachine(CommandQueue& commands, temporal::api::common::v1::Payloads result);
  // Emits FailWorkflowExecution.
  CompleteWorkflowMachine(CommandQueue& commands, temporal::api::failure::v1::Failure failure);
  // Emits ContinueAsNewWorkflowExecution.
  CompleteWorkflowMachine(CommandQueue& commands,
                          temporal::api::command::v1::ContinueAsNewWorkflowExecutionCommandAttributes attributes);
  // Emits CancelWorkflowExecution.
  CompleteWorkflowMachine(CommandQueue& commands, CancelWorkflow cancel);

  std::string apply_command_event(const HistoryEvent& event, const Command& command) override;
  void apply_event(const HistoryEvent& event) override;

 private:
  enum class State {
    CompleteCommandCreated,
    FailCommandCreated,
    ContinueAsNewCommandCreated,
    CancelCommandCreated,
    Closed
  };
  State state_;
};

}  // namespace reprise::detail
