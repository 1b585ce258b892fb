// A worker sends a report again when the server could not take it (worker/runtime/report_retry.h):
// the waits between attempts and when it gives up, then two runs against a server whose store
// fails the report's commit once (UNAVAILABLE, nothing written): an activity's outcome and a
// workflow task's answer each land on the second attempt, exactly once, and the workflow
// completes without waiting out a timeout.
#include "runtime/report_retry.h"

#include <future>

#include "reprise/worker.h"
#include "reprise/workflow.h"
#include "test_server.h"

using namespace std::chrono_literals;
using namespace reprise::testing;
using reprise::detail::ReportRetry;
using Lines = std::vector<std::string>;

TEST_CASE("a report is retried on codes that may pass, never on refusals or its own deadline", "[runtime][retry]") {
  for (auto code : {grpc::StatusCode::UNAVAILABLE, grpc::StatusCode::RESOURCE_EXHAUSTED, grpc::StatusCode::ABORTED,
                    grpc::StatusCode::INTERNAL, grpc::StatusCode::UNKNOWN, grpc::StatusCode::DATA_LOSS,
                    grpc::StatusCode::OUT_OF_RANGE})
    CHECK(ReportRetry{}.next_wait(grpc::Status(code, "x")).has_value());
  for (auto code :
       {grpc::StatusCode::NOT_FOUND, grpc::StatusCode::INVALID_ARGUMENT, grpc::StatusCode::FAILED_PRECONDITION,
        grpc::StatusCode::DEADLINE_EXCEEDED, grpc::StatusCode::ALREADY_EXISTS, grpc::StatusCode::CANCELLED})
    CHECK_FALSE(ReportRetry{}.next_wait(grpc::Status(code, "x")).has_value());
  CHECK_FALSE(ReportRetry{}.next_wait(grpc::Status::OK).has_value());
}

TEST_CASE("the waits between a report's attempts grow 1.7 times up to 5 s, for at most 10 attempts",
          "[runtime][retry]") {
  const auto start = ReportRetry::Clock::now();
  ReportRetry retry(start);
  const grpc::Status unavailable(grpc::StatusCode::UNAVAILABLE, "connection refused");
  double expected = 100;
  std::vector<long> waits;
  // Failures a millisecond apart, so that the 10 s never runs out: only the count stops them.
  for (int i = 1; i < ReportRetry::kMaxAttempts; ++i) {
    auto wait = retry.next_wait(unavailable, start + std::chrono::milliseconds(i));
    REQUIRE(wait);
    CHECK(wait->count() >= static_cast<long>(expected * 0.8) - 1);
    CHECK(wait->count() <= static_cast<long>(expected * 1.2) + 1);
    waits.push_back(wait->count());
    expected = std::min(expected * 1.7, 5000.0);
  }
  CHECK(waits.back() >= 4000);  // the cap reached: 100 * 1.7^8 is past 5 s
  CHECK(retry.retries() == ReportRetry::kMaxAttempts - 1);
  CHECK_FALSE(retry.next_wait(unavailable, start + 20ms));
}

TEST_CASE("no attempt of a report goes out later than 10 s after the first", "[runtime][retry]") {
  const auto start = ReportRetry::Clock::now();
  ReportRetry retry(start);
  const grpc::Status unavailable(grpc::StatusCode::UNAVAILABLE, "connection refused");
  REQUIRE(retry.next_wait(unavailable, start + 1s));          // waits ~100 ms
  REQUIRE(retry.next_wait(unavailable, start + 9500ms));      // waits ~170 ms: out before 10 s
  CHECK_FALSE(retry.next_wait(unavailable, start + 9800ms));  // ~290 ms would end past 10 s
  CHECK(retry.retries() == 2);
}

namespace {
// The activity and the workflow wait for the test, which arms the store's fault in between.
std::promise<void>* entered = nullptr;
std::shared_future<void> release;

int gated_step(reprise::ActivityContext&, int x) {
  if (entered) entered->set_value();
  release.wait();
  return x + 1;
}

reprise::Workflow<int> one_step(reprise::WorkflowContext& ctx) {
  co_return co_await ctx.execute_activity<int>("gated_step", {.start_to_close_timeout = 1h}, 41);
}

reprise::Workflow<int> gated_answer(reprise::WorkflowContext&) {
  if (entered) entered->set_value();
  release.wait();
  co_return 7;
}

// Declared after the worker, so that a failed test opens it before the worker's shutdown waits
// for the code inside.
struct Gate {
  std::promise<void> in, out;
  bool open = false;
  Gate() {
    entered = &in;
    release = out.get_future().share();
  }
  ~Gate() {
    entered = nullptr;
    if (!open) out.set_value();
  }
  // Waits until the code under test is inside the gate, arms the fault, lets it go on.
  void arm_then_open(reprise::history::FaultInjectingStore& faults) {
    REQUIRE(in.get_future().wait_for(30s) == std::future_status::ready);
    faults.fail_next_commit_before_write();
    open = true;
    out.set_value();
  }
};
}  // namespace

TEST_CASE("an activity's outcome the server could not commit is sent again and lands once", "[runtime][retry]") {
  FaultyServer f;
  reprise::Client client({.address = f.server->server->address()});
  // No eager execution: the activity comes through its own poll, its outcome through its own report.
  reprise::Worker worker(client, {.task_queue = "retry", .eager_activity_execution = false});
  Gate gate;
  worker.register_workflow("one_step", one_step);
  worker.register_activity("gated_step", gated_step);
  worker.start();
  auto handle = client.start_workflow("one_step", {.id = "wf-retry-activity", .task_queue = "retry"});
  gate.arm_then_open(*f.faults);
  // A start-to-close timeout of an hour, and a clock that does not move: a lost outcome would
  // leave the workflow waiting, and result_json would throw after its 30 s.
  CHECK(handle.result_json(30s).get<int>() == 42);
  worker.shutdown();
  CHECK(f.faults->counters().failed_before_write == 1);
  CHECK(worker.stats().report_retries == 1);
  auto lines = history_lines(*f.server, "wf-retry-activity");
  CHECK(std::count(lines.begin(), lines.end(), "7 ActivityTaskCompleted") == 1);
  CHECK(lines.back() == "11 WorkflowExecutionCompleted");
}

TEST_CASE("a workflow task's answer the server could not commit is sent again and lands once", "[runtime][retry]") {
  FaultyServer f;
  reprise::Client client({.address = f.server->server->address()});
  reprise::Worker worker(client, {.task_queue = "retry"});
  Gate gate;
  worker.register_workflow("gated_answer", gated_answer);
  worker.start();
  auto handle = client.start_workflow("gated_answer", {.id = "wf-retry-answer", .task_queue = "retry"});
  gate.arm_then_open(*f.faults);
  CHECK(handle.result_json(30s).get<int>() == 7);
  worker.shutdown();
  CHECK(f.faults->counters().failed_before_write == 1);
  CHECK(worker.stats().report_retries == 1);
  CHECK(history_lines(*f.server, "wf-retry-answer") == Lines{"1 WorkflowExecutionStarted", "2 WorkflowTaskScheduled",
                                                             "3 WorkflowTaskStarted", "4 WorkflowTaskCompleted",
                                                             "5 WorkflowExecutionCompleted"});
}
