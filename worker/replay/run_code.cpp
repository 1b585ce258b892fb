// Running workflow code for one workflow task, and closing the run when the workflow returns.
//
// One code run = deliver the task's signals (handlers run first, in history order), start the
// workflow function if this is the first task, then let the Scheduler resume coroutines until all
// are blocked. If the workflow function has finished, the run closes: its frames are freed and the
// closing command is produced (complete; continue-as-new for a ContinueAsNewError; cancel for a
// CanceledError once cancellation was requested; fail for any other TemporalFailure); any other
// exception is rethrown to fail the workflow task.
// Exercised by tests/worker/completion_test.cpp and tests/worker/frames_test.cpp.
#include <stdexcept>

#include "machines/activity_machine.h"
#include "machines/complete_workflow_machine.h"
#include "machines/timer_machine.h"
#include "replay/workflow_machines.h"
#include "reprise/errors.h"

namespace reprise::detail {

WorkflowMachines::WorkflowMachines(const WorkflowRegistry& registry, const StartInfo& start) : registry_(registry) {
  info_.namespace_name = start.namespace_name;
  info_.workflow_id = start.workflow_id;
  info_.run_id = start.run_id;
  info_.workflow_type = start.workflow_type;
  info_.task_queue = start.task_queue;
}

WorkflowMachines::~WorkflowMachines() = default;

void WorkflowMachines::run_workflow_code() {
  if (closed_) return;
  scheduler_.run_until_blocked([this] {
    signals_.deliver();
    if (!root_) {
      const WorkflowFunction* function = registry_.find(info_.workflow_type);
      if (function == nullptr)
        throw std::runtime_error("workflow type \"" + info_.workflow_type + "\" is not registered with this worker");
      root_.emplace((*function)(context_, input_));
      root_->start_detached();
    }
  });
  if (root_ && root_->done()) close_workflow();
}

void WorkflowMachines::close_workflow() {
  Payloads result;
  std::exception_ptr error;
  try {
    result = root_->take_result();
  } catch (...) {
    error = std::current_exception();
  }
  root_.reset();  // frees every coroutine frame of the workflow
  signals_.clear_handlers();
  closed_ = true;
  if (!error) {
    adopt(std::make_unique<CompleteWorkflowMachine>(commands_, std::move(result)));
    return;
  }
  try {
    std::rethrow_exception(error);
  } catch (const ContinueAsNewError& continue_as_new) {
    adopt(std::make_unique<CompleteWorkflowMachine>(commands_, continue_as_new.attributes()));
    return;
  } catch (const CanceledError&) {
    if (cancel_requested_) {  // the workflow accepted the request: the run ends as Canceled
      adopt(std::make_unique<CompleteWorkflowMachine>(commands_, CancelWorkflow{}));
      return;
    }
  } catch (...) {
  }
  if (fails_workflow(error)) {
    adopt(std::make_unique<CompleteWorkflowMachine>(commands_, exception_to_failure(error)));
  } else {
    std::rethrow_exception(error);
  }
}

OperationRef WorkflowMachines::schedule_activity(
    temporal::api::command::v1::ScheduleActivityTaskCommandAttributes attributes,
    ActivityCancellationType cancellation_type, std::source_location where) {
  ++activity_seq_;
  if (attributes.activity_id().empty()) attributes.set_activity_id(std::to_string(activity_seq_));
  if (attributes.task_queue().name().empty()) attributes.mutable_task_queue()->set_name(info_.task_queue);
  auto machine =
      std::make_unique<ActivityMachine>(scheduler_, commands_, std::move(attributes), cancellation_type, where);
  OperationRef operation = machine->operation();
  adopt(std::move(machine));
  return operation;
}

OperationRef WorkflowMachines::start_timer(std::string timer_id, Duration duration, std::source_location where) {
  ++timer_seq_;
  if (timer_id.empty()) timer_id = std::to_string(timer_seq_);
  auto machine = std::make_unique<TimerMachine>(scheduler_, commands_, std::move(timer_id), duration, where);
  OperationRef operation = machine->operation();
  adopt(std::move(machine));
  return operation;
}

void WorkflowMachines::adopt(std::unique_ptr<Machine> machine) {
  machine->slot = machines_.size();
  machines_.push_back(std::move(machine));
}

void WorkflowMachines::release(Machine& machine) {
  if (machine.initial_event_id != 0) by_initial_event_id_.erase(machine.initial_event_id);
  const std::size_t slot = machine.slot;
  machines_[slot] = std::move(machines_.back());  // destroys it
  machines_[slot]->slot = slot;
  machines_.pop_back();
}

void WorkflowMachines::record_marker(std::string marker_name, MarkerDetails details, std::source_location where) {
  adopt(std::make_unique<MarkerMachine>(commands_, std::move(marker_name), std::move(details), where));
}

}  // namespace reprise::detail
