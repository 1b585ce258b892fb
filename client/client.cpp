// The client library (see reprise/client.h): thin, typed wrappers over WorkflowService calls.
#include "reprise/client.h"

#include <absl/synchronization/mutex.h>
#include <grpcpp/create_channel.h>
#include <unistd.h>

#include <boost/uuid/random_generator.hpp>
#include <boost/uuid/uuid_io.hpp>

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
};

namespace {

std::string fresh_uuid() {
  thread_local boost::uuids::random_generator generator;
  return boost::uuids::to_string(generator());
}

std::string default_identity() {
  char host[256] = {};
  gethostname(host, sizeof host - 1);
  return std::to_string(getpid()) + "@" + host;
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
  grpc::ChannelArguments args;
  args.SetMaxReceiveMessageSize(128 * 1024 * 1024);
  impl_->channel = grpc::CreateCustomChannel(options_.address, grpc::InsecureChannelCredentials(), args);
  impl_->stub = ws::WorkflowService::NewStub(impl_->channel);
}

Client::~Client() = default;

std::shared_ptr<grpc::Channel> Client::channel() const { return impl_->channel; }

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

WorkflowHandle Client::start_workflow(const std::string& workflow_type, const StartWorkflowOptions& o,
                                      const Payloads& input) {
  if (o.id.empty()) throw ClientError("start_workflow: a workflow id is required");
  if (o.task_queue.empty()) throw ClientError("start_workflow: a task queue is required");
  ws::StartWorkflowExecutionRequest req;
  req.set_namespace_(options_.namespace_);
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
  req.set_identity(options_.identity);
  req.set_request_id(o.request_id.empty() ? fresh_uuid() : o.request_id);
  req.set_workflow_id_reuse_policy(o.id_reuse_policy);
  req.set_workflow_id_conflict_policy(o.id_conflict_policy);
  auto resp = unary<ws::StartWorkflowExecutionRequest, ws::StartWorkflowExecutionResponse>(
      *this, &ws::WorkflowService::Stub::StartWorkflowExecution, req, "start workflow " + o.id);
  return WorkflowHandle(*this, o.id, resp.run_id());
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

Payloads Client::result(const std::string& workflow_id, const std::string& first_run_id,
                        std::optional<std::chrono::milliseconds> timeout) {
  using SteadyTime = std::chrono::steady_clock::time_point;
  const SteadyTime give_up = timeout ? std::chrono::steady_clock::now() + *timeout : SteadyTime::max();
  std::string run_id = first_run_id;
  std::string token;
  while (true) {
    if (std::chrono::steady_clock::now() >= give_up)
      throw ClientError("timed out waiting for the result of workflow " + workflow_id);
    ws::GetWorkflowExecutionHistoryRequest req;
    req.set_namespace_(options_.namespace_);
    req.mutable_execution()->set_workflow_id(workflow_id);
    req.mutable_execution()->set_run_id(run_id);
    req.set_wait_new_event(true);
    req.set_history_event_filter_type(enums::HISTORY_EVENT_FILTER_TYPE_CLOSE_EVENT);
    req.set_skip_archival(true);
    req.set_next_page_token(token);
    grpc::ClientContext ctx;
    // A long poll: the server answers an empty page shortly before this deadline if nothing closed.
    auto poll_for = std::chrono::milliseconds(30'000);
    if (timeout) {
      auto left = std::chrono::duration_cast<std::chrono::milliseconds>(give_up - std::chrono::steady_clock::now());
      poll_for = std::max(std::chrono::milliseconds(1500), std::min(poll_for, left));
    }
    ctx.set_deadline(std::chrono::system_clock::now() + poll_for);
    ws::GetWorkflowExecutionHistoryResponse resp;
    auto st = impl_->stub->GetWorkflowExecutionHistory(&ctx, req, &resp);
    if (st.error_code() == grpc::StatusCode::DEADLINE_EXCEEDED) continue;
    if (!st.ok()) throw_status(st, "wait for the result of " + workflow_id);
    if (resp.history().events_size() == 0) {
      token = resp.next_page_token();
      continue;
    }
    const auto& close = resp.history().events(resp.history().events_size() - 1);
    token.clear();
    switch (close.event_type()) {
      case enums::EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED: {
        const auto& a = close.workflow_execution_completed_event_attributes();
        if (!a.new_execution_run_id().empty()) {
          run_id = a.new_execution_run_id();
          continue;
        }
        return a.result();
      }
      case enums::EVENT_TYPE_WORKFLOW_EXECUTION_CONTINUED_AS_NEW:
        run_id = close.workflow_execution_continued_as_new_event_attributes().new_execution_run_id();
        continue;
      case enums::EVENT_TYPE_WORKFLOW_EXECUTION_FAILED: {
        const auto& a = close.workflow_execution_failed_event_attributes();
        if (!a.new_execution_run_id().empty()) {
          run_id = a.new_execution_run_id();
          continue;
        }
        throw WorkflowFailedError("workflow " + workflow_id + " failed: " + a.failure().message(),
                                  enums::WORKFLOW_EXECUTION_STATUS_FAILED, a.failure());
      }
      case enums::EVENT_TYPE_WORKFLOW_EXECUTION_TIMED_OUT: {
        const auto& a = close.workflow_execution_timed_out_event_attributes();
        if (!a.new_execution_run_id().empty()) {
          run_id = a.new_execution_run_id();
          continue;
        }
        throw WorkflowFailedError("workflow " + workflow_id + " timed out", enums::WORKFLOW_EXECUTION_STATUS_TIMED_OUT,
                                  {});
      }
      case enums::EVENT_TYPE_WORKFLOW_EXECUTION_CANCELED: {
        temporal::api::failure::v1::Failure f;
        f.set_message("Workflow canceled");
        *f.mutable_canceled_failure_info()->mutable_details() =
            close.workflow_execution_canceled_event_attributes().details();
        throw WorkflowFailedError("workflow " + workflow_id + " was canceled",
                                  enums::WORKFLOW_EXECUTION_STATUS_CANCELED, f);
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
}

Payloads WorkflowHandle::result(std::optional<std::chrono::milliseconds> timeout) {
  return client_->result(workflow_id, run_id, timeout);
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
