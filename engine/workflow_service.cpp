// RPC-by-RPC translation to the engine (see workflow_service.h).
#include "workflow_service.h"

#include <spdlog/spdlog.h>

#include <atomic>
#include <boost/asio/post.hpp>

namespace reprise::engine {

namespace {

SteadyTime steady_deadline(const grpc::CallbackServerContext* ctx) {
  auto deadline = ctx->deadline();
  if (deadline == std::chrono::system_clock::time_point::max()) return SteadyTime::max();
  auto left = deadline - std::chrono::system_clock::now();
  if (left > std::chrono::hours(24)) return SteadyTime::max();
  return std::chrono::steady_clock::now() + std::chrono::duration_cast<std::chrono::steady_clock::duration>(left);
}

grpc::Status status_of(std::exception_ptr error) {
  try {
    std::rethrow_exception(error);
  } catch (const EngineError& e) {
    return to_grpc_status(e);
  } catch (const std::exception& e) {
    spdlog::error("internal error: {}", e.what());
    return {grpc::StatusCode::INTERNAL, std::string("internal error: ") + e.what()};
  } catch (...) {
    spdlog::error("internal error: an exception of unknown type");
    return {grpc::StatusCode::INTERNAL, "internal error"};
  }
}

// A reactor for a parked long poll. It finishes exactly once, when the engine calls back; if the
// client goes away first, the engine is told to stop waiting and answers at once.
// Both its reactions are trivial: OnDone drops a reference, OnCancel posts the engine's cancel to
// the RPC pool. So it tells gRPC they may run inline (InternalInlineable, gRPC's hook for its own
// DefaultReactor; not public API); otherwise gRPC hands each finished poll's OnDone to one of its
// executor threads, a thread hop for every poll.
class LongPollReactor final : public grpc::ServerUnaryReactor {
 public:
  explicit LongPollReactor(boost::asio::thread_pool& pool) : pool_(pool) {}
  void attach(std::shared_ptr<PollHandle> handle) {
    std::lock_guard lock(mu_);
    handle_ = std::move(handle);
    if (cancelled_ && handle_) handle_->cancel();
  }
  void OnCancel() override {
    std::shared_ptr<PollHandle> handle;
    {
      std::lock_guard lock(mu_);
      cancelled_ = true;
      handle = handle_;
    }
    if (handle) boost::asio::post(pool_, [handle] { handle->cancel(); });
  }
  bool InternalInlineable() override { return true; }
  // The reactor is freed when both gRPC is done with it and long_poll() has attached the handle:
  // the engine may answer (and gRPC finish) before long_poll() returns.
  void OnDone() override { release(); }
  void release() {
    if (--refs_ == 0) delete this;
  }

 private:
  boost::asio::thread_pool& pool_;
  std::atomic<int> refs_{2};
  std::mutex mu_;
  std::shared_ptr<PollHandle> handle_;
  bool cancelled_ = false;
};

}  // namespace

WorkflowService::WorkflowService(HistoryEngine& engine, std::string server_version)
    : engine_(engine), server_version_(std::move(server_version)), rpc_pool_(16) {}

WorkflowService::~WorkflowService() { rpc_pool_.join(); }

template <class Req, class Resp, class Fn>
WorkflowService::Reactor* WorkflowService::unary(Ctx* ctx, const Req* req, Resp* resp, Fn fn) {
  auto* reactor = ctx->DefaultReactor();
  boost::asio::post(rpc_pool_, [reactor, req, resp, fn = std::move(fn)] {
    try {
      *resp = fn(*req);
      reactor->Finish(grpc::Status::OK);
    } catch (...) {
      reactor->Finish(status_of(std::current_exception()));
    }
  });
  return reactor;
}

// For the engine's asynchronous methods: the call starts on the gRPC thread that read the
// request, and the reactor is finished by the engine's Reply.
template <class Req, class Resp, class Fn>
WorkflowService::Reactor* WorkflowService::unary_async(Ctx* ctx, const Req* req, Resp* resp, Fn fn) {
  auto* reactor = ctx->DefaultReactor();
  try {
    fn(*req, [reactor, resp](Resp answer, std::exception_ptr error) {
      if (error) return reactor->Finish(status_of(error));
      *resp = std::move(answer);
      reactor->Finish(grpc::Status::OK);
    });
  } catch (...) {  // refused before anything was started: the Reply will not run
    reactor->Finish(status_of(std::current_exception()));
  }
  return reactor;
}

template <class Req, class Resp, class Fn>
WorkflowService::Reactor* WorkflowService::long_poll(Ctx* ctx, const Req* req, Resp* resp, Fn fn) {
  auto* reactor = new LongPollReactor(rpc_pool_);
  auto deadline = steady_deadline(ctx);
  std::shared_ptr<PollHandle> handle;
  try {
    handle = fn(*req, deadline, [reactor, resp](auto answer) {
      *resp = std::move(answer);
      reactor->Finish(grpc::Status::OK);
    });
  } catch (...) {
    reactor->Finish(status_of(std::current_exception()));
  }
  reactor->attach(std::move(handle));
  reactor->release();
  return reactor;
}

WorkflowService::Reactor* WorkflowService::GetSystemInfo(Ctx* ctx, const ws::GetSystemInfoRequest* req,
                                                         ws::GetSystemInfoResponse* resp) {
  resp->set_server_version(server_version_);
  // Only what is true of Reprise: sdk_metadata is stored exactly as sent, failures are stored as
  // sent (so encoded attributes survive), and heartbeat details come back with activity failures.
  auto* caps = resp->mutable_capabilities();
  caps->set_sdk_metadata(true);
  caps->set_encoded_failure_attributes(true);
  caps->set_activity_failure_include_heartbeat(true);
  caps->set_signal_and_query_header(true);
  auto* reactor = ctx->DefaultReactor();
  reactor->Finish(grpc::Status::OK);
  return reactor;
}

WorkflowService::Reactor* WorkflowService::DescribeNamespace(Ctx* ctx, const ws::DescribeNamespaceRequest* req,
                                                             ws::DescribeNamespaceResponse* resp) {
  auto* reactor = ctx->DefaultReactor();
  const std::string& ns = req->namespace_();
  if (ns.empty() && req->id().empty()) {
    reactor->Finish({grpc::StatusCode::INVALID_ARGUMENT, "Namespace is not set on request"});
  } else if (!engine_.namespace_exists(ns)) {
    reactor->Finish({grpc::StatusCode::NOT_FOUND, "namespace " + ns + " is not found"});
  } else {
    auto* info = resp->mutable_namespace_info();
    info->set_name(ns);
    info->set_id("00000000-0000-4000-8000-" + std::string(12 - std::min<size_t>(ns.size(), 12), '0') +
                 ns.substr(0, std::min<size_t>(ns.size(), 12)));
    info->set_state(temporal::api::enums::v1::NAMESPACE_STATE_REGISTERED);
    info->set_description("Reprise dev server namespace");
    resp->mutable_config()->mutable_workflow_execution_retention_ttl()->set_seconds(24 * 3600);
    reactor->Finish(grpc::Status::OK);
  }
  return reactor;
}

WorkflowService::Reactor* WorkflowService::StartWorkflowExecution(Ctx* ctx,
                                                                  const ws::StartWorkflowExecutionRequest* req,
                                                                  ws::StartWorkflowExecutionResponse* resp) {
  return unary_async(ctx, req, resp,
                     [this](const auto& r, auto reply) { engine_.start_workflow_execution(r, std::move(reply)); });
}

WorkflowService::Reactor* WorkflowService::GetWorkflowExecutionHistory(
    Ctx* ctx, const ws::GetWorkflowExecutionHistoryRequest* req, ws::GetWorkflowExecutionHistoryResponse* resp) {
  return long_poll(ctx, req, resp, [this](const auto& r, SteadyTime deadline, auto done) {
    return engine_.get_workflow_execution_history(r, deadline, std::move(done));
  });
}

WorkflowService::Reactor* WorkflowService::PollWorkflowTaskQueue(Ctx* ctx, const ws::PollWorkflowTaskQueueRequest* req,
                                                                 ws::PollWorkflowTaskQueueResponse* resp) {
  return long_poll(ctx, req, resp, [this](const auto& r, SteadyTime deadline, auto done) {
    return engine_.poll_workflow_task_queue(r, deadline, std::move(done));
  });
}

WorkflowService::Reactor* WorkflowService::RespondWorkflowTaskCompleted(
    Ctx* ctx, const ws::RespondWorkflowTaskCompletedRequest* req, ws::RespondWorkflowTaskCompletedResponse* resp) {
  return unary_async(ctx, req, resp, [this](const auto& r, auto reply) {
    engine_.respond_workflow_task_completed(r, std::move(reply));
  });
}

WorkflowService::Reactor* WorkflowService::RespondWorkflowTaskFailed(Ctx* ctx,
                                                                     const ws::RespondWorkflowTaskFailedRequest* req,
                                                                     ws::RespondWorkflowTaskFailedResponse* resp) {
  return unary(ctx, req, resp, [this](const auto& r) { return engine_.respond_workflow_task_failed(r); });
}

WorkflowService::Reactor* WorkflowService::PollActivityTaskQueue(Ctx* ctx, const ws::PollActivityTaskQueueRequest* req,
                                                                 ws::PollActivityTaskQueueResponse* resp) {
  return long_poll(ctx, req, resp, [this](const auto& r, SteadyTime deadline, auto done) {
    return engine_.poll_activity_task_queue(r, deadline, std::move(done));
  });
}

WorkflowService::Reactor* WorkflowService::RecordActivityTaskHeartbeat(
    Ctx* ctx, const ws::RecordActivityTaskHeartbeatRequest* req, ws::RecordActivityTaskHeartbeatResponse* resp) {
  return unary(ctx, req, resp, [this](const auto& r) { return engine_.record_activity_task_heartbeat(r); });
}

WorkflowService::Reactor* WorkflowService::RespondActivityTaskCompleted(
    Ctx* ctx, const ws::RespondActivityTaskCompletedRequest* req, ws::RespondActivityTaskCompletedResponse* resp) {
  return unary_async(ctx, req, resp, [this](const auto& r, auto reply) {
    engine_.respond_activity_task_completed(r, std::move(reply));
  });
}

WorkflowService::Reactor* WorkflowService::RespondActivityTaskFailed(Ctx* ctx,
                                                                     const ws::RespondActivityTaskFailedRequest* req,
                                                                     ws::RespondActivityTaskFailedResponse* resp) {
  return unary_async(ctx, req, resp,
                     [this](const auto& r, auto reply) { engine_.respond_activity_task_failed(r, std::move(reply)); });
}

WorkflowService::Reactor* WorkflowService::RespondActivityTaskCanceled(
    Ctx* ctx, const ws::RespondActivityTaskCanceledRequest* req, ws::RespondActivityTaskCanceledResponse* resp) {
  return unary_async(ctx, req, resp, [this](const auto& r, auto reply) {
    engine_.respond_activity_task_canceled(r, std::move(reply));
  });
}

WorkflowService::Reactor* WorkflowService::SignalWorkflowExecution(Ctx* ctx,
                                                                   const ws::SignalWorkflowExecutionRequest* req,
                                                                   ws::SignalWorkflowExecutionResponse* resp) {
  return unary(ctx, req, resp, [this](const auto& r) { return engine_.signal_workflow_execution(r); });
}

WorkflowService::Reactor* WorkflowService::RequestCancelWorkflowExecution(
    Ctx* ctx, const ws::RequestCancelWorkflowExecutionRequest* req, ws::RequestCancelWorkflowExecutionResponse* resp) {
  return unary(ctx, req, resp, [this](const auto& r) { return engine_.request_cancel_workflow_execution(r); });
}

WorkflowService::Reactor* WorkflowService::TerminateWorkflowExecution(Ctx* ctx,
                                                                      const ws::TerminateWorkflowExecutionRequest* req,
                                                                      ws::TerminateWorkflowExecutionResponse* resp) {
  return unary(ctx, req, resp, [this](const auto& r) { return engine_.terminate_workflow_execution(r); });
}

WorkflowService::Reactor* WorkflowService::DescribeWorkflowExecution(Ctx* ctx,
                                                                     const ws::DescribeWorkflowExecutionRequest* req,
                                                                     ws::DescribeWorkflowExecutionResponse* resp) {
  return unary(ctx, req, resp, [this](const auto& r) { return engine_.describe_workflow_execution(r); });
}

WorkflowService::Reactor* WorkflowService::ListWorkflowExecutions(Ctx* ctx,
                                                                  const ws::ListWorkflowExecutionsRequest* req,
                                                                  ws::ListWorkflowExecutionsResponse* resp) {
  return unary(ctx, req, resp, [this](const auto& r) { return engine_.list_workflow_executions(r); });
}

WorkflowService::Reactor* WorkflowService::CountWorkflowExecutions(Ctx* ctx,
                                                                   const ws::CountWorkflowExecutionsRequest* req,
                                                                   ws::CountWorkflowExecutionsResponse* resp) {
  return unary(ctx, req, resp, [this](const auto& r) { return engine_.count_workflow_executions(r); });
}

WorkflowService::Reactor* WorkflowService::ShutdownWorker(Ctx* ctx, const ws::ShutdownWorkerRequest* req,
                                                          ws::ShutdownWorkerResponse* resp) {
  return unary(ctx, req, resp, [this](const auto& r) {
    engine_.shutdown_worker(r);
    return ws::ShutdownWorkerResponse{};
  });
}

}  // namespace reprise::engine
