// CommandQueue: the commands workflow code produced that history has not confirmed yet, and the
// matching that pairs them with history's command events. This is where nondeterminism is found.
//
// Workflow code produces commands in order (ScheduleActivityTask, StartTimer, ...). The server turns
// a task's commands into events in the same order, right after that task's WorkflowTaskCompleted.
// On replay the engine therefore pops the oldest command for every command event it applies and
// checks, as Temporal does (temporal-semantics.md §3):
//
//   1. the kind: each command kind produces exactly one event kind (the table in command_queue.cpp);
//   2. the identity, checked by the command's machine: activity id and type, timer id, marker
//      name and id. Inputs, timeouts and task queues are NOT compared.
//
// Three things can go wrong, each a NondeterminismError naming the history event, the command and
// the file:line of the workflow code:
//   * mismatch: the event and the oldest command differ in kind or identity;
//   * missing command: history has a command event but the code produced no command for it (the
//     message names the line where the code is blocked instead);
//   * extra command: the code produced a command history does not have (found when the next
//     workflow task starts, or at the end of a closed history).
//
// Exercised by tests/worker/mismatch_test.cpp.
#pragma once

#include <cstdint>
#include <deque>
#include <optional>
#include <source_location>
#include <string>
#include <vector>

#include "machines/machine.h"

namespace reprise::detail {

// Whether events of this kind are produced by a command (and so must be matched).
bool is_command_event(temporal::api::enums::v1::EventType type);

class CommandQueue {
 public:
  // What produced a command: a line of the workflow code, or something the workflow function did
  // ("when the workflow function returned"). Put into words only when a message names it:
  // formatting "at file:line" for every command was 6 % of a replay's instructions (20 % for
  // timers; bench/replay_instructions.sh).
  struct Origin {
    std::source_location where;
    const char* when = nullptr;    // set: the command came from this, not from `where`
    std::string describe() const;  // "at greet.cpp:12", "when the workflow function returned"
  };
  struct Entry {
    Command command;
    Machine* machine;
    Origin origin;
  };

  void push(Command command, Machine* machine, std::source_location where);
  void push(Command command, Machine* machine, const char* when);  // a string literal

  // Removes `machine`'s commands still waiting here: a command cancelled in the same code run that
  // produced it is never sent (an activity cancelled before it was scheduled). Returns whether any.
  bool withdraw(const Machine* machine);

  // Pairs a command event with the oldest waiting command and lets its machine apply it; returns
  // that machine. Throws NondeterminismError on a mismatch or a missing command; `blocked_at` is
  // where the code is blocked (named in the missing-command message), if known.
  Machine* match(const HistoryEvent& event, std::optional<std::source_location> blocked_at);

  // Throws NondeterminismError (extra command) unless every command has been matched. `next_event`
  // is the first non-command event after the task's command events, or nullptr at end of history.
  void expect_all_matched(const HistoryEvent* next_event) const;

  // The waiting commands, oldest first: what to send for the task being answered.
  std::vector<Command> commands() const;
  bool empty() const { return entries_.empty(); }

 private:
  std::deque<Entry> entries_;
};

}  // namespace reprise::detail
