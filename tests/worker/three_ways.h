// Running one history three ways (STYLE.md habit 9), and the assertions tests make on the result.
//
//   whole history  one fresh WorkflowRun given every event at once (a fresh worker, or the
//                  Replayer when the history is closed);
//   task by task   one WorkflowRun given one workflow task's events at a time (a sticky worker
//                  that keeps the run cached);
//   evicted        a fresh WorkflowRun for every task, given the history up to that task's
//                  WorkflowTaskStarted (a worker whose cache evicted the run after every task).
//
// All three must answer every workflow task with identical commands. run_three_ways() checks that
// (Catch2 assertions) and returns the commands of each task, for the scenario's own assertions.
// Used by most tests in tests/worker/.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "reprise/workflow_run.h"

namespace reprise::testing {

struct TaskAnswer {
  std::int64_t started_event_id;  // the WorkflowTaskStarted the commands answer
  std::vector<Command> commands;
};

// Runs `events` three ways against `registry`; every activation must succeed.
std::vector<TaskAnswer> run_three_ways(const WorkflowRegistry& registry, const std::vector<HistoryEvent>& events);

// Runs `events` three ways and expects each way to fail the task with `cause` (the whole history
// and every evicted run that fails with the same message); returns the message.
std::string expect_task_failure_three_ways(const WorkflowRegistry& registry, const std::vector<HistoryEvent>& events,
                                           temporal::api::enums::v1::WorkflowTaskFailedCause cause);

// The StartInfo the tests use: workflow "wf-1", run "run-1", task queue "test-queue".
StartInfo test_start(const std::string& workflow_type);

// Commands as short text ("ScheduleActivityTask {activity_id: "1", ...}"), for readable assertions.
std::vector<std::string> describe(const std::vector<Command>& commands);

}  // namespace reprise::testing
