// WorkflowMachines: one attempt at executing a run. It holds every state machine of the run, the
// command queue, the scheduler and the workflow's coroutines, and moves them forward event by event.
// (Temporal's core SDK has a type of the same name and job.) Its work is split by file:
//
//   task_loop.cpp       walks history, finds workflow-task boundaries, decides replay vs new work,
//                       runs the code at each boundary and checks that no command is left over;
//   command_queue.cpp   pairs command events with the commands the code produced (nondeterminism);
//   event_dispatch.cpp  hands every other event to the machine or inbox it concerns;
//   run_code.cpp        runs workflow code (signals first, then the ready queue), closes the run,
//                       and creates the machines that WorkflowContext calls ask for;
//   src/context.cpp     turns WorkflowContext calls into those machines and commands.
//
// The rule at the heart of it: workflow code runs only at a WorkflowTaskStarted, after every event
// before it has been applied. If history shows that task completed (the next event is
// WorkflowTaskCompleted), the code is *replaying*: its commands must equal the command events that
// follow. If the WorkflowTaskStarted is the last event known, this is the task being answered: the
// commands go to the server. A task that failed or timed out (WorkflowTaskFailed/TimedOut after
// its Started) left nothing in history, so the code does not run for it.
//
// Members are declared so that the workflow's coroutines (root_) are destroyed first, while the
// machines and the scheduler they point into still exist.
// Exercised by tests/worker/three_ways_test.cpp and every test that runs a workflow.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <random>
#include <source_location>
#include <span>
#include <string>
#include <unordered_map>
#include <vector>

#include "machines/marker_machine.h"
#include "machines/signal_events.h"
#include "replay/command_queue.h"
#include "reprise/context.h"
#include "reprise/registry.h"
#include "reprise/scheduler.h"
#include "reprise/workflow_run.h"

namespace reprise::detail {

class WorkflowMachines {
 public:
  WorkflowMachines(const WorkflowRegistry& registry, const StartInfo& start);
  ~WorkflowMachines();
  WorkflowMachines(const WorkflowMachines&) = delete;
  WorkflowMachines& operator=(const WorkflowMachines&) = delete;

  // ---- Driven by WorkflowRun (task_loop.cpp) ----
  // Applies the next events of the run's history (the ones after those applied before). Nothing
  // keeps a reference to them afterwards. Throws NondeterminismError, or whatever escaped workflow
  // code that must fail the task.
  void apply(std::span<const HistoryEvent> events);
  // The commands produced for the task being answered.
  std::vector<Command> commands_to_send() const { return commands_.commands(); }
  // The WorkflowTaskStarted event id of the last task answered (code run as new work), or 0.
  std::int64_t answered_task_started_id() const { return answered_task_started_id_; }
  bool closed() const { return closed_; }
  std::size_t open_machines() const { return machines_.size(); }

  // ---- For WorkflowContext (src/context.cpp) ----
  WorkflowContext& context() { return context_; }
  const WorkflowInfo& info() const { return info_; }
  const DataConverter& converter() const { return registry_.converter(); }
  spdlog::logger& log_sink() const { return registry_.logger(); }
  Scheduler& scheduler() { return scheduler_; }
  bool replaying() const { return replaying_; }
  bool cancel_requested() const { return cancel_requested_; }
  std::chrono::system_clock::time_point now() const { return now_; }
  std::mt19937_64& random_engine();
  SignalInbox& signals() { return signals_; }

  // New machines; each emits its first command. Ids: "" takes the next per-kind sequence number.
  OperationRef schedule_activity(temporal::api::command::v1::ScheduleActivityTaskCommandAttributes attributes,
                                 ActivityCancellationType cancellation_type, std::source_location where);
  OperationRef start_timer(std::string timer_id, Duration duration, std::source_location where);
  void record_marker(std::string marker_name, MarkerDetails details, std::source_location where);
  // A marker history holds for the tasks replayed so far, taken out (see marker_machine.h).
  std::optional<MarkerDetails> take_recorded_marker(const std::string& marker_name, const std::string& key) {
    return recorded_markers_.take(marker_name, key);
  }
  long long next_side_effect_id() { return ++side_effect_seq_; }
  // Answers already given by patched()/get_version() in this run, by id.
  std::map<std::string, bool>& patch_answers() { return patch_answers_; }
  std::map<std::string, int>& version_answers() { return version_answers_; }

 private:
  // task_loop.cpp
  void on_task_started(std::span<const HistoryEvent> events, std::size_t index);
  void look_ahead_for_markers(std::span<const HistoryEvent> events, std::size_t from);
  // event_dispatch.cpp
  void apply_non_command_event(const HistoryEvent& event);
  void on_workflow_started(const HistoryEvent& event);
  Machine& machine_for(std::int64_t initial_event_id, const HistoryEvent& event);
  void apply_to_machine(std::int64_t initial_event_id, const HistoryEvent& event);
  // run_code.cpp: the run owns every machine from its creation until release() (once it is done()).
  void adopt(std::unique_ptr<Machine> machine);
  void release(Machine& machine);
  // run_code.cpp
  void run_workflow_code();
  void close_workflow();

  const WorkflowRegistry& registry_;
  WorkflowInfo info_;
  Payloads input_;
  Scheduler scheduler_;
  CommandQueue commands_;
  // Every machine of the run that is not done() yet (in no particular order: release() moves the
  // last one into the freed slot). What a long run keeps is what is in flight.
  std::vector<std::unique_ptr<Machine>> machines_;
  std::unordered_map<std::int64_t, Machine*> by_initial_event_id_;  // e.g. ActivityTaskScheduled id -> activity
  RecordedMarkers recorded_markers_;
  SignalInbox signals_;
  // Seeded from the run id on first use: seed_seq fills 312 words per seeding (1.2 % of a bench
  // worker's samples), and most workflows never ask for a random number.
  std::optional<std::mt19937_64> random_;
  std::map<std::string, bool> patch_answers_;
  std::map<std::string, int> version_answers_;

  int activity_seq_ = 0;
  int timer_seq_ = 0;
  long long side_effect_seq_ = 0;
  bool replaying_ = false;
  bool closed_ = false;
  bool cancel_requested_ = false;  // history holds WorkflowExecutionCancelRequested
  std::chrono::system_clock::time_point now_{};
  std::int64_t answered_task_started_id_ = 0;
  // For "extra command" messages: the first event after the last task's command events, in the
  // events apply() is applying (reset when it returns: until the next WorkflowTaskCompleted, no
  // command can be waiting for a match; see apply()).
  const HistoryEvent* first_event_after_commands_ = nullptr;

  WorkflowContext context_{*this};
  std::optional<Workflow<Payloads>> root_;  // last: destroyed first (frees every workflow frame)
};

}  // namespace reprise::detail
