// The worker runtime against a real `reprise server start-dev` process on a SQLite file (as the
// labs run it, but asserting the histories): the same workflow run with the sticky cache on and
// off writes the same history, and only the cached worker skips replaying. The in-process variant
// with more detail is runtime_test.cpp; workers killed with SIGKILL are lab 2 (tests/examples).
#include <catch2/catch.hpp>
#include <filesystem>

#include "../support/net.h"
#include "../support/server_process.h"
#include "engine/time_util.h"
#include "reprise/worker.h"
#include "reprise/workflow.h"

using namespace std::chrono_literals;

namespace {

int add_one(reprise::ActivityContext&, int x) { return x + 1; }

reprise::Workflow<int> count_up(reprise::WorkflowContext& ctx, int steps) {
  int value = 0;
  for (int i = 0; i < steps; ++i) {
    value = co_await ctx.execute_activity<int>("add_one", {.start_to_close_timeout = 10s}, value);
    if (i % 2 == 1) co_await ctx.sleep(10ms);  // timers too, not only activities
  }
  co_return value;
}

// "WorkflowTaskScheduled", ... without ids: the shape of a history.
std::vector<std::string> event_types(const temporal::api::history::v1::History& history) {
  std::vector<std::string> out;
  for (const auto& e : history.events()) out.push_back(temporal::api::enums::v1::EventType_Name(e.event_type()));
  return out;
}

}  // namespace

TEST_CASE("against a server process, a sticky-cached run and an evicted run write the same history", "[process]") {
  auto dir = std::filesystem::temp_directory_path() / ("reprise-process-" + reprise::engine::new_uuid());
  std::filesystem::create_directories(dir);
  reprise::testing::ServerProcess server(REPRISE_BINARY, (dir / "history.db").string(),
                                         reprise::testing::free_loopback_port());
  server.start();
  REQUIRE(server.wait_until_serving());
  reprise::Client client({.address = server.address()});

  auto run = [&](const std::string& workflow_id, std::size_t cache_size) {
    reprise::Worker worker(client, {.task_queue = "q-" + workflow_id, .max_cached_workflows = cache_size});
    worker.register_workflow("count_up", count_up);
    worker.register_activity("add_one", add_one);
    worker.start();
    auto handle = client.start_workflow("count_up", {.id = workflow_id, .task_queue = "q-" + workflow_id},
                                        reprise::json_payloads({4}));
    CHECK(handle.result_json(60s).get<int>() == 4);
    worker.shutdown();
    return std::make_pair(event_types(handle.history()), worker.stats());
  };
  auto [cached_events, cached] = run("wf-cached", 100);
  auto [evicted_events, evicted] = run("wf-evicted", 0);
  CHECK(cached_events == evicted_events);
  CHECK(cached_events.back() == "EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED");
  CHECK(cached.full_replays == 1);
  CHECK(evicted.full_replays == evicted.workflow_tasks);
  CHECK(evicted.workflow_tasks == cached.workflow_tasks);
  server.stop();
  std::filesystem::remove_all(dir);
}
