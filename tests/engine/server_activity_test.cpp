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
