// WorkflowRun: activations for the worker runtime (see reprise/workflow_run.h).
//
// The run keeps every event it has applied. That costs memory, and buys one simple recovery rule:
// when history shows that the task this run answered was failed or timed out (its commands were
// thrown away by the server), the run discards its machines and coroutines and replays from event 1,
// exactly as a freshly evicted run would.
// Exercised by tests/worker/three_ways_test.cpp and tests/worker/task_failure_test.cpp.
#include "reprise/workflow_run.h"

#include <stdexcept>

#include "replay/workflow_machines.h"
#include "reprise/errors.h"

namespace reprise {

namespace enums = temporal::api::enums::v1;

namespace {

TaskFailure task_failure(enums::WorkflowTaskFailedCause cause, std::exception_ptr error) {
  TaskFailure failure{cause, exception_to_failure(error)};
  failure.failure.set_source(kFailureSource);
  return failure;
}

// Does `event` fail or time out the workflow task whose WorkflowTaskStarted is `started_id`?
bool ends_task_without_completion(const HistoryEvent& event, std::int64_t started_id) {
  if (started_id == 0) return false;
  if (event.event_type() == enums::EVENT_TYPE_WORKFLOW_TASK_FAILED)
    return event.workflow_task_failed_event_attributes().started_event_id() == started_id;
  if (event.event_type() == enums::EVENT_TYPE_WORKFLOW_TASK_TIMED_OUT)
    return event.workflow_task_timed_out_event_attributes().started_event_id() == started_id;
  return false;
}

}  // namespace

StartInfo StartInfo::from_poll(const temporal::api::workflowservice::v1::PollWorkflowTaskQueueResponse& poll,
                               std::string namespace_name) {
  StartInfo info;
  info.namespace_name = std::move(namespace_name);
  info.workflow_id = poll.workflow_execution().workflow_id();
  info.run_id = poll.workflow_execution().run_id();
  info.workflow_type = poll.workflow_type().name();
  info.task_queue = poll.workflow_execution_task_queue().name();
  return info;
}

WorkflowRun::WorkflowRun(const WorkflowRegistry& registry, StartInfo start)
    : registry_(registry), start_(std::move(start)) {
  rebuild_machines();
}

WorkflowRun::~WorkflowRun() = default;

void WorkflowRun::rebuild_machines() {
  machines_.reset();  // frees the old coroutines before the new machines exist
  machines_ = std::make_unique<detail::WorkflowMachines>(registry_, start_);
}

std::int64_t WorkflowRun::next_event_id() const { return history_.empty() ? 1 : history_.back().event_id() + 1; }

Activation WorkflowRun::activate(const temporal::api::history::v1::History& history) {
  std::vector<HistoryEvent> events(history.events().begin(), history.events().end());
  return activate(std::move(events));
}

Activation WorkflowRun::activate(std::span<const HistoryEvent> new_events) { return append_and_apply(new_events); }

Activation WorkflowRun::activate(std::vector<HistoryEvent>&& new_events) { return append_and_apply(new_events); }

template <class Events>
Activation WorkflowRun::append_and_apply(Events& new_events) {
  if (poisoned_) return Activation{{}, poisoned_, false};

  // Skip what is already applied; refuse a gap.
  std::size_t skip = 0;
  while (skip < new_events.size() && new_events[skip].event_id() < next_event_id()) ++skip;
  if (skip < new_events.size() && new_events[skip].event_id() != next_event_id())
    throw std::invalid_argument("history gap: the run expects event " + std::to_string(next_event_id()) +
                                " but got event " + std::to_string(new_events[skip].event_id()) +
                                "; evict the run and replay from event 1");

  std::size_t from = history_.size();
  bool answered_task_failed = false;
  for (std::size_t i = skip; i < new_events.size(); ++i) {
    answered_task_failed |= ends_task_without_completion(new_events[i], machines_->answered_task_started_id());
    history_.push_back(std::move(new_events[i]));  // a move from a span's const event is a copy
  }
  if (answered_task_failed) {
    rebuild_machines();
    from = 0;
  }

  try {
    machines_->apply(history_, from);
  } catch (const NondeterminismError&) {
    return fail(task_failure(enums::WORKFLOW_TASK_FAILED_CAUSE_NON_DETERMINISTIC_ERROR, std::current_exception()));
  } catch (...) {
    return fail(
        task_failure(enums::WORKFLOW_TASK_FAILED_CAUSE_WORKFLOW_WORKER_UNHANDLED_FAILURE, std::current_exception()));
  }

  Activation activation;
  const bool answering = !history_.empty() && history_.back().event_type() == enums::EVENT_TYPE_WORKFLOW_TASK_STARTED;
  if (answering) activation.commands = machines_->commands_to_send();
  activation.workflow_closed = machines_->closed();
  return activation;
}

Activation WorkflowRun::fail(const TaskFailure& failure) {
  poisoned_ = failure;
  return Activation{{}, failure, false};
}

}  // namespace reprise
