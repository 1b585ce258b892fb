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
//     skipped, so passing more than needed is harmless.
//   * Several workflow tasks at once are fine (one at a time, or all at once, give the same
//     commands); a batch that does not end at a WorkflowTaskStarted (a closed history, the Replayer)
//     replays everything and answers nothing.
//
// A cached run cannot always go on. If the new events leave a gap after the last event it applied,
// or show that the task it answered last was failed or timed out (the server threw its commands
// away), it must start over from event 1: must_start_over() says so before activate() is called,
// and the runtime then evicts the run and replays the whole history in a fresh one. (activate()
// given such a batch throws std::invalid_argument, unless the batch starts at event 1: then the run
// starts over by itself.)
//
// The run keeps no events: once applied, what replay needs of them lives in the machines, and the
// events are the caller's to free. A run's memory is its machines and coroutine frames, however long
// its history. (Temporal's core SDK keeps no events either, and fetches the whole history when it
// has only the tail of one: temporal-semantics.md §1.13.)
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

  // Applies new events and runs the workflow code for each task they contain (see above).
  Activation activate(std::span<const HistoryEvent> new_events);
  Activation activate(const temporal::api::history::v1::History& history);

  // Whether this run cannot take `new_events` and a fresh run must replay from event 1 (see above).
  bool must_start_over(std::span<const HistoryEvent> new_events) const;

  // The id the next event given to activate() must have (1 for a fresh run).
  std::int64_t next_event_id() const { return next_event_id_; }

  // How many state machines the run still keeps: those history can still address (an activity
  // not closed, a timer not fired) or whose command waits for its event. Finished ones are let go.
  std::size_t open_machines() const;

 private:
  // new_events without those this run has applied already (they come first), or nothing if they
  // leave a gap after them.
  std::optional<std::span<const HistoryEvent>> unapplied(std::span<const HistoryEvent> new_events) const;
  // Whether `fresh` fails or times out the task this run answered last.
  bool answered_task_failed(std::span<const HistoryEvent> fresh) const;
  Activation fail(const TaskFailure& failure);
  void rebuild_machines();

  const WorkflowRegistry& registry_;
  StartInfo start_;
  std::int64_t next_event_id_ = 1;
  bool at_task_started_ = false;  // the last event applied is a WorkflowTaskStarted: a task to answer
  std::optional<TaskFailure> poisoned_;
  std::unique_ptr<detail::WorkflowMachines> machines_;
};

}  // namespace reprise
