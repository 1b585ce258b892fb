// ActivityMachine: one activity, from the ScheduleActivityTask command to its result.
//
//   state                  | input                                 | next                   | effect
//   -----------------------+---------------------------------------+------------------------+------------------------------
//   (created)              | code: start_activity                  | ScheduleCommandCreated | emits ScheduleActivityTask
//   ScheduleCommandCreated | ActivityTaskScheduled (matched)       | Scheduled              | checks activity id and type
//   ScheduleCommandCreated | code: cancel()                        | Canceled               | withdraws the unsent command;
//                          |                                       |                        | fails the handle (canceled)
//   Scheduled              | ActivityTaskStarted                   | Started                |
//   Scheduled, Started     | ActivityTaskCompleted                 | Completed              | resolves the handle: result
//   Scheduled, Started     | ActivityTaskFailed                    | Failed                 | fails it: ActivityError(cause)
//   Scheduled, Started     | ActivityTaskTimedOut                  | TimedOut               | fails it: ActivityError(timeout)
//   Scheduled, Started     | code: cancel(), abandon               | Canceled               | fails it (canceled), no command
//   Scheduled, Started     | code: cancel(), try / wait            | CancelCommandCreated   | emits RequestCancelActivityTask;
//                          |                                       |                        | try_cancel: fails it now
//   CancelCommandCreated   | ActivityTaskCancelRequested (matched) | CancelRequested        | checks scheduled event id
//   CancelRequested        | ActivityTaskStarted                   | CancelRequested        |
//   CancelRequested        | ActivityTaskCanceled                  | Canceled               | fails it (canceled), if not yet
//   CancelRequested        | ActivityTaskCompleted/Failed/TimedOut | Completed, ...         | settles it, if not yet
//   Canceled (abandoned)   | ActivityTaskStarted, any close event  | Canceled               | nothing: it ran on untold
//   any final state        | code: cancel()                        | (same)                 | nothing
//
// A Started state exists although ActivityTaskStarted is only written when the activity closes
// (right before its close event; temporal-semantics.md §1.2): it still names the attempt.
// Exercised by tests/worker/activity_test.cpp and tests/worker/cancellation_test.cpp.
#pragma once

#include <cstdint>
#include <source_location>
#include <string>

#include "machines/machine.h"
#include "replay/command_queue.h"
#include "reprise/operation.h"
#include "reprise/options.h"

namespace reprise::detail {

class ActivityMachine final : public Machine, public Cancelable {
 public:
  // Emits the ScheduleActivityTask command.
  ActivityMachine(Scheduler& scheduler, CommandQueue& commands,
                  temporal::api::command::v1::ScheduleActivityTaskCommandAttributes attributes,
                  ActivityCancellationType cancellation_type, std::source_location where);

  std::string apply_command_event(const HistoryEvent& event, const Command& command) override;
  void apply_event(const HistoryEvent& event) override;
  void cancel(std::source_location where) override;
  bool done() const override;
  ~ActivityMachine() override { operation_->detach_machine(); }

  // What workflow code awaits: settled by this machine.
  const OperationRef& operation() const { return operation_; }

 private:
  enum class State {
    ScheduleCommandCreated,
    Scheduled,
    Started,
    CancelCommandCreated,
    CancelRequested,
    Completed,
    Failed,
    TimedOut,
    Canceled,
  };

  // The Failure workflow code sees: "Activity task <verb>" wrapping `cause`.
  temporal::api::failure::v1::Failure activity_failure(const std::string& verb,
                                                       const temporal::api::failure::v1::Failure& cause,
                                                       temporal::api::enums::v1::RetryState retry_state) const;
  void fail_as_canceled();

  OperationRef operation_;
  CommandQueue& commands_;
  // What replay compares and failures name; the rest of the command (its input, say) went into the
  // command itself, and the machine keeps no copy.
  std::string activity_id_;
  std::string activity_type_;
  ActivityCancellationType cancellation_type_;
  State state_ = State::ScheduleCommandCreated;
  std::int64_t scheduled_event_id_ = 0;
  std::int64_t started_event_id_ = 0;
  std::string identity_;
  // History closed the activity (Completed, Failed, TimedOut, Canceled) with no cancel command of
  // it still waiting to be matched: nothing more can reach it.
  bool closed_in_history_ = false;
};

}  // namespace reprise::detail
