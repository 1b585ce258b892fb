// Signals: WorkflowExecutionSignaled events reach handlers and channels in history order, signals
// that arrive before a handler exists are kept for it, and nothing about them is matched.
#include <catch2/catch.hpp>

#include "history_builder.h"
#include "reprise/workflow.h"
#include "three_ways.h"

using namespace std::chrono_literals;
using namespace reprise;
using namespace reprise::testing;

namespace {

// Collects "add" signals until a "done" signal, then returns them joined.
Workflow<std::string> collector(WorkflowContext& ctx) {
  std::string seen;
  bool done = false;
  ctx.on_signal<std::string>("add", [&](std::string word) { seen += word + " "; });
  ctx.on_signal("done", [&] { done = true; });
  co_await ctx.wait_condition([&] { return done; });
  co_return seen;
}

// Sleeps first, so that signals arrive before any handler exists, then takes them from a channel.
Workflow<std::string> late_listener(WorkflowContext& ctx) {
  co_await ctx.sleep(1s);
  auto words = ctx.signal_channel<std::string>("add");
  std::string first = co_await words.receive();
  std::string second = co_await words.receive();
  co_return first + "+" + second;
}

WorkflowRegistry registry() {
  WorkflowRegistry r;
  r.register_workflow("collector", collector);
  r.register_workflow("late_listener", late_listener);
  return r;
}

std::string result_of(const TaskAnswer& answer) {
  return DataConverter().from_payloads<std::string>(
      answer.commands.at(0).complete_workflow_execution_command_attributes().result());
}

}  // namespace

TEST_CASE("signals reach their handlers in history order, across workflow tasks") {
  // 1 Started  2 Signaled{add "a"}  3 WFTScheduled  4 WFTStarted  5 WFTCompleted
  // 6 Signaled{add "b"}  7 Signaled{add "c"}  8 WFTScheduled  9 WFTStarted  10 WFTCompleted
  // 11 Signaled{done}  12 WFTScheduled  13 WFTStarted
  auto r = registry();
  HistoryBuilder h("collector");
  h.signal("add", payloads(std::string("a")));
  h.workflow_task();
  h.task_completed();
  h.signal("add", payloads(std::string("b")));
  h.signal("add", payloads(std::string("c")));
  h.workflow_task();
  h.task_completed();
  h.signal("done");
  h.workflow_task();
  auto answers = run_three_ways(r, h.events());
  CHECK(answers[0].commands.empty());  // blocked on the condition: nothing to ask the server
  CHECK(answers[1].commands.empty());
  CHECK(result_of(answers[2]) == "a b c ");
}

TEST_CASE("signals that arrive before a handler exists are kept and delivered to it in order") {
  // 1 Started  2 WFTScheduled  3 WFTStarted  4 WFTCompleted  5 TimerStarted{"1"}
  // 6 Signaled{add "x"}  7 Signaled{add "y"}  8 TimerFired  9 WFTScheduled  10 WFTStarted
  auto r = registry();
  HistoryBuilder h("late_listener");
  h.workflow_task();
  h.task_completed();
  auto timer = h.timer_started("1", 1s);
  h.signal("add", payloads(std::string("x")));
  h.signal("add", payloads(std::string("y")));
  h.timer_fired(timer, "1");
  h.workflow_task();
  auto answers = run_three_ways(r, h.events());
  CHECK(result_of(answers[1]) == "x+y");
}
