// Coroutine frames are freed: the live-frame counter returns to where it was when a workflow
// completes, and when its WorkflowRun is destroyed mid-workflow (eviction), including frames of
// helpers, all()/any() watchers and conditions that were still waiting.
#include <catch2/catch.hpp>

#include "history_builder.h"
#include "reprise/workflow.h"
#include "reprise/workflow_run.h"

using namespace std::chrono_literals;
using namespace reprise;
using namespace reprise::testing;

namespace {

Workflow<int> wait_for_activity(WorkflowContext& ctx, std::string type) {
  co_return co_await ctx.execute_activity<int>(type, {.start_to_close_timeout = 1s});
}

Workflow<int> busy(WorkflowContext& ctx) {
  bool never = false;
  auto [a, b] = co_await all(wait_for_activity(ctx, "a"), wait_for_activity(ctx, "b"));
  co_await any(ctx.wait_condition([&] { return never; }), ctx.sleep(1s));
  co_return a + b;
}

WorkflowRegistry registry() {
  WorkflowRegistry r;
  r.register_workflow("busy", busy);
  return r;
}

StartInfo start() { return StartInfo{"default", "wf-1", "run-1", "busy", "test-queue"}; }

}  // namespace

TEST_CASE("destroying a run in the middle of a workflow frees every coroutine frame") {
  const long before = live_workflow_frames();
  auto r = registry();
  {
    // 1 Started  2 WorkflowTaskScheduled  3 WorkflowTaskStarted
    HistoryBuilder h("busy");
    h.workflow_task();
    WorkflowRun run(r, start());
    auto activation = run.activate(h.history());
    REQUIRE(activation.ok());
    REQUIRE(activation.commands.size() == 2);
    CHECK(live_workflow_frames() > before);  // busy, all, two watchers, two helpers
  }
  CHECK(live_workflow_frames() == before);
}

TEST_CASE("a completed workflow has no coroutine frame left, even before its run is destroyed") {
  const long before = live_workflow_frames();
  auto r = registry();
  // 1 Started  2 WFTScheduled  3 WFTStarted  4 WFTCompleted  5 ActivityTaskScheduled{a}
  // 6 ActivityTaskScheduled{b}  7,8 a completed  9,10 b completed  11 WFTScheduled  12 WFTStarted
  // 13 WFTCompleted  14 TimerStarted  15 TimerFired  16 WFTScheduled  17 WFTStarted
  HistoryBuilder h("busy");
  h.workflow_task();
  h.task_completed();
  auto a = h.activity_scheduled("1", "a");
  auto b = h.activity_scheduled("2", "b");
  h.activity_completed(a, payloads(20));
  h.activity_completed(b, payloads(22));
  h.workflow_task();
  h.task_completed();
  auto timer = h.timer_started("1", 1s);
  h.timer_fired(timer, "1");
  h.workflow_task();
  WorkflowRun run(r, start());
  auto activation = run.activate(h.history());
  REQUIRE(activation.ok());
  REQUIRE(activation.workflow_closed);
  CHECK(live_workflow_frames() == before);
  const auto& result = activation.commands.at(0).complete_workflow_execution_command_attributes().result();
  CHECK(DataConverter().from_payloads<int>(result) == 42);
}
