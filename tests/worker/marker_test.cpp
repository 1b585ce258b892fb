// Markers: patched() and get_version() take the new branch in new runs and the old branch when
// replaying histories recorded before the change; side_effect() replays the recorded value without
// calling the function. Marker names and detail keys are Temporal's (temporal-semantics.md §1.11).
#include <catch2/catch.hpp>

#include "history_builder.h"
#include "reprise/workflow.h"
#include "three_ways.h"

using namespace std::chrono_literals;
using namespace reprise;
using namespace reprise::testing;

namespace {

using Details = google::protobuf::Map<std::string, temporal::api::common::v1::Payloads>;

Details patch_details(const std::string& id) {
  Details d;
  d["patch-data"] = payloads(nlohmann::json{{"id", id}, {"deprecated", false}});
  return d;
}
Details version_details(const std::string& change_id, int version) {
  Details d;
  d["change-id"] = payloads(change_id);
  d["version"] = payloads(version);
  return d;
}

Workflow<std::string> patched_flow(WorkflowContext& ctx) {
  if (ctx.patched("use-v2")) co_return co_await ctx.execute_activity<std::string>("v2", {.start_to_close_timeout = 1s});
  co_return co_await ctx.execute_activity<std::string>("v1", {.start_to_close_timeout = 1s});
}

Workflow<std::string> versioned_flow(WorkflowContext& ctx) {
  int version = ctx.get_version("new-api", kDefaultVersion, 1);
  std::string type = version == kDefaultVersion ? "v1" : "v2";
  co_return co_await ctx.execute_activity<std::string>(type, {.start_to_close_timeout = 1s});
}

Workflow<std::string> strict_flow(WorkflowContext& ctx) {
  ctx.get_version("new-api", 2, 3);  // this code no longer supports version 1
  co_return "unreachable on old histories";
}

int g_produce_calls = 0;
Workflow<int> side_effect_flow(WorkflowContext& ctx) {
  int value = ctx.side_effect([] {
    ++g_produce_calls;
    return 42;
  });
  co_await ctx.sleep(1s);
  co_return value;
}

WorkflowRegistry registry() {
  WorkflowRegistry r;
  r.register_workflow("patched_flow", patched_flow);
  r.register_workflow("versioned_flow", versioned_flow);
  r.register_workflow("strict_flow", strict_flow);
  r.register_workflow("side_effect_flow", side_effect_flow);
  return r;
}

// A workflow whose first task ran one activity of `activity_type` (after `marker`, if any):
// 1 Started  2 WFTScheduled  3 WFTStarted  4 WFTCompleted  [5 MarkerRecorded]  ActivityTaskScheduled{"1"}
// ActivityTaskStarted  ActivityTaskCompleted{"done"}  WFTScheduled  WFTStarted
HistoryBuilder one_activity(const std::string& workflow_type, const std::string& activity_type,
                            const std::string& marker_name = "", const Details& marker = {}) {
  HistoryBuilder h(workflow_type);
  h.workflow_task();
  h.task_completed();
  if (!marker_name.empty()) h.marker(marker_name, marker);
  h.activity_completed(h.activity_scheduled("1", activity_type), payloads(std::string("done")));
  h.workflow_task();
  return h;
}

std::string result_of(const std::vector<Command>& commands) {
  return DataConverter().from_payloads<std::string>(
      commands.at(0).complete_workflow_execution_command_attributes().result());
}

}  // namespace

TEST_CASE("patched() takes the new branch in a new run and records a core_patch marker") {
  auto r = registry();
  auto answers = run_three_ways(r, one_activity("patched_flow", "v2", "core_patch", patch_details("use-v2")).events());
  CHECK(describe(answers[0].commands) ==
        std::vector<std::string>{R"(RecordMarker {marker_name: "core_patch", id: "use-v2"})",
                                 R"(ScheduleActivityTask {activity_id: "1", activity_type: "v2"})"});
  const auto& marker = answers[0].commands[0].record_marker_command_attributes();
  CHECK(nlohmann::json::parse(marker.details().at("patch-data").payloads(0).data()) ==
        nlohmann::json{{"id", "use-v2"}, {"deprecated", false}});
}

TEST_CASE("patched() takes the old branch when replaying a history recorded before the patch") {
  auto r = registry();
  WorkflowRun run(r, test_start("patched_flow"));
  auto activation = run.activate(one_activity("patched_flow", "v1").history());
  REQUIRE(activation.ok());
  CHECK(result_of(activation.commands) == "done");
}

TEST_CASE("get_version() returns the maximum in a new run and records a Version marker") {
  auto r = registry();
  auto answers =
      run_three_ways(r, one_activity("versioned_flow", "v2", "Version", version_details("new-api", 1)).events());
  CHECK(describe(answers[0].commands).at(0) == R"(RecordMarker {marker_name: "Version", id: "new-api"})");
  const auto& details = answers[0].commands[0].record_marker_command_attributes().details();
  CHECK(details.at("change-id").payloads(0).data() == "\"new-api\"");
  CHECK(details.at("version").payloads(0).data() == "1");
}

TEST_CASE("get_version() returns the default version when replaying a history without its marker") {
  auto r = registry();
  WorkflowRun run(r, test_start("versioned_flow"));
  auto activation = run.activate(one_activity("versioned_flow", "v1").history());
  REQUIRE(activation.ok());
  CHECK(result_of(activation.commands) == "done");
}

TEST_CASE("get_version() fails the task when history holds a version the code no longer supports") {
  auto r = registry();
  auto h = one_activity("strict_flow", "v2", "Version", version_details("new-api", 1));
  auto message =
      expect_task_failure_three_ways(r, h.events(), enums::WORKFLOW_TASK_FAILED_CAUSE_NON_DETERMINISTIC_ERROR);
  CHECK_THAT(message, Catch::Contains("get_version(\"new-api\") at ") && Catch::Contains("marker_test.cpp:") &&
                          Catch::Contains("supports versions 2..3, but history recorded version 1"));
}

TEST_CASE("side_effect() runs its function in a new run and records the value in a SideEffect marker") {
  g_produce_calls = 0;
  auto r = registry();
  HistoryBuilder h("side_effect_flow");
  h.workflow_task();
  WorkflowRun run(r, test_start("side_effect_flow"));
  auto activation = run.activate(h.history());
  CHECK(g_produce_calls == 1);
  REQUIRE(describe(activation.commands).at(0) == R"(RecordMarker {marker_name: "SideEffect", id: "1"})");
  const auto& details = activation.commands[0].record_marker_command_attributes().details();
  CHECK(details.at("data").payloads(0).data() == "42");
}

TEST_CASE("side_effect() replays the recorded value without calling its function") {
  // 1 Started  2 WFTScheduled  3 WFTStarted  4 WFTCompleted  5 MarkerRecorded{SideEffect 1: 7}
  // 6 TimerStarted  7 TimerFired  8 WFTScheduled  9 WFTStarted
  g_produce_calls = 0;
  auto r = registry();
  HistoryBuilder h("side_effect_flow");
  h.workflow_task();
  h.task_completed();
  Details recorded;
  recorded["side-effect-id"] = payloads(1);
  recorded["data"] = payloads(7);
  h.marker("SideEffect", recorded);
  h.timer_fired(h.timer_started("1", 1s), "1");
  h.workflow_task();
  WorkflowRun run(r, test_start("side_effect_flow"));
  auto activation = run.activate(h.history());
  REQUIRE(activation.ok());
  CHECK(g_produce_calls == 0);
  CHECK(DataConverter().from_payloads<int>(
            activation.commands.at(0).complete_workflow_execution_command_attributes().result()) == 7);
}

namespace {
int g_patch_line = 0;
Workflow<std::string> renamed_patch_flow(WorkflowContext& ctx) {
  if (ctx.patched("use-v3")) co_return co_await ctx.execute_activity<std::string>("v3", {.start_to_close_timeout = 1s});
  g_patch_line = __LINE__ + 1;  // replaying, patched() is false: the old branch runs
  co_return co_await ctx.execute_activity<std::string>("v1", {.start_to_close_timeout = 1s});
}
}  // namespace

TEST_CASE("a patch marker in history that the code no longer asks for is nondeterminism naming the marker") {
  WorkflowRegistry r;
  r.register_workflow("patched_flow", renamed_patch_flow);
  auto message = expect_task_failure_three_ways(
      r, one_activity("patched_flow", "v2", "core_patch", patch_details("use-v2")).events(),
      enums::WORKFLOW_TASK_FAILED_CAUSE_NON_DETERMINISTIC_ERROR);
  CHECK(message ==
        "[TMPRL1100] Nondeterminism error: history event #5 MarkerRecorded {marker_name: \"core_patch\", id: "
        "\"use-v2\"} does not match the command the workflow code produced: ScheduleActivityTask {activity_id: \"1\", "
        "activity_type: \"v1\"} at tests/worker/marker_test.cpp:" +
            std::to_string(g_patch_line) +
            " (a ScheduleActivityTask command produces ActivityTaskScheduled, not MarkerRecorded)");
}
