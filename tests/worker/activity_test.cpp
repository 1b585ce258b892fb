// Activities: ScheduleActivityTask matched against ActivityTaskScheduled, results and failures
// delivered to the co_await, typed arguments, default and explicit activity ids.
#include <catch2/catch.hpp>

#include "history_builder.h"
#include "reprise/workflow.h"
#include "three_ways.h"

using namespace std::chrono_literals;
using namespace reprise;
using namespace reprise::testing;

namespace {

struct Parcel {
  std::string to;
  int grams = 0;
};
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE(Parcel, to, grams)

Workflow<int> ship(WorkflowContext& ctx, Parcel parcel, int copies) {
  int cost = co_await ctx.execute_activity<int>("quote", {.start_to_close_timeout = 10s}, parcel, copies);
  co_await ctx.execute_activity("send", {.activity_id = "send-it", .start_to_close_timeout = 10s}, parcel);
  co_return cost;
}

Workflow<std::string> ship_or_apologise(WorkflowContext& ctx) {
  try {
    co_await ctx.execute_activity("send", {.start_to_close_timeout = 10s});
    co_return "sent";
  } catch (const ActivityError& e) {
    try {
      std::rethrow_exception(e.cause());
    } catch (const ApplicationError& cause) {
      co_return e.activity_type() + " failed: " + cause.what() + " (" + cause.type() + ")";
    }
  }
}

WorkflowRegistry registry() {
  WorkflowRegistry r;
  r.register_workflow("ship", ship);
  r.register_workflow("ship_or_apologise", ship_or_apologise);
  return r;
}

}  // namespace

TEST_CASE("an activity is scheduled with its arguments as payloads and its result reaches the workflow") {
  // 1 Started{ship({"Oslo", 200}, 3)}  2 WFTScheduled  3 WFTStarted  4 WFTCompleted
  // 5 ActivityTaskScheduled{"1", quote}  6,7 completed: 990  8 WFTScheduled  9 WFTStarted  10 WFTCompleted
  // 11 ActivityTaskScheduled{"send-it", send}  12,13 completed  14 WFTScheduled  15 WFTStarted
  auto r = registry();
  HistoryBuilder h("ship", payloads(Parcel{"Oslo", 200}, 3));
  h.workflow_task();
  h.task_completed();
  h.activity_completed(h.activity_scheduled("1", "quote"), payloads(990));
  h.workflow_task();
  h.task_completed();
  h.activity_completed(h.activity_scheduled("send-it", "send"), DataConverter().void_payloads());
  h.workflow_task();
  auto answers = run_three_ways(r, h.events());

  const auto& quote = answers[0].commands.at(0).schedule_activity_task_command_attributes();
  CHECK(DataConverter().from_payloads<Parcel>(quote.input(), 0).to == "Oslo");
  CHECK(DataConverter().from_payloads<int>(quote.input(), 1) == 3);
  CHECK(describe(answers[1].commands) ==
        std::vector<std::string>{R"(ScheduleActivityTask {activity_id: "send-it", activity_type: "send"})"});
  const auto& result = answers[2].commands.at(0).complete_workflow_execution_command_attributes().result();
  CHECK(DataConverter().from_payloads<int>(result) == 990);
}

TEST_CASE("a failed activity throws ActivityError at the co_await, with the activity's failure as cause") {
  // 1 Started  2 WFTScheduled  3 WFTStarted  4 WFTCompleted  5 ActivityTaskScheduled{"1", send}
  // 6 ActivityTaskStarted  7 ActivityTaskFailed{ApplicationError "no road" NoRoute}  8 WFTScheduled  9 WFTStarted
  auto r = registry();
  HistoryBuilder h("ship_or_apologise");
  h.workflow_task();
  h.task_completed();
  h.activity_failed(h.activity_scheduled("1", "send"), ApplicationError("no road", "NoRoute").to_failure());
  h.workflow_task();
  auto answers = run_three_ways(r, h.events());
  const auto& result = answers[1].commands.at(0).complete_workflow_execution_command_attributes().result();
  CHECK(DataConverter().from_payloads<std::string>(result) == "send failed: no road (NoRoute)");
}

TEST_CASE("activity ids default to 1, 2, 3 in scheduling order, counted apart from timer ids") {
  struct Local {
    static Workflow<> three(WorkflowContext& ctx) {
      auto a = ctx.start_activity("a", {.start_to_close_timeout = 1s});
      ctx.sleep(1s);
      ctx.start_activity("b", {.activity_id = "mine", .start_to_close_timeout = 1s});
      ctx.start_activity("c", {.start_to_close_timeout = 1s});
      co_await a;
    }
  };
  WorkflowRegistry r;
  r.register_workflow("three", &Local::three);
  HistoryBuilder h("three");
  h.workflow_task();
  auto answers = run_three_ways(r, h.events());
  CHECK(describe(answers[0].commands) ==
        std::vector<std::string>{R"(ScheduleActivityTask {activity_id: "1", activity_type: "a"})",
                                 R"(StartTimer {timer_id: "1", start_to_fire_timeout: 1s})",
                                 R"(ScheduleActivityTask {activity_id: "mine", activity_type: "b"})",
                                 R"(ScheduleActivityTask {activity_id: "3", activity_type: "c"})"});
}

namespace {

// Twenty activities one after another, then a handle kept past its activity's end: awaited again
// and canceled after a timer.
Workflow<int> long_and_kept(WorkflowContext& ctx) {
  int sum = 0;
  for (int i = 0; i < 20; ++i) sum += co_await ctx.execute_activity<int>("step", {.start_to_close_timeout = 10s}, i);
  auto kept = ctx.start_activity<int>("last", {.start_to_close_timeout = 10s});
  int last = co_await kept;
  co_await ctx.sleep(1s);
  kept.cancel();  // long finished: no command
  co_return sum + last + co_await kept;
}

}  // namespace

TEST_CASE("a run lets finished activities and timers go, and a handle kept in the code outlives its machine") {
  WorkflowRegistry r;
  r.register_workflow("long_and_kept", long_and_kept);
  HistoryBuilder h("long_and_kept");
  h.workflow_task();
  for (int i = 0; i < 20; ++i) {
    h.task_completed();
    h.activity_completed(h.activity_scheduled(std::to_string(i + 1), "step"), payloads(i));
    h.workflow_task();
  }
  h.task_completed();
  h.activity_completed(h.activity_scheduled("21", "last"), payloads(100));
  h.workflow_task();
  h.task_completed();
  h.timer_fired(h.timer_started("1", 1s), "1");
  h.workflow_task();

  auto answers = run_three_ways(r, h.events());
  REQUIRE(answers.size() == 23);
  REQUIRE(answers.back().commands.size() == 1);
  const auto& result = answers.back().commands[0].complete_workflow_execution_command_attributes().result();
  CHECK(DataConverter().from_payloads<int>(result) == 190 + 100 + 100);

  // Replayed whole, the run keeps only the machine of its closing command.
  WorkflowRun run(r, test_start("long_and_kept"));
  REQUIRE(run.activate(h.events()).ok());
  CHECK(run.open_machines() == 1);
  // Cut before the last activity closes, it keeps that activity as well.
  WorkflowRun midway(r, test_start("long_and_kept"));
  const auto last_scheduled = std::find_if(h.events().begin(), h.events().end(), [](const HistoryEvent& e) {
    return e.has_activity_task_scheduled_event_attributes() &&
           e.activity_task_scheduled_event_attributes().activity_type().name() == "last";
  });
  REQUIRE(
      midway.activate(std::span<const HistoryEvent>(h.events().data(), last_scheduled - h.events().begin() + 1)).ok());
  CHECK(midway.open_machines() == 1);
}
