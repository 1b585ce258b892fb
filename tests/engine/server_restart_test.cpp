// Restarting the server on the same SQLite file (temporal-semantics.md 2, issue 2 "Timers" and
// "Matching"): the tasks and timers a run was waiting for come back from the file alone. A task
// that was never polled is handed out after the restart; a timer that was due fires once, and a
// further restart does not fire it again. (tests/crash/crash_test.cpp does the same under SIGKILL
// and load; this is the deterministic version.) Engine code: engine/history_engine.cpp start().
#include "test_server.h"

using namespace reprise::testing;
using Lines = std::vector<std::string>;

TEST_CASE("tasks and timers pending at shutdown come back when the server restarts on the same file",
          "[server][restart]") {
  TestServerOptions options;
  options.sqlite = true;
  TestServer s(options);
  RawWorker w(s, "restart");
  w.start_and_complete_first_task("wf-restart", {start_timer("1", 10s), schedule_activity("1", "work", 3600s)});
  w.start("wf-unpolled");  // its first workflow task waits in the queue

  s.restart();
  // The activity task and the other workflow's first task were only in the store.
  auto at = w.next_activity_task();
  CHECK(at.workflow_execution().workflow_id() == "wf-restart");
  auto wt = w.next_workflow_task();
  CHECK(wt.workflow_execution().workflow_id() == "wf-unpolled");
  REQUIRE(w.complete_workflow_task(wt.task_token(), {complete_workflow("\"ok\"")}).ok());

  // The timer, due after the restart, fires once.
  s.clock.advance(10s);
  auto events = wait_for_history(s, "wf-restart", 8);
  CHECK(event_lines(events) == Lines{"1 WorkflowExecutionStarted", "2 WorkflowTaskScheduled", "3 WorkflowTaskStarted",
                                     "4 WorkflowTaskCompleted", "5 TimerStarted", "6 ActivityTaskScheduled",
                                     "7 TimerFired", "8 WorkflowTaskScheduled"});
  CHECK(timer_rows(s, reprise::history::TimerKind::UserTimer).empty());

  // Another restart, later still: nothing fires twice, and the activity polled before the first
  // restart can still complete with its task token.
  s.restart();
  s.clock.advance(60s);
  REQUIRE(w.complete_activity(at.task_token(), "\"worked\"").ok());
  auto after = history_lines(s, "wf-restart");
  CHECK(std::count(after.begin(), after.end(), "7 TimerFired") == 1);
  CHECK(std::count_if(after.begin(), after.end(), [](auto& l) { return l.ends_with("TimerFired"); }) == 1);
  CHECK(after.back() == "10 ActivityTaskCompleted");
}
