// Eager activity execution: a worker completing a workflow task asks (request_eager_execution) to
// run an activity it just scheduled itself; the attempt starts in the same commit and its task comes
// back in the RespondWorkflowTaskCompleted response, with nothing in the activity queue. History is
// the same as for a polled activity. Engine code: engine/commands.cpp (ScheduleActivityTask),
// engine/workflow_tasks.cpp (the response), engine/activities.cpp (start_activity_attempt).
#include "test_server.h"

using namespace reprise::testing;
using Lines = std::vector<std::string>;

namespace {

Command eager_activity(const std::string& activity_id, const std::string& type, const std::string& task_queue = {}) {
  return schedule_activity(activity_id, type, 10s, [&](auto& a) {
    a.set_request_eager_execution(true);
    if (!task_queue.empty()) a.mutable_task_queue()->set_name(task_queue);
    auto* p = a.mutable_input()->add_payloads();
    (*p->mutable_metadata())["encoding"] = "json/plain";
    p->set_data("\"Reprise\"");
  });
}

// Starts a workflow and answers its first task with `commands`; returns the response.
ws::RespondWorkflowTaskCompletedResponse complete_first_task(RawWorker& w, const std::string& workflow_id,
                                                             std::vector<Command> commands) {
  ws::RespondWorkflowTaskCompletedResponse resp;
  w.start_and_complete_first_task(workflow_id, std::move(commands), &resp);
  return resp;
}

}  // namespace

TEST_CASE("an eager activity starts in the workflow task's commit and its task comes back in the response",
          "[server][activity][eager]") {
  const bool sqlite = GENERATE(false, true);
  INFO("store: " << (sqlite ? "sqlite" : "memory"));
  TestServer s(TestServerOptions{.sqlite = sqlite});
  RawWorker w(s, "eager", "eager-worker");
  auto resp = complete_first_task(w, "wf-eager", {eager_activity("1", "compose_greeting")});

  REQUIRE(resp.activity_tasks_size() == 1);
  const auto& at = resp.activity_tasks(0);
  CHECK(at.activity_id() == "1");
  CHECK(at.activity_type().name() == "compose_greeting");
  CHECK(at.attempt() == 1);
  CHECK(at.workflow_execution().workflow_id() == "wf-eager");
  CHECK(at.workflow_type().name() == "TestWorkflow");
  REQUIRE(at.input().payloads_size() == 1);
  CHECK(at.input().payloads(0).data() == "\"Reprise\"");
  CHECK(at.start_to_close_timeout().seconds() == 10);
  CHECK(at.has_started_time());

  // Nothing went to the queue: a poller finds no task for it.
  CHECK(w.poll_activity_task({}, kShortPoll).task_token().empty());
  auto pending = describe(s, "wf-eager").pending_activities();
  REQUIRE(pending.size() == 1);
  CHECK(pending[0].state() == enums::PENDING_ACTIVITY_STATE_STARTED);

  REQUIRE(w.complete_activity(at.task_token(), "\"Hello, Reprise\"").ok());
  auto wt = w.next_workflow_task();
  REQUIRE(w.complete_workflow_task(wt.task_token(), {complete_workflow("\"Hello, Reprise\"")}).ok());

  auto events = history_of(s, "wf-eager");
  CHECK(event_lines(events) == Lines{"1 WorkflowExecutionStarted", "2 WorkflowTaskScheduled", "3 WorkflowTaskStarted",
                                     "4 WorkflowTaskCompleted", "5 ActivityTaskScheduled", "6 ActivityTaskStarted",
                                     "7 ActivityTaskCompleted", "8 WorkflowTaskScheduled", "9 WorkflowTaskStarted",
                                     "10 WorkflowTaskCompleted", "11 WorkflowExecutionCompleted"});
  CHECK(events[5].activity_task_started_event_attributes().identity() == "eager-worker");
  CHECK(events[5].activity_task_started_event_attributes().attempt() == 1);
}

TEST_CASE("eager execution is not granted for another task queue, unasked, or when the server turns it off",
          "[server][activity][eager]") {
  SECTION("another task queue: other workers may serve it, so it is queued") {
    TestServer s;
    RawWorker w(s, "eager");
    auto resp = complete_first_task(w, "wf-other-queue", {eager_activity("1", "a", "elsewhere")});
    CHECK(resp.activity_tasks_size() == 0);
    CHECK(w.next_activity_task("elsewhere").activity_id() == "1");
  }
  SECTION("not requested") {
    TestServer s;
    RawWorker w(s, "eager");
    auto resp = complete_first_task(w, "wf-unasked", {schedule_activity("1", "a")});
    CHECK(resp.activity_tasks_size() == 0);
    CHECK(w.next_activity_task().activity_id() == "1");
  }
  SECTION("turned off in EngineOptions") {
    TestServerOptions options;
    options.engine.eager_activity_execution = false;
    TestServer s(options);
    RawWorker w(s, "eager");
    auto resp = complete_first_task(w, "wf-off", {eager_activity("1", "a")});
    CHECK(resp.activity_tasks_size() == 0);
    CHECK(w.next_activity_task().activity_id() == "1");
  }
  SECTION("the same completion closes the workflow: no task for a closed run") {
    TestServer s;
    RawWorker w(s, "eager");
    auto resp = complete_first_task(w, "wf-closing", {eager_activity("1", "a"), complete_workflow("\"done\"")});
    CHECK(resp.activity_tasks_size() == 0);
  }
}

TEST_CASE("several eager activities of one workflow task come back in command order", "[server][activity][eager]") {
  TestServer s;
  RawWorker w(s, "eager");
  auto resp = complete_first_task(w, "wf-fan",
                                  {eager_activity("a", "t"), schedule_activity("b", "t"), eager_activity("c", "t")});
  REQUIRE(resp.activity_tasks_size() == 2);
  CHECK(resp.activity_tasks(0).activity_id() == "a");
  CHECK(resp.activity_tasks(1).activity_id() == "c");
  CHECK(w.next_activity_task().activity_id() == "b");  // not asked for: queued
  REQUIRE(w.complete_activity(resp.activity_tasks(1).task_token(), "1").ok());
  REQUIRE(w.complete_activity(resp.activity_tasks(0).task_token(), "2").ok());
  CHECK(describe(s, "wf-fan").pending_activities_size() == 1);
}

TEST_CASE("an eager attempt the worker loses, even across a restart, times out and is retried through the queue",
          "[server][activity][eager][timeout]") {
  TestServer s(TestServerOptions{.sqlite = true});
  RawWorker w(s, "eager");
  auto resp = complete_first_task(w, "wf-lost", {eager_activity("1", "a")});
  REQUIRE(resp.activity_tasks_size() == 1);

  s.restart();           // the worker that held the task is gone too; only the file remembers the attempt
  s.clock.advance(10s);  // start-to-close
  REQUIRE(eventually([&] {
    auto d = describe(s, "wf-lost");
    return d.pending_activities_size() == 1 && d.pending_activities(0).attempt() == 2;
  }));
  s.clock.advance(1s);  // retry backoff
  auto retry = w.next_activity_task();
  CHECK(retry.attempt() == 2);
  CHECK(retry.input().payloads(0).data() == "\"Reprise\"");
  // The lost attempt's task token is stale now.
  CHECK(w.complete_activity(resp.activity_tasks(0).task_token(), "\"late\"").error_code() ==
        grpc::StatusCode::NOT_FOUND);
  REQUIRE(w.complete_activity(retry.task_token(), "\"done\"").ok());
  auto events = history_of(s, "wf-lost");
  REQUIRE(events.size() == 8);
  CHECK(events[5].activity_task_started_event_attributes().attempt() == 2);
  CHECK(events[5].activity_task_started_event_attributes().last_failure().message() == "activity StartToClose timeout");
}
