// Workflow task timeouts, failures and transient attempts (temporal-semantics.md 1.12, 7.4).
// A started workflow task that is not answered within its start-to-close timeout writes
// WorkflowTaskTimedOut; the next attempt (2) is transient: its Scheduled/Started events are not
// written but are appended to the poll response; transient attempts that fail or time out write
// nothing; when one completes, its Scheduled{attempt N} + Started are written before Completed.
// New events (a signal) turn a waiting transient attempt into a normal attempt-1 task.
// Engine code: engine/workflow_tasks.cpp.
#include "test_server.h"

using namespace reprise::testing;
using Lines = std::vector<std::string>;

namespace {

void five_second_task_timeout(ws::StartWorkflowExecutionRequest& req) {
  req.mutable_workflow_task_timeout()->set_seconds(5);
}

const Lines kTimedOut{"1 WorkflowExecutionStarted", "2 WorkflowTaskScheduled", "3 WorkflowTaskStarted",
                      "4 WorkflowTaskTimedOut"};

// Starts a workflow whose first workflow task is picked up and then times out (events 1-4).
void start_and_time_out_first_task(TestServer& s, RawWorker& w, const std::string& workflow_id) {
  w.start(workflow_id, "TestWorkflow", five_second_task_timeout);
  auto first = w.next_workflow_task();
  REQUIRE(first.attempt() == 1);
  s.clock.advance(5s);
  auto events = wait_for_history(s, workflow_id, 4);
  REQUIRE(event_lines(events) == kTimedOut);
  const auto& timed_out = events[3].workflow_task_timed_out_event_attributes();
  CHECK(timed_out.scheduled_event_id() == 2);
  CHECK(timed_out.started_event_id() == 3);
  CHECK(timed_out.timeout_type() == enums::TIMEOUT_TYPE_START_TO_CLOSE);
}

// The synthesized tail of a transient attempt's poll response: Scheduled{attempt} + Started.
void check_transient_tail(const ws::PollWorkflowTaskQueueResponse& wt, int attempt) {
  const auto& h = wt.history();
  REQUIRE(h.events_size() == 6);
  CHECK(event_lines({h.events().begin(), h.events().end()}) ==
        Lines{"1 WorkflowExecutionStarted", "2 WorkflowTaskScheduled", "3 WorkflowTaskStarted",
              "4 WorkflowTaskTimedOut", "5 WorkflowTaskScheduled", "6 WorkflowTaskStarted"});
  CHECK(h.events(4).workflow_task_scheduled_event_attributes().attempt() == attempt);
  CHECK(h.events(4).workflow_task_scheduled_event_attributes().start_to_close_timeout().seconds() == 5);
  CHECK(h.events(5).workflow_task_started_event_attributes().scheduled_event_id() == 5);
  CHECK(h.events(5).workflow_task_started_event_attributes().identity() == "raw-worker");
  CHECK(wt.attempt() == attempt);
  CHECK(wt.started_event_id() == 6);
}

}  // namespace

TEST_CASE("a workflow task that times out is retried as transient attempts that write nothing until one completes",
          "[server][workflow-task]") {
  TestServer s;
  RawWorker w(s, "wft");
  start_and_time_out_first_task(s, w, "wf-wft-timeout");

  auto second = w.next_workflow_task();
  check_transient_tail(second, 2);
  CHECK(history_lines(s, "wf-wft-timeout") == kTimedOut);

  // A failure reported for a transient attempt writes nothing either.
  REQUIRE(w.fail_workflow_task(second.task_token(), enums::WORKFLOW_TASK_FAILED_CAUSE_WORKFLOW_WORKER_UNHANDLED_FAILURE,
                               "still broken")
              .ok());
  CHECK(history_lines(s, "wf-wft-timeout") == kTimedOut);

  auto third = w.next_workflow_task();
  check_transient_tail(third, 3);
  REQUIRE(w.complete_workflow_task(third.task_token(), {complete_workflow("\"fixed\"")}).ok());

  auto events = history_of(s, "wf-wft-timeout");
  CHECK(event_lines(events) == Lines{"1 WorkflowExecutionStarted", "2 WorkflowTaskScheduled", "3 WorkflowTaskStarted",
                                     "4 WorkflowTaskTimedOut", "5 WorkflowTaskScheduled", "6 WorkflowTaskStarted",
                                     "7 WorkflowTaskCompleted", "8 WorkflowExecutionCompleted"});
  CHECK(events[4].workflow_task_scheduled_event_attributes().attempt() == 3);
  CHECK(events[5].workflow_task_started_event_attributes().scheduled_event_id() == 5);
  CHECK(events[6].workflow_task_completed_event_attributes().scheduled_event_id() == 5);
  CHECK(events[6].workflow_task_completed_event_attributes().started_event_id() == 6);
  CHECK(events[7].workflow_execution_completed_event_attributes().workflow_task_completed_event_id() == 7);
}

TEST_CASE("a transient attempt that times out writes nothing", "[server][workflow-task]") {
  TestServer s;
  RawWorker w(s, "wft");
  start_and_time_out_first_task(s, w, "wf-wft-transient-timeout");
  auto second = w.next_workflow_task();
  CHECK(second.attempt() == 2);
  s.clock.advance(5s);
  auto third = w.next_workflow_task();  // arrives once attempt 2 has timed out
  check_transient_tail(third, 3);
  CHECK(history_lines(s, "wf-wft-transient-timeout") == kTimedOut);

  // The timed-out attempt's token is stale now.
  auto late = w.complete_workflow_task(second.task_token(), {complete_workflow("\"late\"")});
  CHECK(late.error_code() == grpc::StatusCode::NOT_FOUND);
}

TEST_CASE("a signal turns a waiting transient workflow task into a normal attempt-1 task", "[server][workflow-task]") {
  TestServer s;
  RawWorker w(s, "wft");
  start_and_time_out_first_task(s, w, "wf-wft-signal");

  // Attempt 2 is waiting (nobody polled it yet) when the signal arrives.
  REQUIRE(send_signal(s, "wf-wft-signal", "wake").ok());
  auto events = history_of(s, "wf-wft-signal");
  CHECK(event_lines(events) == Lines{"1 WorkflowExecutionStarted", "2 WorkflowTaskScheduled", "3 WorkflowTaskStarted",
                                     "4 WorkflowTaskTimedOut", "5 WorkflowExecutionSignaled",
                                     "6 WorkflowTaskScheduled"});
  CHECK(events[5].workflow_task_scheduled_event_attributes().attempt() == 1);

  auto wt = w.next_workflow_task();
  CHECK(wt.attempt() == 1);
  CHECK(wt.started_event_id() == 7);
  CHECK(wt.history().events_size() == 7);
  REQUIRE(w.complete_workflow_task(wt.task_token(), {complete_workflow("\"ok\"")}).ok());
  CHECK(history_lines(s, "wf-wft-signal").back() == "9 WorkflowExecutionCompleted");
}

TEST_CASE("a workflow task failed by the worker writes WorkflowTaskFailed once and retries transiently",
          "[server][workflow-task]") {
  TestServer s;
  RawWorker w(s, "wft");
  w.start("wf-wft-failed");
  auto first = w.next_workflow_task();
  REQUIRE(w.fail_workflow_task(first.task_token(), enums::WORKFLOW_TASK_FAILED_CAUSE_NON_DETERMINISTIC_ERROR,
                               "[TMPRL1100] Nondeterminism error: boom")
              .ok());

  auto events = history_of(s, "wf-wft-failed");
  CHECK(event_lines(events) == Lines{"1 WorkflowExecutionStarted", "2 WorkflowTaskScheduled", "3 WorkflowTaskStarted",
                                     "4 WorkflowTaskFailed"});
  const auto& failed = events[3].workflow_task_failed_event_attributes();
  CHECK(failed.scheduled_event_id() == 2);
  CHECK(failed.started_event_id() == 3);
  CHECK(failed.cause() == enums::WORKFLOW_TASK_FAILED_CAUSE_NON_DETERMINISTIC_ERROR);
  CHECK(failed.failure().message() == "[TMPRL1100] Nondeterminism error: boom");
  CHECK(failed.identity() == "raw-worker");

  auto second = w.next_workflow_task();
  CHECK(second.attempt() == 2);
  CHECK(second.history().events_size() == 6);
  CHECK(history_lines(s, "wf-wft-failed").size() == 4);
}

TEST_CASE("from attempt 4 a workflow task's start-to-close grows: 5 s more, doubling, its last fifth random",
          "[server][workflow-task]") {
  TestServer s;
  RawWorker w(s, "wft");
  w.start("wf-wft-backoff", "TestWorkflow", five_second_task_timeout);
  std::vector<int64_t> timeout_ms;  // of attempts 1, 2, ...
  for (int attempt = 1; attempt <= 6; ++attempt) {
    auto wt = w.next_workflow_task();
    REQUIRE(wt.attempt() == attempt);
    // The last WorkflowTaskScheduled of the response is this attempt's (synthesized when transient).
    const auto& events = wt.history().events();
    const auto& scheduled = events[events.size() - 2];
    REQUIRE(scheduled.event_type() == enums::EVENT_TYPE_WORKFLOW_TASK_SCHEDULED);
    timeout_ms.push_back(reprise::engine::ms_from_duration(
        scheduled.workflow_task_scheduled_event_attributes().start_to_close_timeout()));
    REQUIRE(w.fail_workflow_task(wt.task_token(), enums::WORKFLOW_TASK_FAILED_CAUSE_WORKFLOW_WORKER_UNHANDLED_FAILURE,
                                 "boom")
                .ok());
  }
  INFO(::Catch::Detail::stringify(timeout_ms));
  CHECK(timeout_ms[0] == 5000);
  CHECK(timeout_ms[1] == 5000);
  CHECK(timeout_ms[2] == 5000);
  for (int attempt = 4; attempt <= 6; ++attempt) {  // 5 s, 10 s, 20 s more, each less up to a fifth
    const int64_t delay = 5000LL << (attempt - 4);
    CHECK(timeout_ms[attempt - 1] >= 5000 + delay - delay / 5);
    CHECK(timeout_ms[attempt - 1] < 5000 + delay);
  }
  // The started attempt is not timed out at the task timeout's pace: when the row armed for the
  // first attempt's 5 s fires, it arms the later deadline and the attempt stays the worker's.
  auto wt = w.next_workflow_task();
  REQUIRE(wt.attempt() == 7);
  s.clock.advance(6s);
  constexpr int64_t kT0Ms = 1'700'000'000'000;  // ManualClock's starting time
  REQUIRE(eventually([&] {
    auto rows = timer_rows(s, reprise::history::TimerKind::WorkflowTaskStartToClose);
    return rows.size() == 1 && rows[0].fire_time_ms >= kT0Ms + 5000 + 40000 - 8000;
  }));
  CHECK(describe(s, "wf-wft-backoff").pending_workflow_task().attempt() == 7);
  CHECK(describe(s, "wf-wft-backoff").pending_workflow_task().state() == enums::PENDING_WORKFLOW_TASK_STATE_STARTED);
}

TEST_CASE("a refused completion of a transient attempt changes nothing and is answered INVALID_ARGUMENT",
          "[server][workflow-task]") {
  // A bad command, or one Reprise does not support yet (which must not spin: each refusal would
  // otherwise schedule the next attempt at once and the worker replay again right away).
  Command unsupported;
  unsupported.set_command_type(enums::COMMAND_TYPE_START_CHILD_WORKFLOW_EXECUTION);
  unsupported.mutable_start_child_workflow_execution_command_attributes()->set_workflow_id("child");
  auto [command, refusal] = GENERATE_COPY(
      std::make_pair(cancel_timer("no-such-timer"), std::string("BadCancelTimerAttributes: no pending timer has id "
                                                                "no-such-timer")),
      std::make_pair(unsupported, std::string("UnhandledCommand: command COMMAND_TYPE_START_CHILD_WORKFLOW_EXECUTION "
                                              "is not supported by Reprise yet")));
  TestServer s;
  RawWorker w(s, "wft");
  start_and_time_out_first_task(s, w, "wf-wft-bad-transient");
  auto second = w.next_workflow_task();
  auto st = w.complete_workflow_task(second.task_token(), {command});
  CHECK(st.error_code() == grpc::StatusCode::INVALID_ARGUMENT);
  CHECK(st.error_message() == refusal);
  CHECK(history_lines(s, "wf-wft-bad-transient") == kTimedOut);
  // Attempt 2 is still the worker's: it ends by its timeout, as in Temporal, not by a new attempt.
  CHECK(describe(s, "wf-wft-bad-transient").pending_workflow_task().attempt() == 2);
  CHECK(describe(s, "wf-wft-bad-transient").pending_workflow_task().state() ==
        enums::PENDING_WORKFLOW_TASK_STATE_STARTED);
}

TEST_CASE("workflow tasks one after another share one start-to-close row, and a later one still times out",
          "[server][workflow-task][shared-row]") {
  using reprise::history::TimerKind;
  constexpr int64_t kT0Ms = 1'700'000'000'000;  // ManualClock's starting time
  TestServer s;
  RawWorker w(s, "wft");
  w.start("wf-wft-shared-row", "TestWorkflow", five_second_task_timeout);
  auto first = w.next_workflow_task();  // at T0: its row fires at T0 + 5 s
  REQUIRE(w.complete_workflow_task(first.task_token(), {start_timer("nap", 2s)}).ok());
  s.clock.advance(2s);
  auto second = w.next_workflow_task();  // at T0 + 2 s: due at T0 + 7 s, which the first row covers
  REQUIRE(second.started_event_id() == 8);

  REQUIRE(only_timer_row_becomes(s, TimerKind::WorkflowTaskStartToClose, kT0Ms + 5'000));
  const Lines before = history_lines(s, "wf-wft-shared-row");

  // The first row fires for a completed task: no timeout, but a row for the second's deadline.
  s.clock.advance(3s);
  REQUIRE(only_timer_row_becomes(s, TimerKind::WorkflowTaskStartToClose, kT0Ms + 7'000));
  CHECK(history_lines(s, "wf-wft-shared-row") == before);

  s.clock.advance(2s);
  auto retry = w.next_workflow_task();
  CHECK(retry.attempt() == 2);
  auto events = history_of(s, "wf-wft-shared-row");
  REQUIRE(events.size() == 9);
  CHECK(event_lines(events).back() == "9 WorkflowTaskTimedOut");
  CHECK(events[8].workflow_task_timed_out_event_attributes().started_event_id() == 8);
  CHECK(w.complete_workflow_task(second.task_token(), {}).error_code() == grpc::StatusCode::NOT_FOUND);
}
