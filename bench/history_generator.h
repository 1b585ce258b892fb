// Synthetic but valid workflow histories for the benchmarks, written event for event the way the
// Reprise server writes them (engine/commands.cpp, engine/activities.cpp), together with the C++
// workflows that produce them. Each shape's history replays against its workflow to completion;
// verify() checks that with the real WorkflowRun.
//
//   shape       workflow (bench_workflows in history_generator.cpp)      events per step
//   sequential  n x co_await execute_activity("step", i)                 6  (Sched Started Completed + a workflow task)
//   timers      n x co_await sleep(1s)                                   5  (TimerStarted TimerFired + a workflow task)
//   fanout      start n activities, then await each                      2  (Started Completed; all Scheduled in task 1)
//   signals     n x (activity; a "tick" signal arrives with the result)  7
//   mixed       n x (get_version("change-i"); side_effect(i); activity)  8  (two MarkerRecorded per step)
//
// A history is: WorkflowExecutionStarted, then per workflow task WorkflowTaskScheduled,
// WorkflowTaskStarted, WorkflowTaskCompleted and the events of its commands (each carrying
// workflow_task_completed_event_id), the outcomes, ... and WorkflowExecutionCompleted.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "reprise/workflow_run.h"

namespace reprise::bench {

const std::vector<std::string>& shape_names();

// The whole closed history of `shape` with n steps. Throws std::invalid_argument for an unknown shape.
std::vector<HistoryEvent> generate_history(const std::string& shape, int n);

// A registry with every bench workflow registered under its shape name.
WorkflowRegistry make_registry();
StartInfo start_info(const std::string& shape);

// Replays `events` (whole history, then task by task) with a fresh WorkflowRun and checks that every
// task is answered without failure and that the last task completes the workflow with result n.
// Returns "" on success, else what went wrong.
std::string verify(const WorkflowRegistry& registry, const std::string& shape, int n,
                   const std::vector<HistoryEvent>& events);

// Indexes of the WorkflowTaskStarted events: where a worker answers a task.
std::vector<std::size_t> task_points(const std::vector<HistoryEvent>& events);

temporal::api::history::v1::History to_history(const std::vector<HistoryEvent>& events);

}  // namespace reprise::bench
