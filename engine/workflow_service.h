// The gRPC front door: Temporal's WorkflowService, served with gRPC's callback (reactor) API.
//
// Each RPC is translated into one HistoryEngine call. The calls every workflow step makes
// (RespondWorkflowTaskCompleted, RespondActivityTask*) run on the gRPC thread that read them and
// are finished from wherever the engine answers (Reply: once their commit is durable), so no thread
// waits for an fsync. The other calls run on a small thread pool (they may wait for a group
// commit). Long polls (PollWorkflowTaskQueue, PollActivityTaskQueue, GetWorkflowExecutionHistory
// with wait_new_event) hold no thread at all while parked, so thousands of idle workers cost
// little. Errors become gRPC statuses with Temporal's typed details.
// Exercised by tests/engine/server_*_test.cpp, which talk to it as a raw worker would.
#pragma once

#include <boost/asio/thread_pool.hpp>
#include <memory>

#include "history_engine.h"
#include "temporal/api/workflowservice/v1/service.grpc.pb.h"

namespace reprise::engine {

class WorkflowService final : public temporal::api::workflowservice::v1::WorkflowService::CallbackService {
 public:
  WorkflowService(HistoryEngine& engine, std::string server_version);
  ~WorkflowService() override;

  using Ctx = grpc::CallbackServerContext;
  using Reactor = grpc::ServerUnaryReactor;

  Reactor* GetSystemInfo(Ctx*, const ws::GetSystemInfoRequest*, ws::GetSystemInfoResponse*) override;
  Reactor* DescribeNamespace(Ctx*, const ws::DescribeNamespaceRequest*, ws::DescribeNamespaceResponse*) override;
  Reactor* StartWorkflowExecution(Ctx*, const ws::StartWorkflowExecutionRequest*,
                                  ws::StartWorkflowExecutionResponse*) override;
  Reactor* GetWorkflowExecutionHistory(Ctx*, const ws::GetWorkflowExecutionHistoryRequest*,
                                       ws::GetWorkflowExecutionHistoryResponse*) override;
  Reactor* PollWorkflowTaskQueue(Ctx*, const ws::PollWorkflowTaskQueueRequest*,
                                 ws::PollWorkflowTaskQueueResponse*) override;
  Reactor* RespondWorkflowTaskCompleted(Ctx*, const ws::RespondWorkflowTaskCompletedRequest*,
                                        ws::RespondWorkflowTaskCompletedResponse*) override;
  Reactor* RespondWorkflowTaskFailed(Ctx*, const ws::RespondWorkflowTaskFailedRequest*,
                                     ws::RespondWorkflowTaskFailedResponse*) override;
  Reactor* PollActivityTaskQueue(Ctx*, const ws::PollActivityTaskQueueRequest*,
                                 ws::PollActivityTaskQueueResponse*) override;
  Reactor* RecordActivityTaskHeartbeat(Ctx*, const ws::RecordActivityTaskHeartbeatRequest*,
                                       ws::RecordActivityTaskHeartbeatResponse*) override;
  Reactor* RespondActivityTaskCompleted(Ctx*, const ws::RespondActivityTaskCompletedRequest*,
                                        ws::RespondActivityTaskCompletedResponse*) override;
  Reactor* RespondActivityTaskFailed(Ctx*, const ws::RespondActivityTaskFailedRequest*,
                                     ws::RespondActivityTaskFailedResponse*) override;
  Reactor* RespondActivityTaskCanceled(Ctx*, const ws::RespondActivityTaskCanceledRequest*,
                                       ws::RespondActivityTaskCanceledResponse*) override;
  Reactor* SignalWorkflowExecution(Ctx*, const ws::SignalWorkflowExecutionRequest*,
                                   ws::SignalWorkflowExecutionResponse*) override;
  Reactor* RequestCancelWorkflowExecution(Ctx*, const ws::RequestCancelWorkflowExecutionRequest*,
                                          ws::RequestCancelWorkflowExecutionResponse*) override;
  Reactor* TerminateWorkflowExecution(Ctx*, const ws::TerminateWorkflowExecutionRequest*,
                                      ws::TerminateWorkflowExecutionResponse*) override;
  Reactor* DescribeWorkflowExecution(Ctx*, const ws::DescribeWorkflowExecutionRequest*,
                                     ws::DescribeWorkflowExecutionResponse*) override;
  Reactor* ListWorkflowExecutions(Ctx*, const ws::ListWorkflowExecutionsRequest*,
                                  ws::ListWorkflowExecutionsResponse*) override;
  Reactor* CountWorkflowExecutions(Ctx*, const ws::CountWorkflowExecutionsRequest*,
                                   ws::CountWorkflowExecutionsResponse*) override;
  Reactor* ShutdownWorker(Ctx*, const ws::ShutdownWorkerRequest*, ws::ShutdownWorkerResponse*) override;

 private:
  template <class Req, class Resp, class Fn>
  Reactor* unary(Ctx* ctx, const Req* req, Resp* resp, Fn fn);
  template <class Req, class Resp, class Fn>
  Reactor* unary_async(Ctx* ctx, const Req* req, Resp* resp, Fn fn);
  template <class Req, class Resp, class Fn>
  Reactor* long_poll(Ctx* ctx, const Req* req, Resp* resp, Fn fn);

  HistoryEngine& engine_;
  std::string server_version_;
  boost::asio::thread_pool rpc_pool_;
};

}  // namespace reprise::engine
