// Durability under kill -9: a real server process is killed with SIGKILL again and again while
// workers drive workflows through timers and activities, and restarted on the same SQLite file.
// At the end every workflow has completed exactly once, every history has contiguous event ids and
// makes sense event by event, and no timer fired twice. This is what engine/history_engine.cpp's
// "one transaction per state change" and the reload of tasks and timers at start-up buy.
#include <grpcpp/create_channel.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <catch2/catch.hpp>
#include <chrono>
#include <filesystem>
#include <map>
#include <mutex>
#include <set>
#include <thread>

#include "../support/net.h"
#include "../support/server_process.h"
#include "engine/time_util.h"
#include "temporal/api/workflowservice/v1/service.grpc.pb.h"

namespace ws = temporal::api::workflowservice::v1;
namespace enums = temporal::api::enums::v1;
using temporal::api::command::v1::Command;
using temporal::api::history::v1::HistoryEvent;
using namespace std::chrono_literals;

namespace {

// The workflow, decided from its history alone (the worker keeps no state, so it survives
// anything): sleep 200 ms, run activity a1, then activity a2, then complete.
std::vector<Command> decide(const google::protobuf::RepeatedPtrField<HistoryEvent>& events) {
  bool timer_started = false, timer_fired = false;
  std::map<int64_t, std::string> scheduled;  // scheduled event id -> activity id
  std::set<std::string> activities_scheduled, activities_completed;
  for (const auto& e : events) {
    switch (e.event_type()) {
      case enums::EVENT_TYPE_TIMER_STARTED:
        timer_started = true;
        break;
      case enums::EVENT_TYPE_TIMER_FIRED:
        timer_fired = true;
        break;
      case enums::EVENT_TYPE_ACTIVITY_TASK_SCHEDULED:
        scheduled[e.event_id()] = e.activity_task_scheduled_event_attributes().activity_id();
        activities_scheduled.insert(scheduled[e.event_id()]);
        break;
      case enums::EVENT_TYPE_ACTIVITY_TASK_COMPLETED:
        activities_completed.insert(scheduled[e.activity_task_completed_event_attributes().scheduled_event_id()]);
        break;
      default:
        break;
    }
  }
  Command c;
  auto schedule = [&](const std::string& id) {
    c.set_command_type(enums::COMMAND_TYPE_SCHEDULE_ACTIVITY_TASK);
    auto* a = c.mutable_schedule_activity_task_command_attributes();
    a->set_activity_id(id);
    a->mutable_activity_type()->set_name("step");
    a->mutable_start_to_close_timeout()->set_seconds(2);
  };
  if (!timer_started) {
    c.set_command_type(enums::COMMAND_TYPE_START_TIMER);
    c.mutable_start_timer_command_attributes()->set_timer_id("t1");
    c.mutable_start_timer_command_attributes()->mutable_start_to_fire_timeout()->set_nanos(200'000'000);
  } else if (!timer_fired) {
    return {};
  } else if (!activities_scheduled.count("a1")) {
    schedule("a1");
  } else if (!activities_completed.count("a1")) {
    return {};
  } else if (!activities_scheduled.count("a2")) {
    schedule("a2");
  } else if (!activities_completed.count("a2")) {
    return {};
  } else {
    c.set_command_type(enums::COMMAND_TYPE_COMPLETE_WORKFLOW_EXECUTION);
  }
  return {c};
}

// Checks that a history makes sense: ids 1..n, one start, exactly one close at the end, every
// timer fired at most once, every activity closed at most once and only after it was scheduled.
std::string validity_problem(const std::vector<HistoryEvent>& events) {
  if (events.empty()) return "empty history";
  std::map<std::string, int> timer_fired;
  std::set<int64_t> scheduled_activities, closed_activities;
  for (size_t i = 0; i < events.size(); ++i) {
    const auto& e = events[i];
    if (e.event_id() != static_cast<int64_t>(i + 1)) return "event ids are not contiguous at " + std::to_string(i + 1);
    switch (e.event_type()) {
      case enums::EVENT_TYPE_TIMER_FIRED:
        if (++timer_fired[e.timer_fired_event_attributes().timer_id()] > 1) return "a timer fired twice";
        break;
      case enums::EVENT_TYPE_ACTIVITY_TASK_SCHEDULED:
        scheduled_activities.insert(e.event_id());
        break;
      case enums::EVENT_TYPE_ACTIVITY_TASK_COMPLETED: {
        int64_t s = e.activity_task_completed_event_attributes().scheduled_event_id();
        if (!scheduled_activities.count(s)) return "an activity completed that was never scheduled";
        if (!closed_activities.insert(s).second) return "an activity completed twice";
        break;
      }
      case enums::EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED:
        if (i + 1 != events.size()) return "events after WorkflowExecutionCompleted";
        break;
      case enums::EVENT_TYPE_WORKFLOW_EXECUTION_STARTED:
        if (i != 0) return "a second WorkflowExecutionStarted";
        break;
      default:
        break;
    }
  }
  if (events.back().event_type() != enums::EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED) return "not completed";
  return {};
}

}  // namespace

TEST_CASE("workflows complete exactly once although the server is killed with SIGKILL again and again", "[crash]") {
  auto dir = std::filesystem::temp_directory_path() / ("reprise-crash-" + reprise::engine::new_uuid());
  std::filesystem::create_directories(dir);
  const std::string db = (dir / "history.db").string();
  const int port = reprise::testing::free_loopback_port();
  const std::string address = "127.0.0.1:" + std::to_string(port);
  reprise::testing::ServerProcess server(REPRISE_BINARY, db, port);
  server.start();

  auto channel = grpc::CreateChannel(address, grpc::InsecureChannelCredentials());
  auto stub = ws::WorkflowService::NewStub(channel);
  auto deadline_in = [](std::chrono::seconds s) { return std::chrono::system_clock::now() + s; };

  // Start the workflows, retrying while the server comes up.
  constexpr int kWorkflows = 30;
  for (int i = 0; i < kWorkflows; ++i) {
    ws::StartWorkflowExecutionRequest req;
    req.set_namespace_("default");
    req.set_workflow_id("crash-" + std::to_string(i));
    req.mutable_workflow_type()->set_name("Crashy");
    req.mutable_task_queue()->set_name("crash");
    req.mutable_workflow_task_timeout()->set_seconds(2);
    req.set_request_id("start-" + std::to_string(i));  // retried starts are idempotent
    for (int attempt = 0;; ++attempt) {
      grpc::ClientContext ctx;
      ctx.set_deadline(deadline_in(5s));
      ctx.set_wait_for_ready(true);
      ws::StartWorkflowExecutionResponse resp;
      auto st = stub->StartWorkflowExecution(&ctx, req, &resp);
      if (st.ok()) break;
      REQUIRE(attempt < 20);
    }
  }

  std::atomic<bool> done{false};
  std::atomic<int> activity_runs{0};
  auto workflow_worker = [&] {
    while (!done) {
      grpc::ClientContext ctx;
      ctx.set_deadline(deadline_in(5s));
      ws::PollWorkflowTaskQueueRequest poll;
      poll.set_namespace_("default");
      poll.mutable_task_queue()->set_name("crash");
      poll.set_identity("crash-wf-worker");
      ws::PollWorkflowTaskQueueResponse task;
      if (!stub->PollWorkflowTaskQueue(&ctx, poll, &task).ok() || task.task_token().empty()) {
        std::this_thread::sleep_for(50ms);
        continue;
      }
      ws::RespondWorkflowTaskCompletedRequest req;
      req.set_namespace_("default");
      req.set_task_token(task.task_token());
      req.set_identity("crash-wf-worker");
      for (auto& c : decide(task.history().events())) *req.add_commands() = c;
      grpc::ClientContext ctx2;
      ctx2.set_deadline(deadline_in(5s));
      ws::RespondWorkflowTaskCompletedResponse resp;
      (void)stub->RespondWorkflowTaskCompleted(&ctx2, req, &resp);  // lost answers time out and are retried
    }
  };
  auto activity_worker = [&] {
    while (!done) {
      grpc::ClientContext ctx;
      ctx.set_deadline(deadline_in(5s));
      ws::PollActivityTaskQueueRequest poll;
      poll.set_namespace_("default");
      poll.mutable_task_queue()->set_name("crash");
      poll.set_identity("crash-activity-worker");
      ws::PollActivityTaskQueueResponse task;
      if (!stub->PollActivityTaskQueue(&ctx, poll, &task).ok() || task.task_token().empty()) {
        std::this_thread::sleep_for(50ms);
        continue;
      }
      activity_runs++;
      ws::RespondActivityTaskCompletedRequest req;
      req.set_namespace_("default");
      req.set_task_token(task.task_token());
      req.set_identity("crash-activity-worker");
      grpc::ClientContext ctx2;
      ctx2.set_deadline(deadline_in(5s));
      ws::RespondActivityTaskCompletedResponse resp;
      (void)stub->RespondActivityTaskCompleted(&ctx2, req, &resp);
    }
  };
  std::vector<std::thread> workers;
  for (int i = 0; i < 3; ++i) workers.emplace_back(workflow_worker);
  for (int i = 0; i < 3; ++i) workers.emplace_back(activity_worker);

  auto all_completed = [&] {
    grpc::ClientContext ctx;
    ctx.set_deadline(deadline_in(5s));
    ws::CountWorkflowExecutionsRequest req;
    req.set_namespace_("default");
    req.set_query("ExecutionStatus = 'Completed'");
    ws::CountWorkflowExecutionsResponse resp;
    return stub->CountWorkflowExecutions(&ctx, req, &resp).ok() && resp.count() == kWorkflows;
  };

  // Kill the server five times while work is under way, restarting it on the same file.
  constexpr int kKills = 5;
  for (int k = 0; k < kKills; ++k) {
    std::this_thread::sleep_for(700ms);
    server.kill9();
    server.start();
  }
  bool finished = false;
  for (int i = 0; i < 1200 && !finished; ++i) {  // up to 2 minutes; usually a few seconds
    finished = all_completed();
    if (!finished) std::this_thread::sleep_for(100ms);
  }
  done = true;
  for (auto& t : workers) t.join();
  INFO("activity executions: " << activity_runs.load());
  REQUIRE(finished);

  for (int i = 0; i < kWorkflows; ++i) {
    std::string id = "crash-" + std::to_string(i);
    // Exactly one run per workflow id.
    grpc::ClientContext lctx;
    ws::ListWorkflowExecutionsRequest list;
    list.set_namespace_("default");
    list.set_query("WorkflowId = '" + id + "'");
    ws::ListWorkflowExecutionsResponse runs;
    REQUIRE(stub->ListWorkflowExecutions(&lctx, list, &runs).ok());
    REQUIRE(runs.executions_size() == 1);

    std::vector<HistoryEvent> events;
    std::string token;
    do {
      grpc::ClientContext ctx;
      ws::GetWorkflowExecutionHistoryRequest req;
      req.set_namespace_("default");
      req.mutable_execution()->set_workflow_id(id);
      req.set_next_page_token(token);
      ws::GetWorkflowExecutionHistoryResponse resp;
      REQUIRE(stub->GetWorkflowExecutionHistory(&ctx, req, &resp).ok());
      for (const auto& e : resp.history().events()) events.push_back(e);
      token = resp.next_page_token();
    } while (!token.empty());
    INFO("workflow " << id);
    CHECK(validity_problem(events) == "");
  }
  server.stop();
  std::filesystem::remove_all(dir);
}
