// WorkflowRun: activations for the worker runtime (see reprise/workflow_run.h).
//
// The run keeps no events, so its memory does not grow with its history (bench/README.md, "sticky
// cache"). The price is one recovery rule: when history shows that the task this run answered was
// failed or timed out (the server threw its commands away), the run cannot undo what its code did
// since, and a fresh run replays the whole history, exactly as after an eviction.
// Exercised by tests/worker/three_ways_test.cpp and tests/worker/task_failure_test.cpp.
#include "reprise/workflow_run.h"

#include <algorithm>
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
  next_event_id_ = 1;
  at_task_started_ = false;
}

std::size_t WorkflowRun::open_machines() const { return machines_->open_machines(); }

Activation WorkflowRun::activate(const temporal::api::history::v1::History& history) {
  std::vector<HistoryEvent> events(history.events().begin(), history.events().end());
  return activate(events);
}

std::optional<std::span<const HistoryEvent>> WorkflowRun::unapplied(std::span<const HistoryEvent> new_events) const {
  std::size_t skip = 0;
  while (skip < new_events.size() && new_events[skip].event_id() < next_event_id_) ++skip;
  if (skip < new_events.size() && new_events[skip].event_id() != next_event_id_) return std::nullopt;
  return new_events.subspan(skip);
}

bool WorkflowRun::answered_task_failed(std::span<const HistoryEvent> fresh) const {
  return std::any_of(fresh.begin(), fresh.end(), [&](const HistoryEvent& event) {
    return ends_task_without_completion(event, machines_->answered_task_started_id());
  });
}

bool WorkflowRun::must_start_over(std::span<const HistoryEvent> new_events) const {
  if (new_events.empty() || new_events.front().event_id() == 1) return false;  // activate() copes
  auto fresh = unapplied(new_events);
  return !fresh || answered_task_failed(*fresh);
}

Activation WorkflowRun::activate(std::span<const HistoryEvent> new_events) {
  if (poisoned_) return Activation{{}, poisoned_, false};

  auto unapplied_events = unapplied(new_events);
  if (!unapplied_events) {
    auto first_new = std::find_if(new_events.begin(), new_events.end(),
                                  [&](const HistoryEvent& event) { return event.event_id() >= next_event_id_; });
    throw std::invalid_argument("history gap: the run expects event " + std::to_string(next_event_id_) +
                                " but got event " + std::to_string(first_new->event_id()) +
                                "; evict the run and replay from event 1");
  }
  std::span<const HistoryEvent> fresh = *unapplied_events;
  if (answered_task_failed(fresh)) {
    if (new_events.front().event_id() != 1)
      throw std::invalid_argument("the workflow task this run answered (started at event " +
                                  std::to_string(machines_->answered_task_started_id()) +
                                  ") was failed or timed out; evict the run and replay from event 1");
    rebuild_machines();
    fresh = new_events;
  }

  if (!fresh.empty()) {
    next_event_id_ = fresh.back().event_id() + 1;
    at_task_started_ = fresh.back().event_type() == enums::EVENT_TYPE_WORKFLOW_TASK_STARTED;
  }
  try {
    machines_->apply(fresh);
  } catch (const NondeterminismError&) {
    return fail(task_failure(enums::WORKFLOW_TASK_FAILED_CAUSE_NON_DETERMINISTIC_ERROR, std::current_exception()));
  } catch (...) {
    return fail(
        task_failure(enums::WORKFLOW_TASK_FAILED_CAUSE_WORKFLOW_WORKER_UNHANDLED_FAILURE, std::current_exception()));
  }

  Activation activation;
  if (at_task_started_) activation.commands = machines_->commands_to_send();
  activation.workflow_closed = machines_->closed();
  return activation;
}

Activation WorkflowRun::fail(const TaskFailure& failure) {
  poisoned_ = failure;
  return Activation{{}, failure, false};
}

}  // namespace reprise
