// WorkflowRun: one workflow run in a worker's memory, the interface between the worker runtime
// (polling, the sticky cache, gRPC) and the replay engine. This is all the runtime needs:
//
//   auto run = std::make_unique<WorkflowRun>(registry, StartInfo::from_poll(poll));
//   Activation a = run->activate(events of the poll response);
//   if (a.failure) respond RespondWorkflowTaskFailed{a.failure->cause, a.failure->failure} and evict;
//   else           respond RespondWorkflowTaskCompleted{a.commands};
//
// What to pass to activate():
//   * A fresh run (not cached, or just evicted) gets the whole history from event 1 up to the
//     WorkflowTaskStarted of the task being answered: every earlier task is replayed.
//   * A cached run (sticky queue) gets only the new events: from the WorkflowTaskCompleted that
//     answered its previous task up to the new WorkflowTaskStarted. Events it already has are
//     skipped, so passing more than needed is harmless; a gap (first event > next_event_id()) throws
//     std::invalid_argument and the runtime must evict and replay from event 1.
//   * Several workflow tasks at once are fine (one at a time, or all at once, give the same
//     commands); a batch that does not end at a WorkflowTaskStarted (a closed history, the Replayer)
//     replays everything and answers nothing.
//
// If history shows that the task this run last answered was failed or timed out (its commands were
// never applied), the run throws its state away and replays from event 1 by itself.
//
// Destroying a WorkflowRun destroys every coroutine frame of the workflow (eviction). A run is not
// thread-safe; the runtime must not activate one run from two threads at once.
// Exercised by tests/worker/three_ways_test.cpp, tests/worker/task_failure_test.cpp and most others.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "reprise/registry.h"
#include "temporal/api/command/v1/message.pb.h"
#include "temporal/api/enums/v1/failed_cause.pb.h"
#include "temporal/api/failure/v1/message.pb.h"
#include "temporal/api/history/v1/message.pb.h"
#include "temporal/api/workflowservice/v1/request_response.pb.h"

namespace reprise {

namespace detail {
class WorkflowMachines;
}

using HistoryEvent = temporal::api::history::v1::HistoryEvent;
using Command = temporal::api::command::v1::Command;

// Who the run is: from PollWorkflowTaskQueueResponse (WorkflowExecutionStarted gives the rest).
struct StartInfo {
  std::string namespace_name;
  std::string workflow_id;
  std::string run_id;
  std::string workflow_type;
  std::string task_queue;
  static StartInfo from_poll(const temporal::api::workflowservice::v1::PollWorkflowTaskQueueResponse& poll,
                             std::string namespace_name = "default");
};

// Why a workflow task cannot be completed: what RespondWorkflowTaskFailed carries.
struct TaskFailure {
  // WORKFLOW_TASK_FAILED_CAUSE_NON_DETERMINISTIC_ERROR, or ..._WORKFLOW_WORKER_UNHANDLED_FAILURE for
  // a non-Temporal exception thrown by workflow code, an unknown workflow type, a payload that does
  // not decode, or a history this engine cannot apply.
  temporal::api::enums::v1::WorkflowTaskFailedCause cause;
  temporal::api::failure::v1::Failure failure;  // message: what went wrong, file:line included
};

// The answer to one workflow task.
struct Activation {
  // Commands to send in RespondWorkflowTaskCompleted, in the order the code produced them. Empty
  // when the code is blocked with nothing new to ask (a valid answer).
  std::vector<Command> commands;
  // Set instead when the task must be failed. The run is then unusable: evict it; the next task
  // replays from event 1 in a fresh WorkflowRun (with fixed code, once deployed).
  std::optional<TaskFailure> failure;
  // The workflow produced its closing command (complete or fail): evict after sending.
  bool workflow_closed = false;
  bool ok() const { return !failure.has_value(); }
};

class WorkflowRun {
 public:
  WorkflowRun(const WorkflowRegistry& registry, StartInfo start);
  ~WorkflowRun();
  WorkflowRun(const WorkflowRun&) = delete;
  WorkflowRun& operator=(const WorkflowRun&) = delete;

  // Applies new events and runs the workflow code for each task they contain (see above). The run
  // keeps every event it is given; the vector overload takes them over instead of copying them.
  Activation activate(std::span<const HistoryEvent> new_events);
  Activation activate(std::vector<HistoryEvent>&& new_events);
  Activation activate(const temporal::api::history::v1::History& history);

  // The id the next event given to activate() must have (1 for a fresh run).
  std::int64_t next_event_id() const;

 private:
  // The work of activate(), for a std::span<const HistoryEvent> (copied into history_) or a
  // std::vector<HistoryEvent> (moved into it).
  template <class Events>
  Activation append_and_apply(Events& new_events);
  Activation fail(const TaskFailure& failure);
  void rebuild_machines();

  const WorkflowRegistry& registry_;
  StartInfo start_;
  std::vector<HistoryEvent> history_;  // every event applied so far, for replay after a reset
  std::optional<TaskFailure> poisoned_;
  std::unique_ptr<detail::WorkflowMachines> machines_;
};

}  // namespace reprise
