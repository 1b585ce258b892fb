// reprise::Client against a real (in-process) server: starting, typed errors, results that wait
// for the close event, and the failure of a workflow surfacing as WorkflowFailedError.
// Library code: client/client.cpp.
#include "reprise/client.h"

#include <future>

#include "test_server.h"

using namespace reprise::testing;

TEST_CASE("the client starts a workflow and its result waits until a worker completes it", "[client]") {
  TestServer s;
  reprise::Client client({.address = s.server->address()});
  auto handle = client.start_workflow("greet", {.id = "wf-client", .task_queue = "q"}, reprise::json_payloads({"Ada"}));
  CHECK(!handle.run_id.empty());

  auto result = std::async(std::launch::async, [&] { return handle.result_json(std::chrono::seconds(20)); });
  RawWorker w(s, "q");
  auto wt = w.next_workflow_task();
  CHECK(wt.history().events(0).workflow_execution_started_event_attributes().input().payloads(0).data() == "\"Ada\"");
  REQUIRE(w.complete_workflow_task(wt.task_token(), {complete_workflow("\"Hello, Ada\"")}).ok());
  CHECK(result.get() == "Hello, Ada");
  CHECK(handle.describe().workflow_execution_info().status() == enums::WORKFLOW_EXECUTION_STATUS_COMPLETED);
  CHECK(handle.history().events_size() == 5);
}

TEST_CASE("the client reports typed errors: already started, not found, failed, terminated", "[client]") {
  TestServer s;
  reprise::Client client({.address = s.server->address()});
  auto handle = client.start_workflow("greet", {.id = "wf-typed", .task_queue = "q"});

  try {
    client.start_workflow("greet", {.id = "wf-typed", .task_queue = "q"});
    FAIL("a second start of a running id must fail");
  } catch (const reprise::WorkflowAlreadyStartedError& e) {
    CHECK(e.run_id == handle.run_id);
  }
  CHECK_THROWS_AS(client.describe("no-such-workflow"), reprise::WorkflowNotFoundError);

  // A worker fails the workflow: result() throws with the failure the worker sent.
  RawWorker w(s, "q");
  auto wt = w.next_workflow_task();
  Command fail;
  fail.set_command_type(enums::COMMAND_TYPE_FAIL_WORKFLOW_EXECUTION);
  fail.mutable_fail_workflow_execution_command_attributes()->mutable_failure()->set_message("boom");
  REQUIRE(w.complete_workflow_task(wt.task_token(), {fail}).ok());
  try {
    handle.result(std::chrono::seconds(10));
    FAIL("result() of a failed workflow must throw");
  } catch (const reprise::WorkflowFailedError& e) {
    CHECK(e.status == enums::WORKFLOW_EXECUTION_STATUS_FAILED);
    CHECK(e.failure.message() == "boom");
  }

  auto second = client.start_workflow("greet", {.id = "wf-terminated", .task_queue = "q"});
  second.terminate("enough");
  try {
    second.result(std::chrono::seconds(10));
    FAIL("result() of a terminated workflow must throw");
  } catch (const reprise::WorkflowFailedError& e) {
    CHECK(e.status == enums::WORKFLOW_EXECUTION_STATUS_TERMINATED);
    CHECK(std::string(e.what()).find("enough") != std::string::npos);
  }
}

TEST_CASE("the client says the server is unreachable instead of a bare gRPC code", "[client]") {
  reprise::Client client({.address = "127.0.0.1:1", .rpc_timeout = std::chrono::seconds(2)});
  try {
    client.list();
    FAIL("listing against no server must fail");
  } catch (const reprise::ServiceError& e) {
    CHECK(std::string(e.what()).find("not reachable") != std::string::npos);
  }
}

TEST_CASE("result() follows a workflow that continued as new to the result of its last run", "[client]") {
  TestServer s;
  reprise::Client client({.address = s.server->address()});
  auto handle = client.start_workflow("count", {.id = "wf-chain", .task_queue = "q"}, reprise::json_payloads({0}));
  auto result = std::async(std::launch::async, [&] { return handle.result_json(std::chrono::seconds(20)); });

  // Runs 1 and 2 continue as new with the next count; run 3 completes with it.
  RawWorker w(s, "q");
  std::string last_run;
  for (int count = 0; count < 3; ++count) {
    auto wt = w.next_workflow_task();
    const auto& input = wt.history().events(0).workflow_execution_started_event_attributes().input();
    REQUIRE(input.payloads(0).data() == std::to_string(count));
    Command next;
    if (count < 2) {
      next.set_command_type(enums::COMMAND_TYPE_CONTINUE_AS_NEW_WORKFLOW_EXECUTION);
      *next.mutable_continue_as_new_workflow_execution_command_attributes()->mutable_input() =
          reprise::json_payloads({count + 1});
    } else {
      next = complete_workflow("\"counted to 2\"");
    }
    REQUIRE(w.complete_workflow_task(wt.task_token(), {next}).ok());
    last_run = wt.workflow_execution().run_id();
  }
  CHECK(result.get() == "counted to 2");
  CHECK(last_run != handle.run_id);
  CHECK(client.describe("wf-chain").workflow_execution_info().execution().run_id() == last_run);
}

TEST_CASE("result() of a workflow that runs past its run timeout throws a typed timed-out error", "[client]") {
  TestServer s;
  reprise::Client client({.address = s.server->address()});
  auto handle =
      client.start_workflow("slow", {.id = "wf-late", .task_queue = "q", .run_timeout = std::chrono::seconds(30)});
  s.clock.advance(std::chrono::seconds(31));  // nobody worked on it: the server's run timeout fires
  try {
    handle.result(std::chrono::seconds(10));
    FAIL("result() of a timed-out workflow must throw");
  } catch (const reprise::WorkflowFailedError& e) {
    CHECK(e.status == enums::WORKFLOW_EXECUTION_STATUS_TIMED_OUT);
    CHECK_THAT(e.what(), Catch::Contains("timed out"));
  }
  CHECK(history_lines(s, "wf-late").back() == "3 WorkflowExecutionTimedOut");
}

TEST_CASE("start_workflow_async and result_async report on gRPC's threads, with the same typed errors", "[client]") {
  TestServer s;
  reprise::Client client({.address = s.server->address()});
  // Each step starts the next from the completion of the one before: no thread waits meanwhile.
  std::promise<reprise::Outcome<reprise::Payloads>> result;
  std::promise<reprise::Outcome<reprise::WorkflowHandle>> second_start;
  client.start_workflow_async(
      "greet", {.id = "wf-async", .task_queue = "q"}, reprise::json_payloads({"Ada"}),
      [&](reprise::Outcome<reprise::WorkflowHandle> started) {
        if (started.error) return result.set_value({std::nullopt, started.error});
        started.get().result_async([&](reprise::Outcome<reprise::Payloads> o) { result.set_value(std::move(o)); });
        // The same id again while it runs: refused, as by start_workflow.
        client.start_workflow_async(
            "greet", {.id = "wf-async", .task_queue = "q"}, {},
            [&](reprise::Outcome<reprise::WorkflowHandle> o) { second_start.set_value(std::move(o)); });
      });
  auto again = second_start.get_future().get();
  CHECK_THROWS_AS(again.get(), reprise::WorkflowAlreadyStartedError);

  RawWorker w(s, "q");
  auto wt = w.next_workflow_task();
  REQUIRE(w.complete_workflow_task(wt.task_token(), {complete_workflow("\"Hello, Ada\"")}).ok());
  auto done = result.get_future().get();
  REQUIRE_FALSE(done.error);
  CHECK(reprise::payload_json(done.get().payloads(0)) == "Hello, Ada");

  // A failed workflow: the outcome holds the WorkflowFailedError result() would have thrown.
  auto failing = client.start_workflow("greet", {.id = "wf-async-failed", .task_queue = "q"});
  std::promise<reprise::Outcome<reprise::Payloads>> failed;
  failing.result_async([&](reprise::Outcome<reprise::Payloads> o) { failed.set_value(std::move(o)); });
  auto wt2 = w.next_workflow_task();
  Command fail;
  fail.set_command_type(enums::COMMAND_TYPE_FAIL_WORKFLOW_EXECUTION);
  fail.mutable_fail_workflow_execution_command_attributes()->mutable_failure()->set_message("boom");
  REQUIRE(w.complete_workflow_task(wt2.task_token(), {fail}).ok());
  auto outcome = failed.get_future().get();
  try {
    outcome.get();
    FAIL("the outcome of a failed workflow must hold its failure");
  } catch (const reprise::WorkflowFailedError& e) {
    CHECK(e.status == enums::WORKFLOW_EXECUTION_STATUS_FAILED);
    CHECK(e.failure.message() == "boom");
  }
}
