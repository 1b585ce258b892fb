// TimerMachine: one durable timer (ctx.sleep / ctx.start_timer), from StartTimer to fired or canceled.
//
//   state                | input                       | next                 | effect
//   ---------------------+-----------------------------+----------------------+--------------------------------
//   (created)            | code: sleep / start_timer   | StartCommandCreated  | emits StartTimer
//   StartCommandCreated  | TimerStarted (matched)      | Started              | checks timer id
//   Started              | TimerFired                  | Fired                | checks timer id; resolves handle
//   StartCommandCreated, | code: cancel()              | CancelCommandCreated | emits CancelTimer; fails the
//   Started              |                             |                      | handle with CanceledError
//   CancelCommandCreated | TimerStarted (matched)      | CancelCommandCreated | (StartTimer sent in the same task)
//   CancelCommandCreated | TimerCanceled (matched)     | Canceled             | checks timer id
//   Fired, Canceled      | code: cancel()              | (same)               | nothing
//
// A timer cancelled in the same workflow task that started it still sends StartTimer then
// CancelTimer, as the Go SDK recorded in sdk-go__cancel-timer-after-activity.json (Temporal's core
// SDK would send neither; replaying Go's history needs Go's behaviour).
// Exercised by tests/worker/timer_test.cpp.
#pragma once

#include <cstdint>
#include <source_location>

#include "machines/machine.h"
#include "replay/command_queue.h"
#include "reprise/operation.h"
#include "reprise/options.h"

namespace reprise::detail {

class TimerMachine final : public Machine, public Cancelable {
 public:
  // Emits the StartTimer command.
  TimerMachine(Scheduler& scheduler, CommandQueue& commands, std::string timer_id, Duration duration,
               std::source_location where);

  std::string apply_command_event(const HistoryEvent& event, const Command& command) override;
  void apply_event(const HistoryEvent& event) override;
  void cancel(std::source_location where) override;
  bool done() const override;
  ~TimerMachine() override { operation_->detach_machine(); }

  // What workflow code awaits: settled by this machine.
  const OperationRef& operation() const { return operation_; }

 private:
  enum class State { StartCommandCreated, Started, Fired, CancelCommandCreated, Canceled };

  std::string check_timer_id(const std::string& in_history) const;

  OperationRef operation_;
  CommandQueue& commands_;
  std::string timer_id_;
  State state_ = State::StartCommandCreated;
  std::int64_t started_event_id_ = 0;
};

}  // namespace reprise::detail
