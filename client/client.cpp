// The client library (see reprise/client.h): thin, typed wrappers over WorkflowService calls.
#include "reprise/client.h"

#include <absl/synchronization/mutex.h>
#include <grpcpp/create_channel.h>
#include <unistd.h>

#include <boost/uuid/random_generator.hpp>
#include <boost/uuid/uuid_io.hpp>
#include <future>
#include <mutex>

#include "google/rpc/status.pb.h"
#include "temporal/api/errordetails/v1/message.pb.h"
#include "temporal/api/workflowservice/v1/service.grpc.pb.h"

namespace reprise {

namespace ws = temporal::api::workflowservice::v1;
namespace enums = temporal::api::enums::v1;

Payload json_payload(const nlohmann::json& value) {
  Payload p;
  (*p.mutable_metadata())["encoding"] = "json/plain";
  p.set_data(value.dump());
  return p;
}

nlohmann::json payload_json(const Payload& payload) {
  auto it = payload.metadata().find("encoding");
  std::string encoding = it == payload.metadata().end() ? "" : it->second;
  if (encoding == "binary/null") return nullptr;
  if (encoding != "json/plain") throw ClientError("cannot decode a payload with encoding '" + encoding + "' as JSON");
  try {
    return nlohmann::json::parse(payload.data());
  } catch (const nlohmann::json::exception& e) {
    throw ClientError(std::string("payload is not valid JSON: ") + e.what());
  }
}

Payloads json_payloads(const std::vector<nlohmann::json>& values) {
  Payloads out;
  for (const auto& v : values) *out.add_payloads() = json_payload(v);
  return out;
}

ServiceError::ServiceError(int grpc_code, const std::string& message) : ClientError(message), code_(grpc_code) {}

struct Client::Impl {
  std::shared_ptr<grpc::Channel> channel;
  std::unique_ptr<ws::WorkflowService::Stub> stub;
  std::once_flag worker_channel_made;
  std::shared_ptr<grpc::Channel> worker_channel;
};

namespace {

std::string fresh_uuid() {
  // Seeded once per thread, not a getrandom call per id (engine/time_util.cpp says why).
  thread_local boost::uuids::random_generator_mt19937 generator;
  return boost::uuids::to_string(generator());
}

std::string default_identity() {
  char host[256] = {};
  gethostname(host, sizeof host - 1);
  return std::to_string(getpid()) + "@" + host;
}

std::shared_ptr<grpc::Channel> make_channel(const std::string& address, bool grpc_retries) {
  grpc::ChannelArguments args;
  args.SetMaxReceiveMessageSize(128 * 1024 * 1024);
  if (!grpc_retries) args.SetInt(GRPC_ARG_ENABLE_RETRIES, 0);
  args.SetInt(GRPC_ARG_ENABLE_CHANNELZ, 0);  // its counters serve no one here (engine/server.cpp)
  return grpc::CreateCustomChannel(address, grpc::InsecureChannelCredentials(), args);
}

// Turns a failed call into the matching typed error.
[[noreturn]] void throw_status(const grpc::Status& st, const std::string& what) {
  switch (st.error_code()) {
    case grpc::StatusCode::NOT_FOUND:
      throw WorkflowNotFoundError(what + ": " + st.error_message());
    case grpc::StatusCode::ALREADY_EXISTS: {
      std::string run_id;
      google::rpc::Status details;
      if (details.ParseFromString(st.error_details())) {
        for (const auto& any : details.details()) {
          temporal::api::errordetails::v1::WorkflowExecutionAlreadyStartedFailure f;
          if (any.UnpackTo(&f)) run_id = f.run_id();
        }
      }
      throw WorkflowAlreadyStartedError(what + ": " + st.error_message(), run_id);
    }
    case grpc::StatusCode::UNAVAILABLE:
      throw ServiceError(st.error_code(), what + ": the server is not reachable (" + st.error_message() +
                                              "); is `reprise server start-dev` running?");
    default:
      throw ServiceError(st.error_code(), what + ": " + st.error_message());
  }
}

}  // namespace

Client::Client(ClientOptions options) : options_(std::move(options)), impl_(std::make_unique<Impl>()) {
  if (options_.identity.empty()) options_.identity = default_identity();
  // gRPC's mutexes come from abseil, which Debian builds with lock-order (deadlock) tracking on:
  // a graph update on every contended lock (1-3 % of a worker's samples in perf; bench/README.md,
  // optimisation 10). Process-wide.
  absl::SetMutexDeadlockDetectionMode(absl::OnDeadlockCycle::kIgnore);
  impl_->channel = make_channel(options_.address, /*grpc_retries=*/true);
  impl_->stub = ws::WorkflowService::NewStub(impl_->channel);
}

Client::~Client() = default;

std::shared_ptr<grpc::Channel> Client::channel() const { return impl_->channel; }

std::shared_ptr<grpc::Channel> Client::worker_channel() const {
  std::call_once(impl_->worker_channel_made,
                 [&] { impl_->worker_channel = make_channel(options_.address, /*grpc_retries=*/false); });
  return impl_->worker_channel;
}

namespace {
template <class Req, class Resp, class Fn>
Resp unary(Client& c, Fn fn, const Req& req, const std::string& what) {
  grpc::ClientContext ctx;
  ctx.set_deadline(std::chrono::system_clock::now() + c.options().rpc_timeout);
  Resp resp;
  auto st = ((*c.impl().stub).*fn)(&ctx, req, &resp);
  if (!st.ok()) throw_status(st, what);
  return resp;
}
}  // namespace

namespace {
ws::StartWorkflowExecutionRequest start_request(const ClientOptions& options, const std::string& workflow_type,
                                                const StartWorkflowOptions& o, const Payloads& input) {
  if (o.id.empty()) throw ClientError("start_workflow: a workflow id is required");
  if (o.task_queue.empty()) throw ClientError("start_workflow: a task queue is required");
  ws::StartWorkflowExecutionRequest req;
  req.set_namespace_(options.namespace_);
  req.set_workflow_id(o.id);
  req.mutable_workflow_type()->set_name(workflow_type);
  req.mutable_task_queue()->set_name(o.task_queue);
  req.mutable_task_queue()->set_kind(enums::TASK_QUEUE_KIND_NORMAL);
  if (input.payloads_size() > 0) *req.mutable_input() = input;
  auto set_duration = [](google::protobuf::Duration* d, std::chrono::milliseconds ms) {
    d->set_seconds(ms.count() / 1000);
    d->set_nanos(static_cast<int32_t>(ms.count() % 1000) * 1'000'000);
  };
  if (o.execution_timeout.count()) set_duration(req.mutable_workflow_execution_timeout(), o.execution_timeout);
  if (o.run_timeout.count()) set_duration(req.mutable_workflow_run_timeout(), o.run_timeout);
  if (o.task_timeout.count()) set_duration(req.mutable_workflow_task_timeout(), o.task_timeout);
  req.set_identity(options.identity);
  req.set_request_id(o.request_id.empty() ? fresh_uuid() : o.request_id);
  req.set_workflow_id_reuse_policy(o.id_reuse_policy);
  req.set_workflow_id_conflict_policy(o.id_conflict_policy);
  return req;
}

// One asynchronous call through gRPC's callback API: its context, request and response live here
// until its completion has run.
template <class Req, class Resp>
struct AsyncCall {
  grpc::ClientContext ctx;
  Req req;
  Resp resp;
};
}  // namespace

WorkflowHandle Client::start_workflow(const std::string& workflow_type, const StartWorkflowOptions& o,
                                      const Payloads& input) {
  auto resp = unary<ws::StartWorkflowExecutionRequest, ws::StartWorkflowExecutionResponse>(
      *this, &ws::WorkflowService::Stub::StartWorkflowExecution, start_request(options_, workflow_type, o, input),
      "start workflow " + o.id);
  return WorkflowHandle(*this, o.id, resp.run_id());
}

void Client::start_workflow_async(const std::string& workflow_type, const StartWorkflowOptions& o,
                                  const Payloads& input, Then<WorkflowHandle> then) {
  auto call = std::make_shared<AsyncCall<ws::StartWorkflowExecutionRequest, ws::StartWorkflowExecutionResponse>>();
  try {
    call->req = start_request(options_, workflow_type, o, input);
  } catch (...) {
    return then({std::nullopt, std::current_exception()});
  }
  call->ctx.set_deadline(std::chrono::system_clock::now() + options_.rpc_timeout);
  impl_->stub->async()->StartWorkflowExecution(
      &call->ctx, &call->req, &call->resp, [this, call, then = std::move(then)](grpc::Status st) {
        Outcome<WorkflowHandle> outcome;
        if (st.ok()) {
          outcome.value.emplace(*this, call->req.workflow_id(), call->resp.run_id());
        } else {
          try {
            throw_status(st, "start workflow " + call->req.workflow_id());
          } catch (...) {
            outcome.error = std::current_exception();
          }
        }
        then(std::move(outcome));
      });
}

WorkflowHandle Client::get_handle(const std::string& workflow_id, const std::string& run_id) {
  return WorkflowHandle(*this, workflow_id, run_id);
}

temporal::api::history::v1::History Client::fetch_history(const std::string& workflow_id, const std::string& run_id) {
  temporal::api::history::v1::History history;
  std::string token;
  do {
    ws::GetWorkflowExecutionHistoryRequest req;
    req.set_namespace_(options_.namespace_);
    req.mutable_execution()->set_workflow_id(workflow_id);
    req.mutable_execution()->set_run_id(run_id);
    req.set_next_page_token(token);
    auto resp = unary<ws::GetWorkflowExecutionHistoryRequest, ws::GetWorkflowExecutionHistoryResponse>(
        *this, &ws::WorkflowService::Stub::GetWorkflowExecutionHistory, req, "get history of " + workflow_id);
    for (auto& e : *resp.mutable_history()->mutable_events()) *history.add_events() = std::move(e);
    token = resp.next_page_token();
  } while (!token.empty());
  return history;
}

ws::DescribeWorkflowExecutionResponse Client::describe(const std::string& workflow_id, const std::string& run_id) {
  ws::DescribeWorkflowExecutionRequest req;
  req.set_namespace_(options_.namespace_);
  req.mutable_execution()->set_workflow_id(workflow_id);
  req.mutable_execution()->set_run_id(run_id);
  return unary<ws::DescribeWorkflowExecutionRequest, ws::DescribeWorkflowExecutionResponse>(
      *this, &ws::WorkflowService::Stub::DescribeWorkflowExecution, req, "describe " + workflow_id);
}

std::vector<temporal::api::workflow::v1::WorkflowExecutionInfo> Client::list(const std::string& query) {
  std::vector<temporal::api::workflow::v1::WorkflowExecutionInfo> out;
  std::string token;
  do {
    ws::ListWorkflowExecutionsRequest req;
    req.set_namespace_(options_.namespace_);
    req.set_query(query);
    req.set_page_size(1000);
    req.set_next_page_token(token);
    auto resp = unary<ws::ListWorkflowExecutionsRequest, ws::ListWorkflowExecutionsResponse>(
        *this, &ws::WorkflowService::Stub::ListWorkflowExecutions, req, "list workflows");
    for (auto& e : *resp.mutable_executions()) out.push_back(std::move(e));
    token = resp.next_page_token();
  } while (!token.empty());
  return out;
}

void Client::signal(const std::string& workflow_id, const std::string& run_id, const std::string& name,
                    const Payloads& input) {
  ws::SignalWorkflowExecutionRequest req;
  req.set_namespace_(options_.namespace_);
  req.mutable_workflow_execution()->set_workflow_id(workflow_id);
  req.mutable_workflow_execution()->set_run_id(run_id);
  req.set_signal_name(name);
  if (input.payloads_size() > 0) *req.mutable_input() = input;
  req.set_identity(options_.identity);
  req.set_request_id(fresh_uuid());
  unary<ws::SignalWorkflowExecutionRequest, ws::SignalWorkflowExecutionResponse>(
      *this, &ws::WorkflowService::Stub::SignalWorkflowExecution, req, "signal " + workflow_id);
}

void Client::cancel(const std::string& workflow_id, const std::string& run_id, const std::string& reason) {
  ws::RequestCancelWorkflowExecutionRequest req;
  req.set_namespace_(options_.namespace_);
  req.mutable_workflow_execution()->set_workflow_id(workflow_id);
  req.mutable_workflow_execution()->set_run_id(run_id);
  req.set_identity(options_.identity);
  req.set_request_id(fresh_uuid());
  req.set_reason(reason);
  unary<ws::RequestCancelWorkflowExecutionRequest, ws::RequestCancelWorkflowExecutionResponse>(
      *this, &ws::WorkflowService::Stub::RequestCancelWorkflowExecution, req, "cancel " + workflow_id);
}

void Client::terminate(const std::string& workflow_id, const std::string& run_id, const std::string& reason) {
  ws::TerminateWorkflowExecutionRequest req;
  req.set_namespace_(options_.namespace_);
  req.mutable_workflow_execution()->set_workflow_id(workflow_id);
  req.mutable_workflow_execution()->set_run_id(run_id);
  req.set_reason(reason);
  req.set_identity(options_.identity);
  unary<ws::TerminateWorkflowExecutionRequest, ws::TerminateWorkflowExecutionResponse>(
      *this, &ws::WorkflowService::Stub::TerminateWorkflowExecution, req, "terminate " + workflow_id);
}

namespace {
// What the close event of one run of the chain says: the result, or (nullopt) that the chain goes
// on in the run `run_id` is set to (continue-as-new, retry); throws WorkflowFailedError when the
// workflow ended without a result.
std::optional<Payloads> follow_close_event(const std::string& workflow_id,
                                           const temporal::api::history::v1::HistoryEvent& close, std::string& run_id) {
  switch (close.event_type()) {
    case enums::EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED: {
      const auto& a = close.workflow_execution_completed_event_attributes();
      if (!a.new_execution_run_id().empty()) {
        run_id = a.new_execution_run_id();
        return std::nullopt;
      }
      return a.result();
    }
    case enums::EVENT_TYPE_WORKFLOW_EXECUTION_CONTINUED_AS_NEW:
      run_id = close.workflow_execution_continued_as_new_event_attributes().new_execution_run_id();
      return std::nullopt;
    case enums::EVENT_TYPE_WORKFLOW_EXECUTION_FAILED: {
      const auto& a = close.workflow_execution_failed_event_attributes();
      if (!a.new_execution_run_id().empty()) {
        run_id = a.new_execution_run_id();
        return std::nullopt;
      }
      throw WorkflowFailedError("workflow " + workflow_id + " failed: " + a.failure().message(),
                                enums::WORKFLOW_EXECUTION_STATUS_FAILED, a.failure());
    }
    case enums::EVENT_TYPE_WORKFLOW_EXECUTION_TIMED_OUT: {
      const auto& a = close.workflow_execution_timed_out_event_attributes();
      if (!a.new_execution_run_id().empty()) {
        run_id = a.new_execution_run_id();
        return std::nullopt;
      }
      throw WorkflowFailedError("workflow " + workflow_id + " timed out", enums::WORKFLOW_EXECUTION_STATUS_TIMED_OUT,
                                {});
    }
    case enums::EVENT_TYPE_WORKFLOW_EXECUTION_CANCELED: {
      temporal::api::failure::v1::Failure f;
      f.set_message("Workflow canceled");
      *f.mutable_canceled_failure_info()->mutable_details() =
          close.workflow_execution_canceled_event_attributes().details();
      throw WorkflowFailedError("workflow " + workflow_id + " was canceled", enums::WORKFLOW_EXECUTION_STATUS_CANCELED,
                                f);
    }
    case enums::EVENT_TYPE_WORKFLOW_EXECUTION_TERMINATED: {
      const auto& a = close.workflow_execution_terminated_event_attributes();
      temporal::api::failure::v1::Failure f;
      f.set_message(a.reason().empty() ? "Workflow terminated" : a.reason());
      f.mutable_terminated_failure_info()->set_identity(a.identity());
      throw WorkflowFailedError(
          "workflow " + workflow_id + " was terminated" + (a.reason().empty() ? "" : ": " + a.reason()),
          enums::WORKFLOW_EXECUTION_STATUS_TERMINATED, f);
    }
    default:
      throw ClientError("unexpected close event " + enums::EventType_Name(close.event_type()));
  }
}
}  // namespace

// One wait for a result: long polls for the close event, one after another (each started from the
// completion of the one before), following the chain of runs to the last one.
struct Client::ResultWait : std::enable_shared_from_this<ResultWait> {
  using SteadyTime = std::chrono::steady_clock::time_point;
  ResultWait(Client& client, std::string workflow_id, std::string run_id,
             std::optional<std::chrono::milliseconds> timeout, Then<Payloads> then)
      : client(client),
        workflow_id(std::move(workflow_id)),
        run_id(std::move(run_id)),
        timeout(timeout),
        give_up(timeout ? std::chrono::steady_clock::now() + *timeout : SteadyTime::max()),
        then(std::move(then)) {}

  void poll() {
    if (std::chrono::steady_clock::now() >= give_up)
      return fail(std::make_exception_ptr(ClientError("timed out waiting for the result of workflow " + workflow_id)));
    auto call =
        std::make_shared<AsyncCall<ws::GetWorkflowExecutionHistoryRequest, ws::GetWorkflowExecutionHistoryResponse>>();
    auto& req = call->req;
    req.set_namespace_(client.options().namespace_);
    req.mutable_execution()->set_workflow_id(workflow_id);
    req.mutable_execution()->set_run_id(run_id);
    req.set_wait_new_event(true);
    req.set_history_event_filter_type(enums::HISTORY_EVENT_FILTER_TYPE_CLOSE_EVENT);
    req.set_skip_archival(true);
    req.set_next_page_token(token);
    // A long poll: the server answers an empty page shortly before this deadline if nothing closed.
    auto poll_for = std::chrono::milliseconds(30'000);
    if (timeout) {
      auto left = std::chrono::duration_cast<std::chrono::milliseconds>(give_up - std::chrono::steady_clock::now());
      poll_for = std::max(std::chrono::milliseconds(1500), std::min(poll_for, left));
    }
    call->ctx.set_deadline(std::chrono::system_clock::now() + poll_for);
    client.impl().stub->async()->GetWorkflowExecutionHistory(
        &call->ctx, &call->req, &call->resp,
        [self = shared_from_this(), call](grpc::Status st) { self->answered(st, call->resp); });
  }

  // Decides first (poll again, the result, or an error), then acts: `then` runs outside the try,
  // so an exception of its own is not mistaken for the wait's.
  void answered(const grpc::Status& st, ws::GetWorkflowExecutionHistoryResponse& resp) {
    std::optional<Payloads> result;
    std::exception_ptr error;
    try {
      if (st.error_code() != grpc::StatusCode::DEADLINE_EXCEEDED) {  // a long poll that ran out: again
        if (!st.ok()) throw_status(st, "wait for the result of " + workflow_id);
        if (resp.history().events_size() == 0) {
          token = resp.next_page_token();
        } else {
          token.clear();
          result = follow_close_event(workflow_id, resp.history().events(resp.history().events_size() - 1), run_id);
        }
      }
    } catch (...) {
      error = std::current_exception();
    }
    if (error) return fail(error);
    if (!result) return poll();
    then({std::move(result), nullptr});
  }

  void fail(std::exception_ptr error) { then({std::nullopt, error}); }

  Client& client;
  std::string workflow_id;
  std::string run_id;  // the run waited on now
  std::string token;
  std::optional<std::chrono::milliseconds> timeout;
  SteadyTime give_up;
  Then<Payloads> then;
};

void Client::result_async(const std::string& workflow_id, const std::string& run_id, Then<Payloads> then,
                          std::optional<std::chrono::milliseconds> timeout) {
  std::make_shared<ResultWait>(*this, workflow_id, run_id, timeout, std::move(then))->poll();
}

Payloads Client::result(const std::string& workflow_id, const std::string& run_id,
                        std::optional<std::chrono::milliseconds> timeout) {
  std::promise<Outcome<Payloads>> done;
  auto outcome = done.get_future();
  result_async(
      workflow_id, run_id, [&done](Outcome<Payloads> o) { done.set_value(std::move(o)); }, timeout);
  return std::move(outcome.get().get());
}

Payloads WorkflowHandle::result(std::optional<std::chrono::milliseconds> timeout) {
  return client_->result(workflow_id, run_id, timeout);
}

void WorkflowHandle::result_async(Then<Payloads> then, std::optional<std::chrono::milliseconds> timeout) {
  client_->result_async(workflow_id, run_id, std::move(then), timeout);
}

nlohmann::json WorkflowHandle::result_json(std::optional<std::chrono::milliseconds> timeout) {
  auto payloads = result(timeout);
  if (payloads.payloads_size() == 0) return nullptr;
  return payload_json(payloads.payloads(0));
}

ws::DescribeWorkflowExecutionResponse WorkflowHandle::describe() { return client_->describe(workflow_id, run_id); }
temporal::api::history::v1::History WorkflowHandle::history() { return client_->fetch_history(workflow_id, run_id); }
void WorkflowHandle::signal(const std::string& name, const Payloads& input) {
  client_->signal(workflow_id, run_id, name, input);
}
void WorkflowHandle::cancel(const std::string& reason) { client_->cancel(workflow_id, run_id, reason); }
void WorkflowHandle::terminate(const std::string& reason) { client_->terminate(workflow_id, run_id, reason); }

}  // namespace reprise
