// run_three_ways() and friends (see three_ways.h).
#include "three_ways.h"

#include <google/protobuf/util/message_differencer.h>

#include <catch2/catch.hpp>
#include <memory>
#include <span>

#include "replay/describe.h"

namespace reprise::testing {

namespace enums = temporal::api::enums::v1;

namespace {

StartInfo start_info(const std::vector<HistoryEvent>& events) {
  return test_start(events.at(0).workflow_execution_started_event_attributes().workflow_type().name());
}

// Indexes of the WorkflowTaskStarted events: the points where a worker answers a task.
std::vector<std::size_t> answer_points(const std::vector<HistoryEvent>& events) {
  std::vector<std::size_t> points;
  for (std::size_t i = 0; i < events.size(); ++i)
    if (events[i].event_type() == enums::EVENT_TYPE_WORKFLOW_TASK_STARTED) points.push_back(i);
  return points;
}

std::span<const HistoryEvent> slice(const std::vector<HistoryEvent>& events, std::size_t from, std::size_t to) {
  return std::span<const HistoryEvent>(events.data() + from, to - from);
}

void require_same(const std::vector<Command>& a, const std::vector<Command>& b, const std::string& what) {
  INFO(what);
  REQUIRE(describe(a) == describe(b));
  for (std::size_t i = 0; i < a.size(); ++i) REQUIRE(google::protobuf::util::MessageDifferencer::Equals(a[i], b[i]));
}

// The three ways; each activation goes to `on_activation(way, task index, activation)`.
template <class OnActivation>
void three_ways(const WorkflowRegistry& registry, const std::vector<HistoryEvent>& events, OnActivation on_activation) {
  const auto points = answer_points(events);
  const StartInfo start = start_info(events);
  {
    WorkflowRun run(registry, start);
    on_activation("whole history", points.size() - 1, run.activate(slice(events, 0, events.size())));
  }
  {
    // As the worker runtime does with a cached run: new events only, unless the run must start
    // over (its answer was thrown away), when a fresh run replays from event 1.
    auto run = std::make_unique<WorkflowRun>(registry, start);
    std::size_t from = 0;
    auto activate_up_to = [&](std::size_t to) {
      auto batch = slice(events, from, to);
      if (run->must_start_over(batch)) {
        run = std::make_unique<WorkflowRun>(registry, start);
        batch = slice(events, 0, to);
      }
      from = to;
      return run->activate(batch);
    };
    for (std::size_t k = 0; k < points.size(); ++k) on_activation("task by task", k, activate_up_to(points[k] + 1));
    if (from < events.size()) on_activation("task by task (tail)", points.size(), activate_up_to(events.size()));
  }
  for (std::size_t k = 0; k < points.size(); ++k) {
    WorkflowRun run(registry, start);
    on_activation("evicted", k, run.activate(slice(events, 0, points[k] + 1)));
  }
}

}  // namespace

StartInfo test_start(const std::string& workflow_type) {
  return StartInfo{"default", "wf-1", "run-1", workflow_type, "test-queue"};
}

std::vector<std::string> describe(const std::vector<Command>& commands) {
  std::vector<std::string> out;
  for (const auto& c : commands) out.push_back(detail::describe_command(c));
  return out;
}

std::vector<TaskAnswer> run_three_ways(const WorkflowRegistry& registry, const std::vector<HistoryEvent>& events) {
  const auto points = answer_points(events);
  REQUIRE(!points.empty());
  const bool ends_at_task = points.back() + 1 == events.size();
  std::vector<TaskAnswer> by_task(points.size());
  std::vector<TaskAnswer> evicted(points.size());
  std::vector<Command> whole;
  three_ways(registry, events, [&](const std::string& way, std::size_t k, const Activation& activation) {
    INFO(way << ", workflow task " << k + 1 << ": "
             << (activation.failure ? activation.failure->failure.message() : std::string("ok")));
    REQUIRE(activation.ok());
    if (way == "whole history")
      whole = activation.commands;
    else if (way == "task by task")
      by_task[k] = {events[points[k]].event_id(), activation.commands};
    else if (way == "evicted")
      evicted[k] = {events[points[k]].event_id(), activation.commands};
  });
  for (std::size_t k = 0; k < points.size(); ++k)
    require_same(by_task[k].commands, evicted[k].commands,
                 "task " + std::to_string(k + 1) + ": task by task vs evicted");
  if (ends_at_task)
    require_same(whole, by_task.back().commands, "whole history vs task by task (last task)");
  else
    REQUIRE(whole.empty());
  return by_task;
}

std::string expect_task_failure_three_ways(const WorkflowRegistry& registry, const std::vector<HistoryEvent>& events,
                                           enums::WorkflowTaskFailedCause cause) {
  std::string whole_message;
  bool by_task_failed = false;
  three_ways(registry, events, [&](const std::string& way, std::size_t, const Activation& activation) {
    if (!activation.failure) return;
    INFO(way << ": " << activation.failure->failure.message());
    REQUIRE(activation.failure->cause == cause);
    if (way == "whole history")
      whole_message = activation.failure->failure.message();
    else if (way == "evicted")
      REQUIRE(activation.failure->failure.message() == whole_message);
    else
      by_task_failed = true;
  });
  REQUIRE(!whole_message.empty());
  // Task by task, each task is first answered as new work: when the history was written by other
  // code (the point of these tests) the failure shows later and may read differently.
  REQUIRE(by_task_failed);
  return whole_message;
}

}  // namespace reprise::testing
