// A workflow task scheduled while a worker is already polling its queue starts for that worker in
// the same transaction (Matching::claim, engine/workflow_tasks.cpp schedule_workflow_task): one
// commit instead of two, no task row, and the same history as the two-step way. Also: a claimed
// task still times out if the worker never answers, and it works for the sticky queue, for
// continue-as-new's successor and for transient attempts. And a parked poll its client cancels
// leaves the queue (engine/workflow_service.cpp, LongPollReactor::OnCancel).
#include <future>

#include "history/sqlite_history_store.h"
#include "test_server.h"

using namespace reprise::testing;
using Lines = std::vector<std::string>;

namespace {

// A long poll running in the background; ready() once the server has it parked.
struct BackgroundPoll {
  BackgroundPoll(TestServer& s, RawWorker& w, const std::string& queue, bool sticky)
      : result(std::async(std::launch::async, [&w, queue, sticky] { return w.poll_workflow_task(queue, sticky); })) {
    const reprise::engine::QueueKey key{"default", queue.empty() ? w.task_queue() : queue,
                                        reprise::history::TaskKind::WorkflowTask};
    REQUIRE(eventually([&] { return s.server->engine().matching().parked_pollers(key) == 1; }));
  }
  std::future<ws::PollWorkflowTaskQueueResponse> result;
};

uint64_t transactions(TestServer& s) {
  auto* sqlite = dynamic_cast<reprise::history::SqliteHistoryStore*>(s.store.get());
  REQUIRE(sqlite);
  return sqlite->stats().transactions;
}

}  // namespace

TEST_CASE("a workflow started while a worker polls is handed to it in the start's own transaction",
          "[server][workflow-task][claim]") {
  TestServer s(TestServerOptions{.sqlite = true});
  RawWorker w(s, "waiting", "waiting-worker");
  BackgroundPoll poll(s, w, {}, false);
  const auto before = transactions(s);
  w.start("wf-claimed");
  auto wt = poll.result.get();
  CHECK(transactions(s) - before == 1);  // start and WorkflowTaskStarted together

  REQUIRE_FALSE(wt.task_token().empty());
  CHECK(wt.started_event_id() == 3);
  CHECK(event_lines({wt.history().events().begin(), wt.history().events().end()}) ==
        Lines{"1 WorkflowExecutionStarted", "2 WorkflowTaskScheduled", "3 WorkflowTaskStarted"});
  CHECK(wt.history().events(2).workflow_task_started_event_attributes().identity() == "waiting-worker");
  CHECK(s.store->load_tasks().empty());  // no task row was ever needed
  REQUIRE(w.complete_workflow_task(wt.task_token(), {complete_workflow("\"done\"")}).ok());
  CHECK(history_lines(s, "wf-claimed") == Lines{"1 WorkflowExecutionStarted", "2 WorkflowTaskScheduled",
                                                "3 WorkflowTaskStarted", "4 WorkflowTaskCompleted",
                                                "5 WorkflowExecutionCompleted"});
}

TEST_CASE("without a waiting worker the task is written to the queue and started by the next poll",
          "[server][workflow-task][claim]") {
  TestServer s(TestServerOptions{.sqlite = true});
  RawWorker w(s, "waiting");
  const auto before = transactions(s);
  w.start("wf-queued");
  CHECK(s.store->load_tasks().size() == 1);
  auto wt = w.next_workflow_task();
  CHECK(transactions(s) - before == 2);
  CHECK(wt.started_event_id() == 3);
  CHECK(s.store->load_tasks().empty());
}

TEST_CASE("an activity completion hands the next task to the waiting sticky poller in the same transaction",
          "[server][workflow-task][claim][sticky]") {
  TestServer s(TestServerOptions{.sqlite = true});
  RawWorker w(s, "waiting");
  w.start("wf-sticky-claim");
  auto first = w.next_workflow_task();
  REQUIRE(w.complete_workflow_task(first.task_token(), {schedule_activity("1", "a")}, [](auto& req) {
             auto* sticky = req.mutable_sticky_attributes();
             sticky->mutable_worker_task_queue()->set_name("w-sticky");
             sticky->mutable_worker_task_queue()->set_kind(enums::TASK_QUEUE_KIND_STICKY);
             sticky->mutable_schedule_to_start_timeout()->set_seconds(5);
           }).ok());
  auto at = w.next_activity_task();
  BackgroundPoll poll(s, w, "w-sticky", true);
  const auto before = transactions(s);
  REQUIRE(w.complete_activity(at.task_token(), "1").ok());
  auto wt = poll.result.get();
  CHECK(transactions(s) - before == 1);
  REQUIRE_FALSE(wt.task_token().empty());
  // Only what the sticky worker has not seen, ending with the WorkflowTaskStarted written with it.
  CHECK(event_lines({wt.history().events().begin(), wt.history().events().end()}) ==
        Lines{"4 WorkflowTaskCompleted", "5 ActivityTaskScheduled", "6 ActivityTaskStarted", "7 ActivityTaskCompleted",
              "8 WorkflowTaskScheduled", "9 WorkflowTaskStarted"});
  // Started at once, so it needs no sticky schedule-to-start timer (only its start-to-close).
  for (const auto& t : s.store->load_timers())
    CHECK(t.kind != reprise::history::TimerKind::WorkflowTaskScheduleToStart);
  CHECK(s.store->load_tasks().empty());
}

TEST_CASE("a claimed workflow task the worker never answers times out and is retried",
          "[server][workflow-task][claim][timeout]") {
  TestServer s;
  RawWorker w(s, "waiting");
  BackgroundPoll poll(s, w, {}, false);
  w.start("wf-claimed-lost");
  auto lost = poll.result.get();
  REQUIRE(lost.started_event_id() == 3);
  s.clock.advance(10s);  // the workflow task's start-to-close
  auto retry = w.next_workflow_task();
  CHECK(retry.attempt() == 2);
  CHECK(w.complete_workflow_task(lost.task_token(), {}).error_code() == grpc::StatusCode::NOT_FOUND);
  REQUIRE(w.complete_workflow_task(retry.task_token(), {complete_workflow("1")}).ok());
  CHECK(history_lines(s, "wf-claimed-lost") == Lines{"1 WorkflowExecutionStarted", "2 WorkflowTaskScheduled",
                                                     "3 WorkflowTaskStarted", "4 WorkflowTaskTimedOut",
                                                     "5 WorkflowTaskScheduled", "6 WorkflowTaskStarted",
                                                     "7 WorkflowTaskCompleted", "8 WorkflowExecutionCompleted"});
}

TEST_CASE("continue-as-new hands the new run's first task to a waiting worker", "[server][workflow-task][claim]") {
  TestServer s;
  RawWorker w(s, "waiting");
  w.start("wf-chain");
  auto wt = w.next_workflow_task();
  BackgroundPoll poll(s, w, {}, false);
  Command c;
  c.set_command_type(enums::COMMAND_TYPE_CONTINUE_AS_NEW_WORKFLOW_EXECUTION);
  c.mutable_continue_as_new_workflow_execution_command_attributes()->mutable_workflow_type()->set_name("TestWorkflow");
  REQUIRE(w.complete_workflow_task(wt.task_token(), {c}).ok());
  auto next = poll.result.get();
  REQUIRE_FALSE(next.task_token().empty());
  CHECK(next.workflow_execution().run_id() != wt.workflow_execution().run_id());
  CHECK(next.started_event_id() == 3);
}

TEST_CASE("a parked poll its client cancels leaves the queue, so the next task goes to the next poll",
          "[server][workflow-task][cancel]") {
  TestServerOptions options;
  options.engine.long_poll_timeout = 120s;  // the poll leaves by being canceled, not by its deadline
  TestServer s(options);
  RawWorker w(s, "canceling");
  const reprise::engine::QueueKey key{"default", "canceling", reprise::history::TaskKind::WorkflowTask};
  grpc::ClientContext ctx;
  ws::PollWorkflowTaskQueueRequest req;
  req.set_namespace_("default");
  req.mutable_task_queue()->set_name("canceling");
  req.set_identity("gone-worker");
  ws::PollWorkflowTaskQueueResponse resp;
  auto polled = std::async(std::launch::async, [&] { return s.stub->PollWorkflowTaskQueue(&ctx, req, &resp); });
  REQUIRE(eventually([&] { return s.server->engine().matching().parked_pollers(key) == 1; }));

  ctx.TryCancel();
  CHECK(polled.get().error_code() == grpc::StatusCode::CANCELLED);
  REQUIRE(eventually([&] { return s.server->engine().matching().parked_pollers(key) == 0; }));

  // Had the canceled poll stayed parked, this task would start for it and be lost until it timed out.
  w.start("wf-after-cancel");
  auto wt = w.next_workflow_task();
  CHECK(wt.workflow_execution().workflow_id() == "wf-after-cancel");
  CHECK(wt.attempt() == 1);
}
