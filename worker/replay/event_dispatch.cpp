// Event dispatch: every non-command event goes to the machine or inbox it concerns.
//
//   event                                         | goes to
//   ----------------------------------------------+---------------------------------------------
//   WorkflowExecutionStarted                      | the run: input, run ids, the random seed
//   ActivityTaskStarted/Completed/Failed/         | the activity, by scheduled_event_id
//     TimedOut/Canceled                           |
//   TimerFired                                    | the timer, by started_event_id
//   WorkflowExecutionSignaled                     | the signal inbox
//   WorkflowExecutionCancelRequested              | the run: ctx.cancel_requested() turns true
//   WorkflowExecutionTerminated, TimedOut         | nobody (they end the run from outside)
//   anything else                                 | error, unless the server marked it worker_may_ignore
//
// Exercised by tests/worker/activity_test.cpp, timer_test.cpp and signal_test.cpp.
#include <stdexcept>

#include "replay/describe.h"
#include "replay/workflow_machines.h"

namespace reprise::detail {

namespace enums = temporal::api::enums::v1;

void WorkflowMachines::apply_non_command_event(const HistoryEvent& event) {
  switch (event.event_type()) {
    case enums::EVENT_TYPE_WORKFLOW_EXECUTION_STARTED:
      on_workflow_started(event);
      break;
    case enums::EVENT_TYPE_ACTIVITY_TASK_STARTED:
      apply_to_machine(event.activity_task_started_event_attributes().scheduled_event_id(), event);
      break;
    case enums::EVENT_TYPE_ACTIVITY_TASK_COMPLETED:
      apply_to_machine(event.activity_task_completed_event_attributes().scheduled_event_id(), event);
      break;
    case enums::EVENT_TYPE_ACTIVITY_TASK_FAILED:
      apply_to_machine(event.activity_task_failed_event_attributes().scheduled_event_id(), event);
      break;
    case enums::EVENT_TYPE_ACTIVITY_TASK_TIMED_OUT:
      apply_to_machine(event.activity_task_timed_out_event_attributes().scheduled_event_id(), event);
      break;
    case enums::EVENT_TYPE_ACTIVITY_TASK_CANCELED:
      apply_to_machine(event.activity_task_canceled_event_attributes().scheduled_event_id(), event);
      break;
    case enums::EVENT_TYPE_TIMER_FIRED:
      apply_to_machine(event.timer_fired_event_attributes().started_event_id(), event);
      break;
    case enums::EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED:
      signals_.on_signaled(event);
      break;
    case enums::EVENT_TYPE_WORKFLOW_EXECUTION_CANCEL_REQUESTED:
      cancel_requested_ = true;  // conditions waiting on it are re-checked when the code runs next
      break;
    case enums::EVENT_TYPE_WORKFLOW_EXECUTION_TERMINATED:
    case enums::EVENT_TYPE_WORKFLOW_EXECUTION_TIMED_OUT:
      break;
    default:
      if (event.worker_may_ignore()) break;
      throw std::runtime_error("history event " + describe_event(event) + " is not supported by this worker");
  }
}

void WorkflowMachines::apply_to_machine(std::int64_t initial_event_id, const HistoryEvent& event) {
  Machine& machine = machine_for(initial_event_id, event);
  machine.apply_event(event);
  if (machine.done()) release(machine);  // the activity closed, the timer fired
}

Machine& WorkflowMachines::machine_for(std::int64_t initial_event_id, const HistoryEvent& event) {
  auto it = by_initial_event_id_.find(initial_event_id);
  if (it == by_initial_event_id_.end())
    throw std::runtime_error("history event " + describe_event(event) + " refers to event #" +
                             std::to_string(initial_event_id) + ", which started nothing this run has open");
  return *it->second;
}

void WorkflowMachines::on_workflow_started(const HistoryEvent& event) {
  const auto& started = event.workflow_execution_started_event_attributes();
  input_ = started.input();
  if (info_.workflow_type.empty()) info_.workflow_type = started.workflow_type().name();
  if (info_.task_queue.empty()) info_.task_queue = started.task_queue().name();
  if (info_.workflow_id.empty()) info_.workflow_id = started.workflow_id();
  info_.original_execution_run_id = started.original_execution_run_id();
  info_.first_execution_run_id = started.first_execution_run_id();
  info_.attempt = started.attempt() > 0 ? started.attempt() : 1;
}

std::mt19937_64& WorkflowMachines::random_engine() {
  if (!random_) {
    // Workflow randomness is seeded from the run id the run was created with (temporal-semantics.md
    // §7.5); std::seed_seq and std::mt19937_64 are specified exactly, so every platform agrees.
    const std::string& seed_text =
        info_.original_execution_run_id.empty() ? info_.run_id : info_.original_execution_run_id;
    std::seed_seq seed(seed_text.begin(), seed_text.end());
    random_.emplace(seed);
  }
  return *random_;
}

}  // namespace reprise::detail
