// The Replayer on real histories recorded by Temporal's SDKs (../shared/reference/histories),
// against C++ ports of the workflows that recorded them. Ids are set explicitly where the recording
// SDK chose its own (Go uses the scheduled event id as activity and timer id).
//
// Not ported, because this worker has no such feature: sdk-go__update_accept_and_complete_and_exit.json
// (workflow updates: protocol messages) and sdk-java__testChildWorkflowRetryHistory.json (child
// workflows). Replaying them fails; the last test shows how.
#include "reprise/replayer.h"

#include <catch2/catch.hpp>
#include <filesystem>

#include "history/history_json.h"
#include "reprise/workflow.h"

using namespace std::chrono_literals;
using namespace reprise;

namespace {

// samples-go helloworld/helloworld.go: one activity, start-to-close 10 s.
Workflow<std::string> go_helloworld(WorkflowContext& ctx, std::string name) {
  ctx.logger().info("HelloWorld workflow started, name {}", name);
  auto result =
      co_await ctx.execute_activity<std::string>("Activity", {.activity_id = "5", .start_to_close_timeout = 10s}, name);
  ctx.logger().info("HelloWorld workflow completed, result {}", result);
  co_return result;
}

// sdk-python tests/worker/test_replayer.py SayHelloWorkflow.
struct SayHelloParams {
  std::string name;
  bool should_wait = false;
  bool should_error = false;
  bool should_cause_nondeterminism = false;
};
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE_WITH_DEFAULT(SayHelloParams, name, should_wait, should_error,
                                                should_cause_nondeterminism)

Workflow<std::string> python_say_hello(WorkflowContext& ctx, SayHelloParams params) {
  bool finish = false;
  ctx.on_signal("finish", [&] { finish = true; });
  auto result =
      co_await ctx.execute_activity<std::string>("say_hello", {.schedule_to_close_timeout = 60s}, params.name);
  if (params.should_wait) co_await ctx.wait_condition([&] { return finish; });
  if (params.should_error) throw ApplicationError("Intentional error");
  if (params.should_cause_nondeterminism && ctx.is_replaying()) co_await ctx.sleep(100ms);
  co_return result;
}

// features activity/retry_on_error/feature.go: an always-failing activity, 5 attempts, whose
// failure fails the workflow. (Go's 1 ns retry interval is rounded up to 1 ms; options are not compared.)
Workflow<> go_retry_on_error(WorkflowContext& ctx) {
  co_await ctx.execute_activity(
      "AlwaysFailActivity",
      {.activity_id = "5",
       .start_to_close_timeout = 1min,
       .retry_policy = RetryPolicy{.initial_interval = 1ms, .backoff_coefficient = 1, .maximum_attempts = 5}});
}

// sdk-go test/workflow_test.go CancelTimerAfterActivity: start a timer, start an activity, cancel
// the timer in the same workflow task, return the activity's result.
Workflow<std::string> go_cancel_timer_after_activity(WorkflowContext& ctx) {
  auto timer = ctx.start_timer(3s, {.timer_id = "5"});
  auto upper = ctx.start_activity<std::string>(
      "Prefix_ToUpper", {.activity_id = "6", .schedule_to_start_timeout = 1s, .start_to_close_timeout = 5s},
      std::string("hello"));
  timer.cancel();
  co_return co_await upper;
}

// sdk-typescript packages/test/src/workflows/cancel-fake-progress.ts: wait for a signal saying the
// activity started, cancel it, and expect the cancellation (WAIT_CANCELLATION_COMPLETED).
Workflow<> ts_cancel_fake_progress(WorkflowContext& ctx) {
  bool activity_started = false;
  ctx.on_signal("activityStarted", [&] { activity_started = true; });
  auto progress =
      ctx.start_activity("fakeProgress", {.start_to_close_timeout = 200s,
                                          .heartbeat_timeout = 2s,
                                          .cancellation_type = ActivityCancellationType::wait_cancellation_completed});
  co_await ctx.wait_condition([&] { return activity_started; });
  progress.cancel();
  bool cancelled = false;
  try {
    co_await progress;
  } catch (const ActivityError& e) {
    try {
      std::rethrow_exception(e.cause());
    } catch (const CanceledError&) {
      cancelled = true;
    }
  }
  if (!cancelled) throw ApplicationError::non_retryable_error("Activity completed instead of being cancelled");
}

// sdk-go test/replaytests/workflows.go ContinueAsNewWorkflow.
Workflow<> go_continue_as_new(WorkflowContext& ctx, bool continue_as_new) {
  if (continue_as_new) throw ctx.continue_as_new(false);
  co_return;
}

// What sdk-java's TestWorkflow1 would be without child workflows: it can only return.
Workflow<std::string> java_parent_without_children(WorkflowContext&, std::string) { co_return ""; }

#ifdef REPRISE_WORKER_HISTORIES_DIR
std::filesystem::path history_file(const std::string& name) {
  return std::filesystem::path(REPRISE_WORKER_HISTORIES_DIR) / name;
}

template <class F>
ReplayResult replay_with(const std::string& workflow_type, F function, const std::string& file) {
  WorkflowRegistry registry;
  registry.register_workflow(workflow_type, function);
  return Replayer(registry).replay_file(history_file(file));
}
#endif

}  // namespace

#ifdef REPRISE_WORKER_HISTORIES_DIR

TEST_CASE("samples-go helloworld replays against its C++ port") {
  auto result = replay_with("Workflow", go_helloworld, "samples-go__helloworld.json");
  INFO(result.message);
  CHECK(result.ok());
}

TEST_CASE("sdk-python's complete SayHelloWorkflow history replays against its C++ port") {
  auto result = replay_with("SayHelloWorkflow", python_say_hello, "sdk-python__test_replayer_complete_history.json");
  INFO(result.message);
  CHECK(result.ok());
}

TEST_CASE("features' activity retry_on_error history (the workflow fails) replays against its C++ port") {
  auto result = replay_with("Workflow", go_retry_on_error, "features__activity_retry_on_error__history.go.v1.5.0.json");
  INFO(result.message);
  CHECK(result.ok());
}

TEST_CASE("sdk-go's cancel-timer-after-activity history replays against its C++ port") {
  auto result = replay_with("CancelTimerAfterActivity", go_cancel_timer_after_activity,
                            "sdk-go__cancel-timer-after-activity.json");
  INFO(result.message);
  CHECK(result.ok());
}

TEST_CASE("sdk-typescript's cancel_fake_progress history (signal, then activity cancellation) replays") {
  auto result =
      replay_with("cancelFakeProgress", ts_cancel_fake_progress, "sdk-typescript__cancel_fake_progress_history.json");
  INFO(result.message);
  CHECK(result.ok());
}

TEST_CASE("sdk-go's continue-as-new history replays against its C++ port") {
  auto result = replay_with("ContinueAsNewWorkflow", go_continue_as_new, "sdk-go__continue-as-new.json");
  INFO(result.message);
  CHECK(result.ok());
}

TEST_CASE("sdk-python's nondeterministic history fails replay with a nondeterminism error") {
  auto result = replay_with("SayHelloWorkflow", python_say_hello,
                            "negative/sdk-python__test_replayer_nondeterministic_history.json");
  CHECK(result.outcome == ReplayResult::Outcome::nondeterminism);
  CHECK_THAT(result.message,
             Catch::StartsWith("[TMPRL1100] Nondeterminism error: history event #11 WorkflowExecutionCompleted") &&
                 Catch::Contains(
                     "StartTimer {timer_id: \"1\", start_to_fire_timeout: 0.100s} at tests/worker/replayer_test.cpp:"));
}

TEST_CASE("replaying a history against the wrong workflow code reports nondeterminism") {
  auto result = replay_with("Workflow", go_cancel_timer_after_activity, "samples-go__helloworld.json");
  CHECK(result.outcome == ReplayResult::Outcome::nondeterminism);
  CHECK_THAT(
      result.message,
      Catch::Contains("history event #5 ActivityTaskScheduled {activity_id: \"5\", activity_type: \"Activity\"}") &&
          Catch::Contains(
              "StartTimer {timer_id: \"5\", start_to_fire_timeout: 3s} at tests/worker/replayer_test.cpp:"));
}

TEST_CASE("histories that use features this worker lacks fail replay and say which event") {
  auto child =
      replay_with("TestWorkflow1", java_parent_without_children, "sdk-java__testChildWorkflowRetryHistory.json");
  CHECK_FALSE(child.ok());
  INFO(child.message);
  CHECK(child.outcome == ReplayResult::Outcome::nondeterminism);
  CHECK_THAT(child.message, Catch::Contains("history event #5 StartChildWorkflowExecutionInitiated"));
}

#else

TEST_CASE("replayer tests on recorded histories are skipped") {
  WARN("../shared/reference/histories was not found at configure time: the Replayer's real-history tests did not run");
}

#endif
