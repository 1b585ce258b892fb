// A Reprise server for one test: in-process, on a free loopback port, over a store the test
// chooses (memory by default, or a SQLite file), with a ManualClock so durable timers fire only when
// the test advances time. RawWorker drives the gRPC API the way a worker SDK would, without any
// worker library, so that server tests see exactly the events Reprise writes.
#pragma once

#include <grpcpp/create_channel.h>

#include <catch2/catch.hpp>
#include <chrono>
#include <filesystem>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "engine/history_engine.h"
#include "engine/server.h"
#include "engine/time_util.h"
#include "history/fault_injecting_store.h"
#include "history/memory_history_store.h"
#include "history/sqlite_history_store.h"
#include "temporal/api/workflowservice/v1/service.grpc.pb.h"

namespace reprise::testing {

namespace ws = temporal::api::workflowservice::v1;
namespace enums = temporal::api::enums::v1;
using temporal::api::command::v1::Command;
using temporal::api::history::v1::HistoryEvent;
using namespace std::chrono_literals;

// "EVENT_TYPE_WORKFLOW_TASK_SCHEDULED" -> "WorkflowTaskScheduled": the names Temporal's UI shows.
inline std::string short_event_name(enums::EventType type) {
  std::string full = enums::EventType_Name(type).substr(std::string("EVENT_TYPE_").size());
  std::string out;
  bool upper = true;
  for (char c : full) {
    if (c == '_') {
      upper = true;
      continue;
    }
    out += upper ? c : static_cast<char>(std::tolower(c));
    upper = false;
  }
  return out;
}

struct TestServerOptions {
  bool sqlite = false;  // a SQLite file in a temp dir instead of the memory store
  // Or any store the test builds itself (e.g. a FaultInjectingStore); takes precedence.
  std::function<std::unique_ptr<history::HistoryStore>()> make_store;
  engine::EngineOptions engine;
};

class TestServer {
 public:
  explicit TestServer(TestServerOptions options = {}) {
    if (options.engine.long_poll_timeout == std::chrono::milliseconds(60'000))
      options.engine.long_poll_timeout = 5s;  // parked polls in tests answer sooner
    if (options.make_store) {
      store = options.make_store();
    } else if (options.sqlite) {
      dir_ = std::filesystem::temp_directory_path() / ("reprise-test-" + engine::new_uuid());
      std::filesystem::create_directories(dir_);
      store = open_sqlite();
    } else {
      store = std::make_unique<history::MemoryHistoryStore>();
    }
    engine_options_ = options.engine;
    serve();
  }

  // Stops the server and its store, then starts both again on the same SQLite file, as after a
  // crash: whatever was pending must come back from the file alone. The clock keeps its time.
  void restart() {
    REQUIRE(!dir_.empty());  // only a SQLite server has something to come back from
    server->shutdown();
    server.reset();
    store.reset();
    store = open_sqlite();
    serve();
  }
  ~TestServer() {
    server->shutdown();
    server.reset();
    store.reset();
    if (!dir_.empty()) std::filesystem::remove_all(dir_);
  }

  engine::ManualClock clock;
  std::unique_ptr<history::HistoryStore> store;
  std::unique_ptr<engine::Server> server;
  std::unique_ptr<ws::WorkflowService::Stub> stub;

 private:
  std::unique_ptr<history::HistoryStore> open_sqlite() {
    history::SqliteStoreOptions so;
    so.path = (dir_ / "history.db").string();
    so.synchronous = history::SqliteStoreOptions::Synchronous::Off;
    return history::open_sqlite_store(so);
  }
  void serve() {
    engine::ServerOptions so;
    so.port = 0;
    so.engine = engine_options_;
    server = std::make_unique<engine::Server>(*store, clock, so);
    server->start();
    auto channel = grpc::CreateChannel(server->address(), grpc::InsecureChannelCredentials());
    stub = ws::WorkflowService::NewStub(channel);
  }

  std::filesystem::path dir_;
  engine::EngineOptions engine_options_;
};

// A TestServer over a FaultInjectingStore, so a test can make the server's next commits fail
// (tests/engine/store_faults_test.cpp; tests/worker/report_retry_test.cpp).
struct FaultyServer {
  std::shared_ptr<history::HistoryStore> inner = std::make_shared<history::MemoryHistoryStore>();
  history::FaultInjectingStore* faults = nullptr;
  std::unique_ptr<TestServer> server;
  FaultyServer() {
    TestServerOptions o;
    o.make_store = [this] {
      auto store = std::make_unique<history::FaultInjectingStore>(inner);
      faults = store.get();
      return store;
    };
    server = std::make_unique<TestServer>(o);
  }
};

// Calls one RPC with a deadline; returns the status. `fn` is a stub member like
// &ws::WorkflowService::Stub::StartWorkflowExecution.
template <class Req, class Resp, class Fn>
grpc::Status call(TestServer& s, Fn fn, const Req& req, Resp& resp, std::chrono::milliseconds timeout = 30s) {
  grpc::ClientContext ctx;
  ctx.set_deadline(std::chrono::system_clock::now() + timeout);
  return ((*s.stub).*fn)(&ctx, req, &resp);
}

// What a worker SDK does, one RPC at a time.
class RawWorker {
 public:
  RawWorker(TestServer& server, std::string task_queue, std::string identity = "raw-worker")
      : s_(server), task_queue_(std::move(task_queue)), identity_(std::move(identity)) {}

  std::string start(const std::string& workflow_id, const std::string& type = "TestWorkflow",
                    std::function<void(ws::StartWorkflowExecutionRequest&)> customize = {}) {
    ws::StartWorkflowExecutionRequest req;
    req.set_namespace_("default");
    req.set_workflow_id(workflow_id);
    req.mutable_workflow_type()->set_name(type);
    req.mutable_task_queue()->set_name(task_queue_);
    req.set_request_id(engine::new_uuid());
    req.set_identity("test-client");
    if (customize) customize(req);
    ws::StartWorkflowExecutionResponse resp;
    auto st = call(s_, &ws::WorkflowService::Stub::StartWorkflowExecution, req, resp);
    REQUIRE(st.error_message() == "");
    REQUIRE(st.ok());
    return resp.run_id();
  }

  // Starts a workflow and answers its first workflow task with `commands`: the usual opening of a
  // scenario (events 1-4, then the commands' events from 5). `out` gets the completion's response.
  std::string start_and_complete_first_task(const std::string& workflow_id, std::vector<Command> commands,
                                            ws::RespondWorkflowTaskCompletedResponse* out = nullptr) {
    std::string run_id = start(workflow_id);
    auto wt = next_workflow_task();
    REQUIRE(wt.started_event_id() == 3);
    auto st = complete_workflow_task(wt.task_token(), std::move(commands), {}, out);
    REQUIRE(st.error_message() == "");
    return run_id;
  }

  // Long-polls for a workflow task; an empty response (no task_token) means none came in time.
  // `deadline` is the client's: the server answers "no task" about a second before it.
  ws::PollWorkflowTaskQueueResponse poll_workflow_task(const std::string& queue = {}, bool sticky = false,
                                                       std::chrono::milliseconds deadline = 30s) {
    ws::PollWorkflowTaskQueueRequest req;
    req.set_namespace_("default");
    req.mutable_task_queue()->set_name(queue.empty() ? task_queue_ : queue);
    req.mutable_task_queue()->set_kind(sticky ? enums::TASK_QUEUE_KIND_STICKY : enums::TASK_QUEUE_KIND_NORMAL);
    if (sticky) req.mutable_task_queue()->set_normal_name(task_queue_);
    req.set_identity(identity_);
    ws::PollWorkflowTaskQueueResponse resp;
    auto st = call(s_, &ws::WorkflowService::Stub::PollWorkflowTaskQueue, req, resp, deadline);
    REQUIRE(st.error_message() == "");
    return resp;
  }

  // Polls until a task arrives (tests wait for asynchronous effects such as a timer firing).
  ws::PollWorkflowTaskQueueResponse next_workflow_task(const std::string& queue = {}, bool sticky = false) {
    for (int i = 0; i < 12; ++i) {
      auto t = poll_workflow_task(queue, sticky);
      if (!t.task_token().empty()) return t;
    }
    FAIL("no workflow task arrived");
    return {};
  }

  grpc::Status complete_workflow_task(const std::string& token, std::vector<Command> commands,
                                      std::function<void(ws::RespondWorkflowTaskCompletedRequest&)> customize = {},
                                      ws::RespondWorkflowTaskCompletedResponse* out = nullptr) {
    ws::RespondWorkflowTaskCompletedRequest req;
    req.set_namespace_("default");
    req.set_task_token(token);
    req.set_identity(identity_);
    for (auto& c : commands) *req.add_commands() = std::move(c);
    if (customize) customize(req);
    ws::RespondWorkflowTaskCompletedResponse resp;
    auto st = call(s_, &ws::WorkflowService::Stub::RespondWorkflowTaskCompleted, req, resp);
    if (out) *out = resp;
    return st;
  }

  grpc::Status fail_workflow_task(const std::string& token, enums::WorkflowTaskFailedCause cause,
                                  const std::string& message) {
    ws::RespondWorkflowTaskFailedRequest req;
    req.set_namespace_("default");
    req.set_task_token(token);
    req.set_cause(cause);
    req.mutable_failure()->set_message(message);
    req.set_identity(identity_);
    ws::RespondWorkflowTaskFailedResponse resp;
    return call(s_, &ws::WorkflowService::Stub::RespondWorkflowTaskFailed, req, resp);
  }

  ws::PollActivityTaskQueueResponse poll_activity_task(const std::string& queue = {},
                                                       std::chrono::milliseconds deadline = 30s) {
    ws::PollActivityTaskQueueRequest req;
    req.set_namespace_("default");
    req.mutable_task_queue()->set_name(queue.empty() ? task_queue_ : queue);
    req.set_identity(identity_);
    ws::PollActivityTaskQueueResponse resp;
    auto st = call(s_, &ws::WorkflowService::Stub::PollActivityTaskQueue, req, resp, deadline);
    REQUIRE(st.error_message() == "");
    return resp;
  }

  ws::PollActivityTaskQueueResponse next_activity_task(const std::string& queue = {}) {
    for (int i = 0; i < 12; ++i) {
      auto t = poll_activity_task(queue);
      if (!t.task_token().empty()) return t;
    }
    FAIL("no activity task arrived");
    return {};
  }

  grpc::Status complete_activity(const std::string& token, const std::string& json_result) {
    ws::RespondActivityTaskCompletedRequest req;
    req.set_namespace_("default");
    req.set_task_token(token);
    req.set_identity(identity_);
    auto* p = req.mutable_result()->add_payloads();
    (*p->mutable_metadata())["encoding"] = "json/plain";
    p->set_data(json_result);
    ws::RespondActivityTaskCompletedResponse resp;
    return call(s_, &ws::WorkflowService::Stub::RespondActivityTaskCompleted, req, resp);
  }

  grpc::Status fail_activity(const std::string& token, const std::string& message, bool non_retryable = false,
                             const std::string& type = "Error",
                             std::function<void(ws::RespondActivityTaskFailedRequest&)> customize = {}) {
    ws::RespondActivityTaskFailedRequest req;
    req.set_namespace_("default");
    req.set_task_token(token);
    req.set_identity(identity_);
    req.mutable_failure()->set_message(message);
    req.mutable_failure()->mutable_application_failure_info()->set_type(type);
    req.mutable_failure()->mutable_application_failure_info()->set_non_retryable(non_retryable);
    if (customize) customize(req);
    ws::RespondActivityTaskFailedResponse resp;
    return call(s_, &ws::WorkflowService::Stub::RespondActivityTaskFailed, req, resp);
  }

  // An empty `json_details` sends a heartbeat without details.
  grpc::Status heartbeat(const std::string& token, const std::string& json_details,
                         ws::RecordActivityTaskHeartbeatResponse* out = nullptr) {
    ws::RecordActivityTaskHeartbeatRequest req;
    req.set_namespace_("default");
    req.set_task_token(token);
    req.set_identity(identity_);
    if (!json_details.empty()) {
      auto* p = req.mutable_details()->add_payloads();
      (*p->mutable_metadata())["encoding"] = "json/plain";
      p->set_data(json_details);
    }
    ws::RecordActivityTaskHeartbeatResponse resp;
    auto st = call(s_, &ws::WorkflowService::Stub::RecordActivityTaskHeartbeat, req, resp);
    if (out) *out = resp;
    return st;
  }

  grpc::Status cancel_activity(const std::string& token) {
    ws::RespondActivityTaskCanceledRequest req;
    req.set_namespace_("default");
    req.set_task_token(token);
    req.set_identity(identity_);
    ws::RespondActivityTaskCanceledResponse resp;
    return call(s_, &ws::WorkflowService::Stub::RespondActivityTaskCanceled, req, resp);
  }

  const std::string& task_queue() const { return task_queue_; }
  const std::string& identity() const { return identity_; }

 private:
  TestServer& s_;
  std::string task_queue_;
  std::string identity_;
};

// The full history of a workflow's current run (or of `run_id`).
inline std::vector<HistoryEvent> history_of(TestServer& s, const std::string& workflow_id,
                                            const std::string& run_id = {}) {
  std::vector<HistoryEvent> events;
  std::string token;
  do {
    ws::GetWorkflowExecutionHistoryRequest req;
    req.set_namespace_("default");
    req.mutable_execution()->set_workflow_id(workflow_id);
    req.mutable_execution()->set_run_id(run_id);
    req.set_next_page_token(token);
    ws::GetWorkflowExecutionHistoryResponse resp;
    auto st = call(s, &ws::WorkflowService::Stub::GetWorkflowExecutionHistory, req, resp);
    REQUIRE(st.error_message() == "");
    for (const auto& e : resp.history().events()) events.push_back(e);
    token = resp.next_page_token();
  } while (!token.empty());
  return events;
}

// A client deadline for polls that are expected to find nothing: the server answers "no task" about
// a second before the deadline, so this costs half a second instead of a full long poll.
inline constexpr std::chrono::milliseconds kShortPoll = 1500ms;

// "1 WorkflowExecutionStarted", ... : the form the scenario tests compare against.
inline std::vector<std::string> event_lines(const std::vector<HistoryEvent>& events) {
  std::vector<std::string> out;
  for (const auto& e : events) out.push_back(std::to_string(e.event_id()) + " " + short_event_name(e.event_type()));
  return out;
}

inline std::vector<std::string> history_lines(TestServer& s, const std::string& workflow_id) {
  return event_lines(history_of(s, workflow_id));
}

// Waits until `pred` holds, checking every 10 ms for up to 10 s. For effects that happen on another
// thread (a timer fired after the clock moved); the assertion is on the effect, not on the time.
template <class Pred>
bool eventually(Pred pred) {
  for (int i = 0; i < 1000; ++i) {
    if (pred()) return true;
    std::this_thread::sleep_for(10ms);
  }
  return pred();
}

// Waits until the current run's history has at least `count` events (a timer fired, a timeout hit);
// returns the history then.
inline std::vector<HistoryEvent> wait_for_history(TestServer& s, const std::string& workflow_id, size_t count) {
  std::vector<HistoryEvent> events;
  bool reached = eventually([&] {
    events = history_of(s, workflow_id);
    return events.size() >= count;
  });
  INFO("history: " << ::Catch::Detail::stringify(event_lines(events)));
  REQUIRE(reached);
  return events;
}

// The durable timer rows of `kind` in the store. A fired timer's row is removed in the same
// transaction as its effect, so "the row is gone" tells a test that the engine has handled it.
inline std::vector<engine::TimerRow> timer_rows(TestServer& s, history::TimerKind kind) {
  std::vector<engine::TimerRow> out;
  for (auto& t : s.store->load_timers())
    if (t.kind == kind) out.push_back(t);
  return out;
}

// Waits until the only timer row of `kind` in the store is one due at `fire_time_ms`.
inline bool only_timer_row_becomes(TestServer& s, history::TimerKind kind, int64_t fire_time_ms) {
  return eventually([&] {
    auto rows = timer_rows(s, kind);
    return rows.size() == 1 && rows[0].fire_time_ms == fire_time_ms;
  });
}

inline grpc::Status send_signal(TestServer& s, const std::string& workflow_id, const std::string& name,
                                const std::string& json_input = "\"ping\"", const std::string& request_id = {}) {
  ws::SignalWorkflowExecutionRequest req;
  req.set_namespace_("default");
  req.mutable_workflow_execution()->set_workflow_id(workflow_id);
  req.set_signal_name(name);
  auto* p = req.mutable_input()->add_payloads();
  (*p->mutable_metadata())["encoding"] = "json/plain";
  p->set_data(json_input);
  req.set_identity("test-client");
  req.set_request_id(request_id.empty() ? engine::new_uuid() : request_id);
  ws::SignalWorkflowExecutionResponse resp;
  return call(s, &ws::WorkflowService::Stub::SignalWorkflowExecution, req, resp);
}

inline grpc::Status terminate(TestServer& s, const std::string& workflow_id, const std::string& reason = "test") {
  ws::TerminateWorkflowExecutionRequest req;
  req.set_namespace_("default");
  req.mutable_workflow_execution()->set_workflow_id(workflow_id);
  req.set_reason(reason);
  req.set_identity("test-client");
  ws::TerminateWorkflowExecutionResponse resp;
  return call(s, &ws::WorkflowService::Stub::TerminateWorkflowExecution, req, resp);
}

inline ws::DescribeWorkflowExecutionResponse describe(TestServer& s, const std::string& workflow_id) {
  ws::DescribeWorkflowExecutionRequest req;
  req.set_namespace_("default");
  req.mutable_execution()->set_workflow_id(workflow_id);
  ws::DescribeWorkflowExecutionResponse resp;
  auto st = call(s, &ws::WorkflowService::Stub::DescribeWorkflowExecution, req, resp);
  REQUIRE(st.error_message() == "");
  return resp;
}

// --- Commands, built the way SDKs build them ---

inline Command schedule_activity(
    const std::string& activity_id, const std::string& type, std::chrono::seconds start_to_close = 10s,
    std::function<void(temporal::api::command::v1::ScheduleActivityTaskCommandAttributes&)> customize = {}) {
  Command c;
  c.set_command_type(enums::COMMAND_TYPE_SCHEDULE_ACTIVITY_TASK);
  auto* a = c.mutable_schedule_activity_task_command_attributes();
  a->set_activity_id(activity_id);
  a->mutable_activity_type()->set_name(type);
  *a->mutable_start_to_close_timeout() = engine::duration_from_ms(start_to_close.count() * 1000);
  if (customize) customize(*a);
  return c;
}

inline Command start_timer(const std::string& timer_id, std::chrono::seconds after) {
  Command c;
  c.set_command_type(enums::COMMAND_TYPE_START_TIMER);
  c.mutable_start_timer_command_attributes()->set_timer_id(timer_id);
  *c.mutable_start_timer_command_attributes()->mutable_start_to_fire_timeout() =
      engine::duration_from_ms(after.count() * 1000);
  return c;
}

inline Command cancel_timer(const std::string& timer_id) {
  Command c;
  c.set_command_type(enums::COMMAND_TYPE_CANCEL_TIMER);
  c.mutable_cancel_timer_command_attributes()->set_timer_id(timer_id);
  return c;
}

inline Command request_cancel_activity(int64_t scheduled_event_id) {
  Command c;
  c.set_command_type(enums::COMMAND_TYPE_REQUEST_CANCEL_ACTIVITY_TASK);
  c.mutable_request_cancel_activity_task_command_attributes()->set_scheduled_event_id(scheduled_event_id);
  return c;
}

inline Command complete_workflow(const std::string& json_result) {
  Command c;
  c.set_command_type(enums::COMMAND_TYPE_COMPLETE_WORKFLOW_EXECUTION);
  auto* p = c.mutable_complete_workflow_execution_command_attributes()->mutable_result()->add_payloads();
  (*p->mutable_metadata())["encoding"] = "json/plain";
  p->set_data(json_result);
  return c;
}

}  // namespace reprise::testing
