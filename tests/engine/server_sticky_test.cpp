// Sticky queues and inline workflow tasks (temporal-semantics.md 1.0, 1.13, 7.6). A worker that
// completes a workflow task with sticky_attributes gets the run's next workflow tasks on its own
// queue, with only the events it has not seen (from previous_started_event_id + 1). If nobody polls
// the sticky queue within its schedule-to-start timeout, the task times out (SCHEDULE_TO_START) and
// moves to the normal queue, whose poller gets the full history. return_new_workflow_task hands the
// next task back in the completion's response instead of through a queue. A worker that shuts down
// (ShutdownWorker naming its sticky queue) sends the run's next tasks straight to the normal queue.
// Engine code: engine/workflow_tasks.cpp.
#include "test_server.h"

using namespace reprise::testing;
using Lines = std::vector<std::string>;

namespace {

void ask_for_sticky_queue_named(ws::RespondWorkflowTaskCompletedRequest& req, const std::string& name) {
  auto* sticky = req.mutable_sticky_attributes();
  sticky->mutable_worker_task_queue()->set_name(name);
  sticky->mutable_worker_task_queue()->set_kind(enums::TASK_QUEUE_KIND_STICKY);
  sticky->mutable_worker_task_queue()->set_normal_name("sticky-tq");
  sticky->mutable_schedule_to_start_timeout()->set_seconds(5);
}

void ask_for_sticky_queue(ws::RespondWorkflowTaskCompletedRequest& req) {
  ask_for_sticky_queue_named(req, "w1-sticky");
}

std::vector<HistoryEvent> events_of(const ws::PollWorkflowTaskQueueResponse& wt) {
  return {wt.history().events().begin(), wt.history().events().end()};
}

// Starts a workflow, completes its first task asking for the sticky queue, then signals it so that a
// second task is scheduled (on the sticky queue): events 1-6.
void start_sticky_workflow(TestServer& s, RawWorker& w, const std::string& workflow_id) {
  w.start(workflow_id);
  auto first = w.next_workflow_task();
  REQUIRE(w.complete_workflow_task(first.task_token(), {}, ask_for_sticky_queue).ok());
  REQUIRE(send_signal(s, workflow_id, "next").ok());
}

}  // namespace

TEST_CASE("after a sticky completion the next workflow task goes to the sticky queue with only new events",
          "[server][sticky]") {
  const bool sqlite = GENERATE(false, true);
  INFO("store: " << (sqlite ? "sqlite" : "memory"));
  TestServer s(TestServerOptions{.sqlite = sqlite});
  RawWorker w(s, "sticky-tq");
  start_sticky_workflow(s, w, "wf-sticky");

  auto events = history_of(s, "wf-sticky");
  REQUIRE(event_lines(events) == Lines{"1 WorkflowExecutionStarted", "2 WorkflowTaskScheduled", "3 WorkflowTaskStarted",
                                       "4 WorkflowTaskCompleted", "5 WorkflowExecutionSignaled",
                                       "6 WorkflowTaskScheduled"});
  const auto& queue = events[5].workflow_task_scheduled_event_attributes().task_queue();
  CHECK(queue.name() == "w1-sticky");
  CHECK(queue.kind() == enums::TASK_QUEUE_KIND_STICKY);
  CHECK(queue.normal_name() == "sticky-tq");

  // The normal queue does not get it.
  CHECK(w.poll_workflow_task({}, false, kShortPoll).task_token().empty());

  auto wt = w.next_workflow_task("w1-sticky", /*sticky=*/true);
  CHECK(wt.previous_started_event_id() == 3);
  CHECK(wt.started_event_id() == 7);
  CHECK(event_lines(events_of(wt)) == Lines{"4 WorkflowTaskCompleted", "5 WorkflowExecutionSignaled",
                                            "6 WorkflowTaskScheduled", "7 WorkflowTaskStarted"});
  CHECK(wt.workflow_execution_task_queue().name() == "sticky-tq");
  CHECK(wt.workflow_execution_task_queue().kind() == enums::TASK_QUEUE_KIND_NORMAL);

  REQUIRE(w.complete_workflow_task(wt.task_token(), {complete_workflow("\"done\"")}, ask_for_sticky_queue).ok());
  CHECK(history_lines(s, "wf-sticky").back() == "9 WorkflowExecutionCompleted");
}

TEST_CASE("after ShutdownWorker the next workflow task skips the departed worker's sticky queue", "[server][sticky]") {
  TestServer s;
  RawWorker w(s, "sticky-tq");
  w.start("wf-sticky-shutdown");
  auto first = w.next_workflow_task();
  REQUIRE(w.complete_workflow_task(first.task_token(), {}, ask_for_sticky_queue).ok());

  ws::ShutdownWorkerRequest req;
  req.set_namespace_("default");
  req.set_sticky_task_queue("w1-sticky");
  req.set_identity("raw-worker");
  req.set_reason("graceful shutdown");
  ws::ShutdownWorkerResponse resp;
  REQUIRE(call(s, &ws::WorkflowService::Stub::ShutdownWorker, req, resp).ok());
  REQUIRE(send_signal(s, "wf-sticky-shutdown", "next").ok());

  // No schedule-to-start timeout, no WorkflowTaskTimedOut: the task is on the normal queue from the start.
  auto events = history_of(s, "wf-sticky-shutdown");
  REQUIRE(event_lines(events) == Lines{"1 WorkflowExecutionStarted", "2 WorkflowTaskScheduled", "3 WorkflowTaskStarted",
                                       "4 WorkflowTaskCompleted", "5 WorkflowExecutionSignaled",
                                       "6 WorkflowTaskScheduled"});
  CHECK(events[5].workflow_task_scheduled_event_attributes().task_queue().name() == "sticky-tq");
  CHECK(events[5].workflow_task_scheduled_event_attributes().task_queue().kind() == enums::TASK_QUEUE_KIND_NORMAL);
  auto wt = w.next_workflow_task();
  CHECK(wt.history().events_size() == 7);  // the full history, for a worker that has not seen the run
  CHECK(wt.history().events(0).event_id() == 1);

  // Another worker's sticky queue is unaffected.
  w.start("wf-sticky-other");
  auto other = w.next_workflow_task();
  REQUIRE(w.complete_workflow_task(other.task_token(), {}, [](auto& req) {
             ask_for_sticky_queue_named(req, "w2-sticky");
           }).ok());
  REQUIRE(send_signal(s, "wf-sticky-other", "next").ok());
  CHECK(history_of(s, "wf-sticky-other")[5].workflow_task_scheduled_event_attributes().task_queue().name() ==
        "w2-sticky");
}

TEST_CASE("ShutdownWorker for an unknown namespace is NOT_FOUND", "[server][sticky]") {
  TestServer s;
  ws::ShutdownWorkerRequest req;
  req.set_namespace_("nope");
  req.set_sticky_task_queue("w1-sticky");
  ws::ShutdownWorkerResponse resp;
  CHECK(call(s, &ws::WorkflowService::Stub::ShutdownWorker, req, resp).error_code() == grpc::StatusCode::NOT_FOUND);
}

TEST_CASE("a sticky workflow task nobody polls times out schedule-to-start and moves to the normal queue",
          "[server][sticky]") {
  const bool sqlite = GENERATE(false, true);
  INFO("store: " << (sqlite ? "sqlite" : "memory"));
  TestServer s(TestServerOptions{.sqlite = sqlite});
  RawWorker w(s, "sticky-tq");
  start_sticky_workflow(s, w, "wf-sticky-timeout");

  s.clock.advance(5s);
  auto events = wait_for_history(s, "wf-sticky-timeout", 8);
  CHECK(event_lines(events) == Lines{"1 WorkflowExecutionStarted", "2 WorkflowTaskScheduled", "3 WorkflowTaskStarted",
                                     "4 WorkflowTaskCompleted", "5 WorkflowExecutionSignaled",
                                     "6 WorkflowTaskScheduled", "7 WorkflowTaskTimedOut", "8 WorkflowTaskScheduled"});
  const auto& timed_out = events[6].workflow_task_timed_out_event_attributes();
  CHECK(timed_out.scheduled_event_id() == 6);
  CHECK(timed_out.started_event_id() == 0);
  CHECK(timed_out.timeout_type() == enums::TIMEOUT_TYPE_SCHEDULE_TO_START);
  const auto& scheduled = events[7].workflow_task_scheduled_event_attributes();
  CHECK(scheduled.attempt() == 1);
  CHECK(scheduled.task_queue().name() == "sticky-tq");
  CHECK(scheduled.task_queue().kind() == enums::TASK_QUEUE_KIND_NORMAL);

  auto wt = w.next_workflow_task();
  CHECK(wt.attempt() == 1);
  CHECK(wt.started_event_id() == 9);
  CHECK(wt.history().events_size() == 9);  // the full history: this worker may not have the run cached
  CHECK(wt.history().events(0).event_id() == 1);
}

TEST_CASE("return_new_workflow_task hands the next workflow task back in the completion response", "[server][sticky]") {
  TestServer s;
  RawWorker w(s, "sticky-tq");
  w.start("wf-inline");
  auto first = w.next_workflow_task();
  REQUIRE(send_signal(s, "wf-inline", "while-you-were-busy").ok());

  ws::RespondWorkflowTaskCompletedResponse resp;
  auto st = w.complete_workflow_task(
      first.task_token(), {},
      [](auto& req) {
        ask_for_sticky_queue(req);
        req.set_return_new_workflow_task(true);
      },
      &resp);
  REQUIRE(st.error_message() == "");
  REQUIRE(resp.has_workflow_task());
  const auto& inline_task = resp.workflow_task();
  CHECK_FALSE(inline_task.task_token().empty());
  CHECK(inline_task.attempt() == 1);
  CHECK(inline_task.previous_started_event_id() == 3);
  CHECK(inline_task.started_event_id() == 7);
  CHECK(event_lines(events_of(inline_task)) == Lines{"4 WorkflowTaskCompleted", "5 WorkflowExecutionSignaled",
                                                     "6 WorkflowTaskScheduled", "7 WorkflowTaskStarted"});

  auto events = history_of(s, "wf-inline");
  CHECK(event_lines(events) == Lines{"1 WorkflowExecutionStarted", "2 WorkflowTaskScheduled", "3 WorkflowTaskStarted",
                                     "4 WorkflowTaskCompleted", "5 WorkflowExecutionSignaled",
                                     "6 WorkflowTaskScheduled", "7 WorkflowTaskStarted"});
  const auto& started = events[6].workflow_task_started_event_attributes();
  CHECK(started.request_id() == "request-from-RespondWorkflowTaskCompleted");
  CHECK(started.identity() == "raw-worker");
  CHECK(started.scheduled_event_id() == 6);

  // The inline task is not also in a queue, and it completes like any other.
  CHECK(w.poll_workflow_task("w1-sticky", true, kShortPoll).task_token().empty());
  REQUIRE(w.complete_workflow_task(inline_task.task_token(), {complete_workflow("\"done\"")}).ok());
  CHECK(history_lines(s, "wf-inline").back() == "9 WorkflowExecutionCompleted");
}

TEST_CASE("return_new_workflow_task returns nothing when there is no news", "[server][sticky]") {
  TestServer s;
  RawWorker w(s, "sticky-tq");
  w.start("wf-inline-none");
  auto first = w.next_workflow_task();
  ws::RespondWorkflowTaskCompletedResponse resp;
  REQUIRE(w.complete_workflow_task(
               first.task_token(), {start_timer("1", 10s)},
               [](auto& req) {
                 ask_for_sticky_queue(req);
                 req.set_return_new_workflow_task(true);
               },
               &resp)
              .ok());
  CHECK_FALSE(resp.has_workflow_task());
  CHECK(history_lines(s, "wf-inline-none").size() == 5);
}

TEST_CASE("a workflow task that fails on the sticky queue is retried on the normal queue as attempt 1",
          "[server][sticky]") {
  TestServer s;
  RawWorker w(s, "sticky-tq");
  start_sticky_workflow(s, w, "wf-sticky-fail");
  auto wt = w.next_workflow_task("w1-sticky", true);
  REQUIRE(w.fail_workflow_task(wt.task_token(), enums::WORKFLOW_TASK_FAILED_CAUSE_WORKFLOW_WORKER_UNHANDLED_FAILURE,
                               "cache trouble")
              .ok());

  auto events = history_of(s, "wf-sticky-fail");
  CHECK(event_lines(events) == Lines{"1 WorkflowExecutionStarted", "2 WorkflowTaskScheduled", "3 WorkflowTaskStarted",
                                     "4 WorkflowTaskCompleted", "5 WorkflowExecutionSignaled",
                                     "6 WorkflowTaskScheduled", "7 WorkflowTaskStarted", "8 WorkflowTaskFailed",
                                     "9 WorkflowTaskScheduled"});
  CHECK(events[8].workflow_task_scheduled_event_attributes().attempt() == 1);
  CHECK(events[8].workflow_task_scheduled_event_attributes().task_queue().kind() == enums::TASK_QUEUE_KIND_NORMAL);
  auto retry = w.next_workflow_task();
  CHECK(retry.attempt() == 1);
  CHECK(retry.history().events_size() == 10);
}

TEST_CASE("a sticky workflow task that times out start-to-close is retried on the normal queue as attempt 1",
          "[server][sticky]") {
  TestServer s;
  RawWorker w(s, "sticky-tq");
  start_sticky_workflow(s, w, "wf-sticky-stc");
  auto wt = w.next_workflow_task("w1-sticky", true);
  s.clock.advance(10s);  // the default workflow task timeout

  auto events = wait_for_history(s, "wf-sticky-stc", 9);
  CHECK(event_lines(events) == Lines{"1 WorkflowExecutionStarted", "2 WorkflowTaskScheduled", "3 WorkflowTaskStarted",
                                     "4 WorkflowTaskCompleted", "5 WorkflowExecutionSignaled",
                                     "6 WorkflowTaskScheduled", "7 WorkflowTaskStarted", "8 WorkflowTaskTimedOut",
                                     "9 WorkflowTaskScheduled"});
  CHECK(events[7].workflow_task_timed_out_event_attributes().timeout_type() == enums::TIMEOUT_TYPE_START_TO_CLOSE);
  CHECK(events[8].workflow_task_scheduled_event_attributes().attempt() == 1);
  CHECK(events[8].workflow_task_scheduled_event_attributes().task_queue().kind() == enums::TASK_QUEUE_KIND_NORMAL);
}
