// The simplest whole workflow: one activity, then complete (temporal-semantics.md 1.1), on both
// stores. Retries are in server_activity_retry_test.cpp, timeouts, heartbeats and cancellation in
// server_activity_timeout_test.cpp. Engine code: engine/activities.cpp, engine/commands.cpp.
#include "test_server.h"

using namespace reprise::testing;
using Lines = std::vector<std::string>;

TEST_CASE("a workflow that runs one activity and completes has Temporal's event sequence", "[server][activity]") {
  const bool sqlite = GENERATE(false, true);
  INFO("store: " << (sqlite ? "sqlite" : "memory"));
  TestServer s(TestServerOptions{.sqlite = sqlite});
  RawWorker w(s, "hello");
  w.start("wf-one-activity");

  auto wt = w.next_workflow_task();
  REQUIRE(wt.started_event_id() == 3);
  REQUIRE(wt.history().events_size() == 3);
  REQUIRE(w.complete_workflow_task(wt.task_token(), {schedule_activity("1", "compose_greeting")}).ok());

  auto at = w.next_activity_task();
  REQUIRE(at.activity_id() == "1");
  REQUIRE(at.activity_type().name() == "compose_greeting");
  REQUIRE(at.attempt() == 1);
  REQUIRE(w.complete_activity(at.task_token(), "\"Hello, Reprise\"").ok());

  wt = w.next_workflow_task();
  REQUIRE(wt.previous_started_event_id() == 3);
  REQUIRE(w.complete_workflow_task(wt.task_token(), {complete_workflow("\"Hello, Reprise\"")}).ok());

  auto events = history_of(s, "wf-one-activity");
  CHECK(event_lines(events) == Lines{"1 WorkflowExecutionStarted", "2 WorkflowTaskScheduled", "3 WorkflowTaskStarted",
                                     "4 WorkflowTaskCompleted", "5 ActivityTaskScheduled", "6 ActivityTaskStarted",
                                     "7 ActivityTaskCompleted", "8 WorkflowTaskScheduled", "9 WorkflowTaskStarted",
                                     "10 WorkflowTaskCompleted", "11 WorkflowExecutionCompleted"});
  const auto& scheduled = events[4].activity_task_scheduled_event_attributes();
  CHECK(scheduled.workflow_task_completed_event_id() == 4);
  CHECK(scheduled.retry_policy().initial_interval().seconds() == 1);
  CHECK(scheduled.retry_policy().backoff_coefficient() == 2.0);
  CHECK(scheduled.retry_policy().maximum_interval().seconds() == 100);
  CHECK(events[5].activity_task_started_event_attributes().scheduled_event_id() == 5);
  CHECK(events[5].activity_task_started_event_attributes().attempt() == 1);
  CHECK(events[6].activity_task_completed_event_attributes().started_event_id() == 6);
  CHECK(events[6].activity_task_completed_event_attributes().result().payloads(0).data() == "\"Hello, Reprise\"");
  CHECK(events[10].workflow_execution_completed_event_attributes().workflow_task_completed_event_id() == 10);
}

TEST_CASE("activity timeouts are normalised into ActivityTaskScheduled as Temporal does", "[server][activity]") {
  TestServer s;
  RawWorker w(s, "hello");
  w.start("wf-normalise", "TestWorkflow", [](auto& req) { req.mutable_workflow_run_timeout()->set_seconds(60); });
  auto wt = w.next_workflow_task();
  REQUIRE(w.complete_workflow_task(
               wt.task_token(),
               {// Only start-to-close: the others come from the run timeout.
                schedule_activity("only-stc", "a", 10s),
                // Only schedule-to-close: it fills the others; the heartbeat is capped at start-to-close.
                schedule_activity("only-s2c", "a", 0s,
                                  [](auto& a) {
                                    a.clear_start_to_close_timeout();
                                    a.mutable_schedule_to_close_timeout()->set_seconds(30);
                                    a.mutable_heartbeat_timeout()->set_seconds(45);
                                  }),
                // Longer than the run: capped at the run timeout.
                schedule_activity("too-long", "a", 100s)})
              .ok());

  auto events = history_of(s, "wf-normalise");
  REQUIRE(event_lines(events) == Lines{"1 WorkflowExecutionStarted", "2 WorkflowTaskScheduled", "3 WorkflowTaskStarted",
                                       "4 WorkflowTaskCompleted", "5 ActivityTaskScheduled", "6 ActivityTaskScheduled",
                                       "7 ActivityTaskScheduled"});
  auto timeouts = [&](int index) {
    const auto& a = events[index].activity_task_scheduled_event_attributes();
    REQUIRE(a.has_heartbeat_timeout());  // unset ones are written as "0s", not left out
    return std::vector<int64_t>{a.schedule_to_close_timeout().seconds(), a.schedule_to_start_timeout().seconds(),
                                a.start_to_close_timeout().seconds(), a.heartbeat_timeout().seconds()};
  };
  //                                  s2c, s2s, stc, heartbeat
  CHECK(timeouts(4) == std::vector<int64_t>{60, 60, 10, 0});
  CHECK(timeouts(5) == std::vector<int64_t>{30, 30, 30, 30});
  CHECK(timeouts(6) == std::vector<int64_t>{60, 60, 60, 0});
  const auto& first = events[4].activity_task_scheduled_event_attributes();
  CHECK(first.task_queue().name() == "hello");  // the workflow's queue by default
  CHECK(first.task_queue().kind() == enums::TASK_QUEUE_KIND_NORMAL);
  CHECK(first.retry_policy().maximum_attempts() == 0);
}

TEST_CASE("a workflow's and an activity's priority are recorded as sent and reach the activity's worker",
          "[server][activity]") {
  TestServer s;
  RawWorker w(s, "hello");
  w.start("wf-priority", "TestWorkflow",
          [](ws::StartWorkflowExecutionRequest& r) { r.mutable_priority()->set_priority_key(2); });
  auto wt = w.next_workflow_task();
  Command c = schedule_activity("1", "compose_greeting");
  auto* p = c.mutable_schedule_activity_task_command_attributes()->mutable_priority();
  p->set_priority_key(4);
  p->set_fairness_key("tenant-a");
  p->set_fairness_weight(1.5);
  REQUIRE(w.complete_workflow_task(wt.task_token(), {c}).ok());
  auto at = w.next_activity_task();
  CHECK(at.priority().priority_key() == 4);
  CHECK(at.priority().fairness_key() == "tenant-a");
  CHECK(at.priority().fairness_weight() == 1.5f);

  auto events = history_of(s, "wf-priority");
  CHECK(events[0].workflow_execution_started_event_attributes().priority().priority_key() == 2);
  REQUIRE(events[4].event_type() == enums::EVENT_TYPE_ACTIVITY_TASK_SCHEDULED);
  const auto& recorded = events[4].activity_task_scheduled_event_attributes().priority();
  CHECK(recorded.priority_key() == 4);
  CHECK(recorded.fairness_key() == "tenant-a");
  // None sent, none recorded.
  w.start("wf-no-priority");
  CHECK_FALSE(history_of(s, "wf-no-priority")[0].workflow_execution_started_event_attributes().has_priority());
}
