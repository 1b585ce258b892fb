// Looking at workflows without reading their histories: DescribeWorkflowExecution (status, history
// length, start time, the pending activities with their attempt, last failure and heartbeat
// details, the pending workflow task) and ListWorkflowExecutions / CountWorkflowExecutions with
// Reprise's small filter language (temporal-semantics.md 4.4).
// Engine code: engine/workflow_lifecycle.cpp (describe_workflow_execution, list, count).
#include "test_server.h"

using namespace reprise::testing;
using Lines = std::vector<std::string>;

namespace {

constexpr int64_t kT0 = 1'700'000'000;  // ManualClock's starting time, in seconds

ws::ListWorkflowExecutionsResponse list(TestServer& s, const std::string& query, int page_size = 0,
                                        const std::string& token = {}) {
  ws::ListWorkflowExecutionsRequest req;
  req.set_namespace_("default");
  req.set_query(query);
  req.set_page_size(page_size);
  req.set_next_page_token(token);
  ws::ListWorkflowExecutionsResponse resp;
  auto st = call(s, &ws::WorkflowService::Stub::ListWorkflowExecutions, req, resp);
  REQUIRE(st.error_message() == "");
  return resp;
}

std::vector<std::string> ids(const ws::ListWorkflowExecutionsResponse& resp) {
  std::vector<std::string> out;
  for (const auto& e : resp.executions()) out.push_back(e.execution().workflow_id());
  return out;
}

int64_t count(TestServer& s, const std::string& query) {
  ws::CountWorkflowExecutionsRequest req;
  req.set_namespace_("default");
  req.set_query(query);
  ws::CountWorkflowExecutionsResponse resp;
  auto st = call(s, &ws::WorkflowService::Stub::CountWorkflowExecutions, req, resp);
  REQUIRE(st.error_message() == "");
  return resp.count();
}

}  // namespace

TEST_CASE("describe shows a running workflow's pending activity with its attempt, failure and heartbeat details",
          "[server][describe]") {
  TestServer s;
  RawWorker w(s, "describe");
  std::string run_id = w.start_and_complete_first_task("wf-describe", {schedule_activity("1", "work")});
  auto a1 = w.next_activity_task();
  REQUIRE(w.heartbeat(a1.task_token(), "{\"step\":3}").ok());

  auto d = describe(s, "wf-describe");
  REQUIRE(d.pending_activities_size() == 1);
  CHECK(d.pending_activities(0).state() == enums::PENDING_ACTIVITY_STATE_STARTED);
  CHECK(d.pending_activities(0).attempt() == 1);

  REQUIRE(w.fail_activity(a1.task_token(), "step 3 broke").ok());
  d = describe(s, "wf-describe");
  const auto& info = d.workflow_execution_info();
  CHECK(info.execution().workflow_id() == "wf-describe");
  CHECK(info.execution().run_id() == run_id);
  CHECK(info.type().name() == "TestWorkflow");
  CHECK(info.status() == enums::WORKFLOW_EXECUTION_STATUS_RUNNING);
  CHECK(info.history_length() == 5);
  CHECK(info.start_time().seconds() == kT0);
  CHECK_FALSE(info.has_close_time());
  CHECK(info.task_queue() == "describe");
  CHECK_FALSE(d.has_pending_workflow_task());

  REQUIRE(d.pending_activities_size() == 1);
  const auto& pending = d.pending_activities(0);
  CHECK(pending.activity_id() == "1");
  CHECK(pending.activity_type().name() == "work");
  CHECK(pending.state() == enums::PENDING_ACTIVITY_STATE_SCHEDULED);  // waiting for its retry
  CHECK(pending.attempt() == 2);
  CHECK(pending.last_failure().message() == "step 3 broke");
  REQUIRE(pending.heartbeat_details().payloads_size() == 1);
  CHECK(pending.heartbeat_details().payloads(0).data() == "{\"step\":3}");
  CHECK(pending.last_worker_identity() == "raw-worker");
  CHECK(pending.maximum_attempts() == 0);

  // A signal schedules a workflow task; describe follows it from scheduled to started.
  REQUIRE(send_signal(s, "wf-describe", "look").ok());
  d = describe(s, "wf-describe");
  REQUIRE(d.has_pending_workflow_task());
  CHECK(d.pending_workflow_task().state() == enums::PENDING_WORKFLOW_TASK_STATE_SCHEDULED);
  CHECK(d.pending_workflow_task().attempt() == 1);
  auto wt = w.next_workflow_task();
  CHECK(describe(s, "wf-describe").pending_workflow_task().state() == enums::PENDING_WORKFLOW_TASK_STATE_STARTED);

  REQUIRE(w.complete_workflow_task(wt.task_token(), {complete_workflow("\"done\"")}).ok());
  d = describe(s, "wf-describe");
  CHECK(d.workflow_execution_info().status() == enums::WORKFLOW_EXECUTION_STATUS_COMPLETED);
  CHECK(d.workflow_execution_info().has_close_time());
  CHECK(d.workflow_execution_info().history_length() == 10);
  CHECK(d.pending_activities_size() == 0);
  CHECK_FALSE(d.has_pending_workflow_task());
}

TEST_CASE("list filters workflows by status, type and id, newest first, and pages, and count counts them",
          "[server][list]") {
  TestServer s;
  RawWorker w(s, "list");
  // One at a time, so that each poll gets the task of the workflow just started.
  for (auto [id, type] : {std::pair{"wf-list-a", "TypeA"}, std::pair{"wf-list-b", "TypeB"}}) {
    w.start(id, type);
    auto wt = w.next_workflow_task();
    REQUIRE(w.complete_workflow_task(wt.task_token(), {complete_workflow("\"done\"")}).ok());
  }
  w.start("wf-list-c", "TypeA");  // still running

  CHECK(ids(list(s, "")) == std::vector<std::string>{"wf-list-c", "wf-list-b", "wf-list-a"});
  CHECK(ids(list(s, "ExecutionStatus = 'Running'")) == std::vector<std::string>{"wf-list-c"});
  CHECK(ids(list(s, "WorkflowType = 'TypeA'")) == std::vector<std::string>{"wf-list-c", "wf-list-a"});
  CHECK(ids(list(s, "WorkflowId = \"wf-list-b\"")) == std::vector<std::string>{"wf-list-b"});
  CHECK(ids(list(s, "WorkflowType = 'TypeA' AND ExecutionStatus = 'Completed'")) ==
        std::vector<std::string>{"wf-list-a"});

  auto running = list(s, "ExecutionStatus = 'Running'");
  REQUIRE(running.executions_size() == 1);
  CHECK(running.executions(0).status() == enums::WORKFLOW_EXECUTION_STATUS_RUNNING);
  CHECK(running.executions(0).type().name() == "TypeA");
  CHECK(running.executions(0).history_length() == 2);
  CHECK(running.executions(0).start_time().seconds() == kT0);

  // Pages of one, chained by their tokens.
  std::vector<std::string> paged;
  std::string token;
  int pages = 0;
  do {
    auto page = list(s, "", 1, token);
    REQUIRE(page.executions_size() == 1);
    paged.push_back(page.executions(0).execution().workflow_id());
    token = page.next_page_token();
    ++pages;
  } while (!token.empty() && pages < 10);
  CHECK(paged == std::vector<std::string>{"wf-list-c", "wf-list-b", "wf-list-a"});

  CHECK(count(s, "") == 3);
  CHECK(count(s, "ExecutionStatus = 'Completed'") == 2);
  CHECK(count(s, "WorkflowType = 'TypeB'") == 1);
}
