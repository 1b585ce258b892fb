// The replay cycle end to end, on the workflow of reprise/workflow.h's opening essay: greet() runs
// an activity, sleeps, returns. Its history is answered three ways (whole, task by task, evicted
// after every task) with identical commands; the complete history then replays with nothing to send.
#include "three_ways.h"

#include <catch2/catch.hpp>

#include "history_builder.h"
#include "reprise/workflow.h"
#include "reprise/workflow_run.h"

using namespace std::chrono_literals;
using namespace reprise;
using namespace reprise::testing;

namespace {

Workflow<std::string> greet(WorkflowContext& ctx, std::string name) {
  auto greeting = co_await ctx.execute_activity<std::string>("compose_greeting", {.start_to_close_timeout = 10s}, name);
  co_await ctx.sleep(5s);
  co_return greeting;
}

// 1 WorkflowExecutionStarted {greet("Temporal")}
// 2 WorkflowTaskScheduled      3 WorkflowTaskStarted    4 WorkflowTaskCompleted
// 5 ActivityTaskScheduled {"1", compose_greeting}
// 6 ActivityTaskStarted        7 ActivityTaskCompleted {"Hello, Temporal"}
// 8 WorkflowTaskScheduled      9 WorkflowTaskStarted   10 WorkflowTaskCompleted
// 11 TimerStarted {"1", 5s}   12 TimerFired
// 13 WorkflowTaskScheduled    14 WorkflowTaskStarted   (15 WorkflowTaskCompleted  16 WorkflowExecutionCompleted)
HistoryBuilder greet_history(bool closed) {
  HistoryBuilder h("greet", payloads(std::string("Temporal")));
  h.workflow_task();
  h.task_completed();
  auto activity = h.activity_scheduled("1", "compose_greeting");
  h.activity_completed(activity, payloads(std::string("Hello, Temporal")));
  h.workflow_task();
  h.task_completed();
  auto timer = h.timer_started("1", 5s);
  h.timer_fired(timer, "1");
  h.workflow_task();
  if (closed) {
    h.task_completed();
    h.workflow_completed(payloads(std::string("Hello, Temporal")));
  }
  return h;
}

WorkflowRegistry greet_registry() {
  WorkflowRegistry registry;
  registry.register_workflow("greet", greet);
  return registry;
}

}  // namespace

TEST_CASE("greet answers each workflow task with the same commands whether whole, task by task or evicted") {
  auto registry = greet_registry();
  auto answers = run_three_ways(registry, greet_history(false).events());
  REQUIRE(answers.size() == 3);
  CHECK(describe(answers[0].commands) ==
        std::vector<std::string>{R"(ScheduleActivityTask {activity_id: "1", activity_type: "compose_greeting"})"});
  CHECK(describe(answers[1].commands) ==
        std::vector<std::string>{R"(StartTimer {timer_id: "1", start_to_fire_timeout: 5s})"});
  REQUIRE(describe(answers[2].commands) == std::vector<std::string>{"CompleteWorkflowExecution"});
  const auto& result = answers[2].commands[0].complete_workflow_execution_command_attributes().result();
  CHECK(DataConverter().from_payloads<std::string>(result) == "Hello, Temporal");
}

TEST_CASE("greet's first task schedules the activity with its input, options and the workflow's task queue") {
  auto registry = greet_registry();
  HistoryBuilder h("greet", payloads(std::string("Temporal")));
  h.workflow_task();
  auto answers = run_three_ways(registry, h.events());
  const auto& attributes = answers[0].commands.at(0).schedule_activity_task_command_attributes();
  CHECK(DataConverter().from_payloads<std::string>(attributes.input()) == "Temporal");
  CHECK(attributes.start_to_close_timeout().seconds() == 10);
  CHECK(attributes.task_queue().name() == "test-queue");
}

TEST_CASE("a complete greet history replays with nothing left to send") {
  auto registry = greet_registry();
  auto answers = run_three_ways(registry, greet_history(true).events());
  CHECK(answers.size() == 3);
  WorkflowRun run(registry, StartInfo{"default", "wf-1", "run-1", "greet", "test-queue"});
  Activation activation = run.activate(greet_history(true).history());
  CHECK(activation.ok());
  CHECK(activation.commands.empty());
  CHECK(activation.workflow_closed);
}

TEST_CASE("a cached run accepts events it already has and refuses a gap") {
  auto registry = greet_registry();
  auto events = greet_history(false).events();
  WorkflowRun run(registry, StartInfo{"default", "wf-1", "run-1", "greet", "test-queue"});
  REQUIRE(run.activate(std::span<const HistoryEvent>(events.data(), 3)).ok());
  CHECK(run.next_event_id() == 4);
  // From event 1 again up to the second task: the first three are skipped.
  auto second = run.activate(std::span<const HistoryEvent>(events.data(), 9));
  REQUIRE(second.ok());
  CHECK(describe(second.commands).at(0).rfind("StartTimer", 0) == 0);
  // Event 12 onwards would leave out 10 and 11.
  std::span<const HistoryEvent> after_gap(events.data() + 11, 3);
  CHECK(run.must_start_over(after_gap));
  CHECK_THROWS_AS(run.activate(after_gap), std::invalid_argument);
  CHECK_FALSE(run.must_start_over(std::span<const HistoryEvent>(events.data() + 9, 5)));
}
