// The calls an SDK makes before anything else (temporal-semantics.md 4.2): GetSystemInfo must
// succeed and tell the truth about Reprise, DescribeNamespace must know "default", and what a
// worker sends as sdk_metadata must come back unchanged in history (replay depends on it). Temporal's
// core gzip-compresses every request, so the server must accept gzip.
// Code: engine/workflow_service.cpp, engine/workflow_tasks.cpp.
#include "test_server.h"

using namespace reprise::testing;

TEST_CASE("GetSystemInfo reports Reprise's version and the capabilities it really has", "[server][system]") {
  TestServer s;
  ws::GetSystemInfoRequest req;
  ws::GetSystemInfoResponse resp;
  REQUIRE(call(s, &ws::WorkflowService::Stub::GetSystemInfo, req, resp).ok());
  CHECK(resp.server_version().rfind("reprise-", 0) == 0);
  CHECK(resp.capabilities().sdk_metadata());
  CHECK_FALSE(resp.capabilities().eager_workflow_start());
  CHECK_FALSE(resp.capabilities().build_id_based_versioning());
}

TEST_CASE("DescribeNamespace knows default and refuses an unknown namespace with NOT_FOUND", "[server][system]") {
  TestServer s;
  ws::DescribeNamespaceRequest req;
  req.set_namespace_("default");
  ws::DescribeNamespaceResponse resp;
  REQUIRE(call(s, &ws::WorkflowService::Stub::DescribeNamespace, req, resp).ok());
  CHECK(resp.namespace_info().name() == "default");
  CHECK(resp.namespace_info().state() == enums::NAMESPACE_STATE_REGISTERED);
  CHECK_FALSE(resp.namespace_info().id().empty());

  req.set_namespace_("nope");
  auto st = call(s, &ws::WorkflowService::Stub::DescribeNamespace, req, resp);
  CHECK(st.error_code() == grpc::StatusCode::NOT_FOUND);
  CHECK(st.error_message().find("nope") != std::string::npos);
}

TEST_CASE("sdk_metadata sent with a completion is stored unchanged in WorkflowTaskCompleted", "[server][system]") {
  TestServer s;
  RawWorker w(s, "meta");
  w.start("wf-meta");
  auto wt = w.next_workflow_task();
  REQUIRE(w.complete_workflow_task(wt.task_token(), {complete_workflow("1")}, [](auto& req) {
             req.mutable_sdk_metadata()->add_core_used_flags(1);
             req.mutable_sdk_metadata()->add_core_used_flags(3);
             req.mutable_sdk_metadata()->set_sdk_name("temporal-typescript");
             req.mutable_sdk_metadata()->set_sdk_version("1.24.0");
           }).ok());
  auto events = history_of(s, "wf-meta");
  const auto& meta = events[3].workflow_task_completed_event_attributes().sdk_metadata();
  CHECK(std::vector<uint32_t>(meta.core_used_flags().begin(), meta.core_used_flags().end()) ==
        std::vector<uint32_t>{1, 3});
  CHECK(meta.sdk_name() == "temporal-typescript");
  CHECK(meta.sdk_version() == "1.24.0");
}

TEST_CASE("requests compressed with gzip, as Temporal's core sends them, are accepted", "[server][system]") {
  TestServer s;
  grpc::ChannelArguments args;
  args.SetCompressionAlgorithm(GRPC_COMPRESS_GZIP);
  auto gzip_stub = ws::WorkflowService::NewStub(
      grpc::CreateCustomChannel(s.server->address(), grpc::InsecureChannelCredentials(), args));

  ws::StartWorkflowExecutionRequest req;
  req.set_namespace_("default");
  req.set_workflow_id("wf-gzip");
  req.mutable_workflow_type()->set_name("TestWorkflow");
  req.mutable_task_queue()->set_name("gzip");
  req.set_request_id(reprise::engine::new_uuid());
  auto* p = req.mutable_input()->add_payloads();
  (*p->mutable_metadata())["encoding"] = "json/plain";
  const std::string big = "\"" + std::string(64 * 1024, 'z') + "\"";  // compresses to almost nothing
  p->set_data(big);
  ws::StartWorkflowExecutionResponse resp;
  grpc::ClientContext ctx;
  ctx.set_deadline(std::chrono::system_clock::now() + 30s);
  auto st = gzip_stub->StartWorkflowExecution(&ctx, req, &resp);
  REQUIRE(st.error_message() == "");
  REQUIRE(st.ok());

  auto events = history_of(s, "wf-gzip");
  REQUIRE(!events.empty());
  CHECK(events[0].workflow_execution_started_event_attributes().input().payloads(0).data() == big);
}
