// The worker runtime (worker/runtime/) against a real in-process server: a workflow of several
// activities runs to completion with the sticky cache on and with it off, and both write the same
// history; with the cache the worker applies only new events, without it every task replays.
#include "reprise/worker.h"
#include "reprise/workflow.h"
#include "test_server.h"

using namespace std::chrono_literals;
using namespace reprise::testing;

namespace {

int add_one(reprise::ActivityContext&, int x) { return x + 1; }

reprise::Workflow<int> count_up(reprise::WorkflowContext& ctx, int steps) {
  int value = 0;
  for (int i = 0; i < steps; ++i)
    value = co_await ctx.execute_activity<int>("add_one", {.start_to_close_timeout = 10s}, value);
  co_return value;
}

struct Outcome {
  int result;
  std::vector<std::string> events;  // "<id> <type>"
  reprise::WorkerStats stats;
};

Outcome run_count_up(std::size_t cache_size) {
  TestServer s;
  reprise::Client client({.address = s.server->address()});
  reprise::Worker worker(client, {.task_queue = "count", .max_cached_workflows = cache_size});
  worker.register_workflow("count_up", count_up);
  worker.register_activity("add_one", add_one);
  worker.start();
  auto handle =
      client.start_workflow("count_up", {.id = "wf-count", .task_queue = "count"}, reprise::json_payloads({5}));
  int result = handle.result_json(30s).get<int>();
  worker.shutdown();
  return {result, history_lines(s, "wf-count"), worker.stats()};
}

}  // namespace

TEST_CASE("a sticky-cached run and a run replayed on every task write identical histories", "[runtime]") {
  auto cached = run_count_up(100);
  auto evicted = run_count_up(0);
  CHECK(cached.result == 5);
  CHECK(evicted.result == 5);
  CHECK(cached.events == evicted.events);
  CHECK(cached.events.back() == "35 WorkflowExecutionCompleted");

  // 6 workflow tasks each. Cached: one replay (the first task), then only new events.
  CHECK(cached.stats.workflow_tasks == 6);
  CHECK(cached.stats.full_replays == 1);
  CHECK(cached.stats.cache_hits == 5);
  // Without the cache every task replays the workflow from event 1.
  CHECK(evicted.stats.workflow_tasks == 6);
  CHECK(evicted.stats.full_replays == 6);
  CHECK(evicted.stats.events_replayed > cached.stats.events_replayed);
  CHECK(cached.stats.activity_tasks == 5);
  CHECK(evicted.stats.activity_tasks == 5);
}

TEST_CASE("an activity's exception fails the attempt with its class name as the failure type", "[runtime]") {
  TestServer s;
  reprise::Client client({.address = s.server->address()});
  reprise::Worker worker(client, {.task_queue = "boom", .max_cached_workflows = 10});
  worker.register_activity(
      "explode", +[](reprise::ActivityContext&) -> int { throw std::out_of_range("index 7"); });
  worker.register_activity(
      "refuse", +[](reprise::ActivityContext&) -> int {
        throw reprise::ApplicationError("no such account", "AccountMissing", /*non_retryable=*/true);
      });
  worker.start();

  RawWorker w(s, "boom-workflows");
  w.start("wf-boom");
  auto wt = w.next_workflow_task();
  REQUIRE(w.complete_workflow_task(
               wt.task_token(),
               {schedule_activity("1", "explode", 10s,
                                  [](auto& a) {
                                    a.mutable_task_queue()->set_name("boom");
                                    a.mutable_retry_policy()->set_maximum_attempts(1);
                                  }),
                schedule_activity("2", "refuse", 10s, [](auto& a) { a.mutable_task_queue()->set_name("boom"); })})
              .ok());
  REQUIRE(eventually([&] {
    auto lines = history_lines(s, "wf-boom");
    return std::count_if(lines.begin(), lines.end(), [](auto& l) { return l.ends_with("ActivityTaskFailed"); }) == 2;
  }));
  worker.shutdown();
  for (const auto& e : history_of(s, "wf-boom")) {
    if (e.event_type() != enums::EVENT_TYPE_ACTIVITY_TASK_FAILED) continue;
    const auto& f = e.activity_task_failed_event_attributes().failure();
    if (f.application_failure_info().type() == "std::out_of_range") {
      CHECK(f.message() == "index 7");
      CHECK(e.activity_task_failed_event_attributes().retry_state() == enums::RETRY_STATE_MAXIMUM_ATTEMPTS_REACHED);
    } else {
      CHECK(f.application_failure_info().type() == "AccountMissing");
      CHECK(f.application_failure_info().non_retryable());
      CHECK(e.activity_task_failed_event_attributes().retry_state() == enums::RETRY_STATE_NON_RETRYABLE_FAILURE);
    }
  }
}
