// WorkflowContext's deterministic services: now() from the workflow task, random()/uuid() seeded
// from the run, is_replaying(), and the logger that stays quiet while replaying.
#include <spdlog/sinks/ostream_sink.h>

#include <catch2/catch.hpp>
#include <regex>
#include <sstream>

#include "history_builder.h"
#include "reprise/workflow.h"
#include "three_ways.h"

using namespace std::chrono_literals;
using namespace reprise;
using namespace reprise::testing;

namespace {

Workflow<std::string> dice(WorkflowContext& ctx) {
  double first = ctx.random();
  co_await ctx.sleep(1s);
  co_return std::to_string(first) + " " + ctx.uuid();
}

Workflow<> chatty(WorkflowContext& ctx) {
  ctx.logger().info("first task, replaying={}", ctx.is_replaying());
  co_await ctx.sleep(1s);
  ctx.logger().info("second task, replaying={}", ctx.is_replaying());
  co_await ctx.sleep(1s);
  ctx.logger().info("third task, replaying={}", ctx.is_replaying());
}

Workflow<std::int64_t> clock_reader(WorkflowContext& ctx) {
  auto first = ctx.now();
  co_await ctx.sleep(1s);
  co_return std::chrono::duration_cast<std::chrono::seconds>(ctx.now() - first).count() * 1000 +
      std::chrono::duration_cast<std::chrono::seconds>(first - kStartTime).count();
}

// 1 Started  2 WFTScheduled  3 WFTStarted  4 WFTCompleted  5 TimerStarted{"1"}  6 TimerFired
// 7 WFTScheduled  8 WFTStarted  [9 WFTCompleted  10 TimerStarted{"2"}  11 TimerFired  12 WFTScheduled  13 WFTStarted]
HistoryBuilder sleepy(const std::string& type, int timers, const std::string& run_id = "run-1") {
  HistoryBuilder h(type, {}, run_id);
  h.workflow_task();
  for (int i = 1; i <= timers; ++i) {
    h.task_completed();
    h.timer_fired(h.timer_started(std::to_string(i), 1s), std::to_string(i));
    h.workflow_task();
  }
  return h;
}

std::string result_text(const Activation& a) {
  return DataConverter().from_payloads<std::string>(
      a.commands.at(0).complete_workflow_execution_command_attributes().result());
}

}  // namespace

TEST_CASE("random() and uuid() give the same values on every replay of a run") {
  WorkflowRegistry r;
  r.register_workflow("dice", dice);
  auto answers = run_three_ways(r, sleepy("dice", 1).events());  // compares result payloads exactly
  auto text = DataConverter().from_payloads<std::string>(
      answers[1].commands.at(0).complete_workflow_execution_command_attributes().result());
  CHECK(std::regex_match(text,
                         std::regex(R"(0\.\d+ [0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12})")));
}

TEST_CASE("random() is seeded from the run: another run id gives other values") {
  WorkflowRegistry r;
  r.register_workflow("dice", dice);
  WorkflowRun one(r, test_start("dice"));
  WorkflowRun other(r, test_start("dice"));
  CHECK(result_text(one.activate(sleepy("dice", 1, "run-1").history())) !=
        result_text(other.activate(sleepy("dice", 1, "run-2").history())));
}

TEST_CASE("now() is the start time of the workflow task being processed") {
  WorkflowRegistry r;
  r.register_workflow("clock_reader", clock_reader);
  WorkflowRun run(r, test_start("clock_reader"));
  auto activation = run.activate(sleepy("clock_reader", 1).history());
  auto value = DataConverter().from_payloads<std::int64_t>(
      activation.commands.at(0).complete_workflow_execution_command_attributes().result());
  CHECK(value == 5 * 1000 + 3);  // task 1 started at event 3, task 2 at event 8: 5 s apart
}

TEST_CASE("the workflow logger writes each line once, when the code first runs, never while replaying") {
  auto text = std::make_shared<std::ostringstream>();
  auto sink = std::make_shared<spdlog::sinks::ostream_sink_mt>(*text);
  auto logger = std::make_shared<spdlog::logger>("workflow-test", sink);
  logger->set_pattern("%v");
  WorkflowRegistry r({}, logger);
  r.register_workflow("chatty", chatty);
  auto events = sleepy("chatty", 2).events();

  SECTION("a fresh run replays the first two tasks silently") {
    WorkflowRun run(r, test_start("chatty"));
    REQUIRE(run.activate(events).ok());
    CHECK(text->str() == "[chatty wf-1] third task, replaying=false\n");
  }
  SECTION("a cached run logs each task as it comes") {
    WorkflowRun run(r, test_start("chatty"));
    REQUIRE(run.activate(std::span<const HistoryEvent>(events.data(), 3)).ok());
    REQUIRE(run.activate(std::span<const HistoryEvent>(events.data(), 8)).ok());
    REQUIRE(run.activate(events).ok());
    CHECK(text->str() ==
          "[chatty wf-1] first task, replaying=false\n"
          "[chatty wf-1] second task, replaying=false\n"
          "[chatty wf-1] third task, replaying=false\n");
  }
}
