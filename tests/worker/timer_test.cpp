// Durable timers: StartTimer matched against TimerStarted, TimerFired resuming the sleeper,
// cancellation (CancelTimer / TimerCanceled), explicit timer ids, and wait_condition's timeout.
#include <catch2/catch.hpp>

#include "history_builder.h"
#include "reprise/workflow.h"
#include "three_ways.h"

using namespace std::chrono_literals;
using namespace reprise;
using namespace reprise::testing;

namespace {

Workflow<std::string> nap(WorkflowContext& ctx) {
  auto before = ctx.now();
  co_await ctx.sleep(90s);
  auto slept = std::chrono::duration_cast<std::chrono::seconds>(ctx.now() - before).count();
  co_return "woke after " + std::to_string(slept) + " s of workflow time";
}

Workflow<std::string> cancel_alarm(WorkflowContext& ctx) {
  auto alarm = ctx.start_timer(1h, {.timer_id = "alarm"});
  co_await ctx.sleep(1s);
  alarm.cancel();
  try {
    co_await alarm;
    co_return "rang";
  } catch (const CanceledError&) {
    co_return "canceled";
  }
}

Workflow<std::string> wait_or_give_up(WorkflowContext& ctx) {
  bool ready = false;
  ctx.on_signal("ready", [&] { ready = true; });
  bool met = co_await ctx.wait_condition([&] { return ready; }, 30s);
  co_return met ? "ready" : "gave up";
}

WorkflowRegistry registry() {
  WorkflowRegistry r;
  r.register_workflow("nap", nap);
  r.register_workflow("cancel_alarm", cancel_alarm);
  r.register_workflow("wait_or_give_up", wait_or_give_up);
  return r;
}

}  // namespace

TEST_CASE("a sleeping workflow resumes when its timer fires, at the time of the next workflow task") {
  // 1 Started  2 WFTScheduled  3 WFTStarted  4 WFTCompleted  5 TimerStarted{"1", 90s}
  // 6 TimerFired  7 WFTScheduled  8 WFTStarted (8 s after event 3 in the builder's clock)
  auto r = registry();
  HistoryBuilder h("nap");
  h.workflow_task();
  h.task_completed();
  h.timer_fired(h.timer_started("1", 90s), "1");
  h.workflow_task();
  auto answers = run_three_ways(r, h.events());
  CHECK(describe(answers[0].commands) ==
        std::vector<std::string>{R"(StartTimer {timer_id: "1", start_to_fire_timeout: 90s})"});
  const auto& result = answers[1].commands.at(0).complete_workflow_execution_command_attributes().result();
  CHECK(DataConverter().from_payloads<std::string>(result) == "woke after 5 s of workflow time");
}

TEST_CASE("cancelling a started timer sends CancelTimer and makes its co_await throw CanceledError") {
  // 1 Started  2 WFTScheduled  3 WFTStarted  4 WFTCompleted  5 TimerStarted{"alarm", 1h}
  // 6 TimerStarted{"2", 1s}  7 TimerFired{"2"}  8 WFTScheduled  9 WFTStarted  10 WFTCompleted
  // 11 TimerCanceled{"alarm"}  12 WorkflowExecutionCompleted — with the tail replayed too
  auto r = registry();
  HistoryBuilder h("cancel_alarm");
  h.workflow_task();
  h.task_completed();
  auto alarm = h.timer_started("alarm", 1h);
  h.timer_fired(h.timer_started("2", 1s), "2");
  h.workflow_task();
  h.task_completed();
  h.timer_canceled(alarm, "alarm");
  h.workflow_completed(payloads(std::string("canceled")));
  auto answers = run_three_ways(r, h.events());
  CHECK(describe(answers[1].commands) ==
        std::vector<std::string>{R"(CancelTimer {timer_id: "alarm"})", "CompleteWorkflowExecution"});
  const auto& result = answers[1].commands.at(1).complete_workflow_execution_command_attributes().result();
  CHECK(DataConverter().from_payloads<std::string>(result) == "canceled");
}

TEST_CASE("wait_condition with a timeout returns false when its timer fires first") {
  // 1 Started  2 WFTScheduled  3 WFTStarted  4 WFTCompleted  5 TimerStarted{"1", 30s}
  // 6 TimerFired  7 WFTScheduled  8 WFTStarted
  auto r = registry();
  HistoryBuilder h("wait_or_give_up");
  h.workflow_task();
  h.task_completed();
  h.timer_fired(h.timer_started("1", 30s), "1");
  h.workflow_task();
  auto answers = run_three_ways(r, h.events());
  const auto& result = answers[1].commands.at(0).complete_workflow_execution_command_attributes().result();
  CHECK(DataConverter().from_payloads<std::string>(result) == "gave up");
}

TEST_CASE("wait_condition with a timeout cancels its timer and returns true once the condition holds") {
  // 1 Started  2 WFTScheduled  3 WFTStarted  4 WFTCompleted  5 TimerStarted{"1", 30s}
  // 6 WorkflowExecutionSignaled{ready}  7 WFTScheduled  8 WFTStarted
  auto r = registry();
  HistoryBuilder h("wait_or_give_up");
  h.workflow_task();
  h.task_completed();
  h.timer_started("1", 30s);
  h.signal("ready");
  h.workflow_task();
  auto answers = run_three_ways(r, h.events());
  CHECK(describe(answers[1].commands) ==
        std::vector<std::string>{R"(CancelTimer {timer_id: "1"})", "CompleteWorkflowExecution"});
  const auto& result = answers[1].commands.at(1).complete_workflow_execution_command_attributes().result();
  CHECK(DataConverter().from_payloads<std::string>(result) == "ready");
}
