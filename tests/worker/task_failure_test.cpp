// Workflow tasks that failed or timed out: their attempts left nothing in history, so replay skips
// them; a cached run whose own answer was thrown away must start over from event 1.
#include <catch2/catch.hpp>

#include "history_builder.h"
#include "reprise/workflow.h"
#include "three_ways.h"

using namespace std::chrono_literals;
using namespace reprise;
using namespace reprise::testing;

namespace {

Workflow<std::string> stamp(WorkflowContext& ctx) {
  auto since_start = std::chrono::duration_cast<std::chrono::seconds>(ctx.now() - kStartTime).count();
  co_await ctx.execute_activity("work", {.start_to_close_timeout = 1s});
  co_return "first ran at +" + std::to_string(since_start) + "s";
}

// Completes at once with the number of "ping" signals seen so far.
Workflow<int> count_pings(WorkflowContext& ctx) {
  int pings = 0;
  ctx.on_signal("ping", [&] { ++pings; });
  co_return pings;
}

WorkflowRegistry registry() {
  WorkflowRegistry r;
  r.register_workflow("stamp", stamp);
  r.register_workflow("count_pings", count_pings);
  return r;
}

}  // namespace

TEST_CASE("a failed workflow task attempt is skipped: the code runs at the next attempt, with its time") {
  // 1 Started  2 WFTScheduled  3 WFTStarted  4 WorkflowTaskFailed  5 WFTScheduled  6 WFTStarted
  // 7 WFTCompleted  8 ActivityTaskScheduled{"1" work}  9,10 completed  11 WFTScheduled  12 WFTStarted
  auto r = registry();
  HistoryBuilder h("stamp");
  h.workflow_task();
  h.task_failed(enums::WORKFLOW_TASK_FAILED_CAUSE_WORKFLOW_WORKER_UNHANDLED_FAILURE);
  h.workflow_task();
  h.task_completed();
  h.activity_completed(h.activity_scheduled("1", "work"), DataConverter().void_payloads());
  h.workflow_task();
  auto answers = run_three_ways(r, h.events());
  CHECK(describe(answers[0].commands) == describe(answers[1].commands));  // answered again after the failure
  const auto& result = answers[2].commands.at(0).complete_workflow_execution_command_attributes().result();
  CHECK(DataConverter().from_payloads<std::string>(result) == "first ran at +6s");
}

TEST_CASE("a timed-out workflow task attempt is skipped like a failed one") {
  // 1 Started  2 WFTScheduled  3 WFTStarted  4 WorkflowTaskTimedOut  5 WFTScheduled  6 WFTStarted
  // 7 WFTCompleted  8 ActivityTaskScheduled{"1" work}  9,10 completed  11 WFTScheduled  12 WFTStarted
  auto r = registry();
  HistoryBuilder h("stamp");
  h.workflow_task();
  h.task_timed_out();
  h.workflow_task();
  h.task_completed();
  h.activity_completed(h.activity_scheduled("1", "work"), DataConverter().void_payloads());
  h.workflow_task();
  run_three_ways(r, h.events());
}

TEST_CASE("a cached run whose answer the server rejected replays from event 1 and answers again") {
  // The run answers task 3 with CompleteWorkflowExecution(0), but a signal arrived meanwhile: the
  // server rejects the completion (UNHANDLED_COMMAND) and writes the signal.
  // 1 Started  2 WFTScheduled  3 WFTStarted  4 WorkflowTaskFailed{UnhandledCommand}
  // 5 Signaled{ping}  6 WFTScheduled  7 WFTStarted
  auto r = registry();
  const long frames_before = live_workflow_frames();
  HistoryBuilder h("count_pings");
  h.workflow_task();
  h.task_failed(enums::WORKFLOW_TASK_FAILED_CAUSE_UNHANDLED_COMMAND);
  h.signal("ping");
  h.workflow_task();
  auto answers = run_three_ways(r, h.events());
  auto result = [](const TaskAnswer& a) {
    return DataConverter().from_payloads<int>(
        a.commands.at(0).complete_workflow_execution_command_attributes().result());
  };
  CHECK(result(answers[0]) == 0);
  CHECK(result(answers[1]) == 1);
  CHECK(live_workflow_frames() == frames_before);
}

TEST_CASE("a cached run whose answer was thrown away cannot take the tail of history, only a replay from event 1") {
  // The same history as above; the run has answered task 3 and is handed events 4-7.
  auto r = registry();
  HistoryBuilder h("count_pings");
  h.workflow_task();
  h.task_failed(enums::WORKFLOW_TASK_FAILED_CAUSE_UNHANDLED_COMMAND);
  h.signal("ping");
  h.workflow_task();
  const auto& events = h.events();
  WorkflowRun run(r, test_start("count_pings"));
  REQUIRE(run.activate(std::span<const HistoryEvent>(events.data(), 3)).ok());
  std::span<const HistoryEvent> tail(events.data() + 3, 4);
  CHECK(run.must_start_over(tail));
  CHECK_THROWS_WITH(run.activate(tail), Catch::Contains("was failed or timed out"));
  // Given the whole history instead, the run starts over by itself and sees the signal.
  CHECK_FALSE(run.must_start_over(events));
  auto answer = run.activate(events);
  REQUIRE(answer.ok());
  CHECK(DataConverter().from_payloads<int>(
            answer.commands.at(0).complete_workflow_execution_command_attributes().result()) == 1);
}
