// Machine: what every per-command-kind state machine of the replay engine has in common.
//
// One machine per thing the workflow asked for (one activity, one timer, one marker, the closing of
// the workflow). Each lives in its own file next to this one, with its states and transitions as a
// table at the top and plain switch statements below. A machine sees two kinds of input:
//
//   * the command events its commands produced, handed over by the CommandQueue once it has paired
//     the event with the command (apply_command_event), e.g. ActivityTaskScheduled for
//     ScheduleActivityTask. The machine checks the attributes Temporal compares (activity id and
//     type, timer id, marker id) and returns why they differ, if they do;
//   * later events addressed to it by the id of its first command event (apply_event), e.g.
//     ActivityTaskCompleted{scheduled_event_id} or TimerFired{started_event_id}.
//
// Workflow code reaches machines through Operation handles (reprise/operation.h) and WorkflowContext.
// Exercised by every tests/worker/*_test.cpp that runs a workflow.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

#include "temporal/api/command/v1/message.pb.h"
#include "temporal/api/history/v1/message.pb.h"

namespace reprise::detail {

using HistoryEvent = temporal::api::history::v1::HistoryEvent;
using Command = temporal::api::command::v1::Command;

class Machine {
 public:
  virtual ~Machine() = default;

  // `event` was paired with `command`, one of this machine's commands, and is of the kind that
  // command produces. Returns "" and advances if the event records that command; otherwise returns
  // the difference ("activity type differs") and changes nothing.
  virtual std::string apply_command_event(const HistoryEvent& event, const Command& command) = 0;

  // A non-command event addressed to this machine. Throws std::runtime_error for an event the
  // machine cannot take in its state (the history is not one Temporal would write).
  virtual void apply_event(const HistoryEvent& event) = 0;

  // Whether history can address nothing more to this machine and no command of it is waiting:
  // the run then lets it go (an Operation it settled lives on with the handles; operation.h).
  virtual bool done() const { return false; }

  // Kept by WorkflowMachines: the id of its first command event (ActivityTaskScheduled,
  // TimerStarted, ...) once matched, which later events name (scheduled_event_id,
  // started_event_id); and its place in the run's list of machines.
  std::int64_t initial_event_id = 0;
  std::size_t slot = 0;
};

}  // namespace reprise::detail
