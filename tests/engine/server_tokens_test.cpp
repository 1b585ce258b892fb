// Task tokens (engine/task_token.cpp): every result a worker sends back is checked against mutable
// state through its token. A token of an attempt that was retried, a second completion, a token
// naming another run, and bytes that are no token at all are refused (NOT_FOUND, or INVALID_ARGUMENT
// for garbage) and leave the history exactly as it was.
#include "test_server.h"

using namespace reprise::testing;
using Lines = std::vector<std::string>;
using reprise::engine::decode_task_token;
using reprise::engine::encode_task_token;

TEST_CASE("the token of an activity attempt that was retried is stale", "[server][tokens]") {
  TestServer s;
  RawWorker w(s, "tokens");
  w.start_and_complete_first_task("wf-stale-activity", {schedule_activity("1", "slow")});
  auto a1 = w.next_activity_task();
  s.clock.advance(10s);  // attempt 1 times out start-to-close and will be retried
  REQUIRE(eventually([&] {
    auto d = describe(s, "wf-stale-activity");
    return d.pending_activities_size() == 1 && d.pending_activities(0).attempt() == 2;
  }));
  const auto before = history_lines(s, "wf-stale-activity");

  auto st = w.complete_activity(a1.task_token(), "\"late\"");
  CHECK(st.error_code() == grpc::StatusCode::NOT_FOUND);
  CHECK(w.heartbeat(a1.task_token(), "{}").error_code() == grpc::StatusCode::NOT_FOUND);
  CHECK(w.fail_activity(a1.task_token(), "late").error_code() == grpc::StatusCode::NOT_FOUND);
  CHECK(history_lines(s, "wf-stale-activity") == before);
}

TEST_CASE("a second completion of the same task is refused", "[server][tokens]") {
  TestServer s;
  RawWorker w(s, "tokens");
  w.start_and_complete_first_task("wf-duplicate", {schedule_activity("1", "work")});
  auto at = w.next_activity_task();
  REQUIRE(w.complete_activity(at.task_token(), "\"once\"").ok());
  const auto after_activity = history_lines(s, "wf-duplicate");
  CHECK(w.complete_activity(at.task_token(), "\"twice\"").error_code() == grpc::StatusCode::NOT_FOUND);
  CHECK(history_lines(s, "wf-duplicate") == after_activity);

  auto wt = w.next_workflow_task();
  REQUIRE(w.complete_workflow_task(wt.task_token(), {start_timer("1", 10s)}).ok());
  const auto after_task = history_lines(s, "wf-duplicate");
  auto st = w.complete_workflow_task(wt.task_token(), {start_timer("2", 10s)});
  CHECK(st.error_code() == grpc::StatusCode::NOT_FOUND);
  CHECK(
      w.fail_workflow_task(wt.task_token(), enums::WORKFLOW_TASK_FAILED_CAUSE_WORKFLOW_WORKER_UNHANDLED_FAILURE, "late")
          .error_code() == grpc::StatusCode::NOT_FOUND);
  CHECK(history_lines(s, "wf-duplicate") == after_task);
}

TEST_CASE("a token naming another run is refused", "[server][tokens]") {
  TestServer s;
  RawWorker w(s, "tokens");
  w.start("wf-other-run");
  auto wt = w.next_workflow_task();
  const auto before = history_lines(s, "wf-other-run");

  auto token = decode_task_token(wt.task_token());
  token.set_run_id(reprise::engine::new_uuid());  // a run of this workflow id that does not exist
  auto st = w.complete_workflow_task(encode_task_token(token), {complete_workflow("\"x\"")});
  CHECK(st.error_code() == grpc::StatusCode::NOT_FOUND);
  CHECK(history_lines(s, "wf-other-run") == before);

  // An old run's token, after the workflow id was started again, does not reach the new run.
  REQUIRE(w.complete_workflow_task(wt.task_token(), {complete_workflow("\"first run\"")}).ok());
  w.start("wf-other-run");
  auto second = w.next_workflow_task();
  CHECK(second.workflow_execution().run_id() != wt.workflow_execution().run_id());
  st = w.complete_workflow_task(wt.task_token(), {complete_workflow("\"x\"")});
  CHECK(st.error_code() == grpc::StatusCode::NOT_FOUND);
  CHECK(history_lines(s, "wf-other-run") ==
        Lines{"1 WorkflowExecutionStarted", "2 WorkflowTaskScheduled", "3 WorkflowTaskStarted"});
}

TEST_CASE("bytes that are not a task token are refused as INVALID_ARGUMENT", "[server][tokens]") {
  TestServer s;
  RawWorker w(s, "tokens");
  w.start("wf-garbage");
  auto wt = w.next_workflow_task();
  const auto before = history_lines(s, "wf-garbage");

  auto st = w.complete_workflow_task("not a token at all", {complete_workflow("\"x\"")});
  CHECK(st.error_code() == grpc::StatusCode::INVALID_ARGUMENT);
  CHECK(st.error_message() == "task token is malformed: it was not issued by this server");
  CHECK(w.complete_activity("\x01\x02garbage", "\"x\"").error_code() == grpc::StatusCode::INVALID_ARGUMENT);
  CHECK(w.complete_workflow_task("", {}).error_message() == "task token is not set on request");
  // A workflow task's token is no activity token.
  CHECK(w.complete_activity(wt.task_token(), "\"x\"").error_code() == grpc::StatusCode::INVALID_ARGUMENT);
  CHECK(history_lines(s, "wf-garbage") == before);
}
