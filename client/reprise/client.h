// reprise::Client: start workflows and talk to them from ordinary (non-workflow) code.
//
// A Client holds one gRPC channel to a Reprise (or Temporal) server and a namespace. start_workflow
// returns a WorkflowHandle; its result() waits for the run to close by long-polling the close
// event, following continue-as-new and retry runs to the last one, as Temporal's SDK clients do.
// Failures come back as typed exceptions (WorkflowAlreadyStartedError, WorkflowNotFoundError,
// WorkflowFailedError with the Failure chain, ...), never as bare gRPC codes.
// Arguments and results travel as Temporal Payloads; json_payload()/payload_json() convert
// nlohmann::json values with the json/plain encoding.
// start_workflow and result also come in asynchronous forms, for a program that keeps many
// workflows in flight without a thread blocked for each (bench/e2e_bench.cpp's load generator).
// Exercised by tests/client/client_test.cpp and the CLI tests in tests/client/cli_test.cpp.
#pragma once

#include <chrono>
#include <exception>
#include <functional>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include "temporal/api/common/v1/message.pb.h"
#include "temporal/api/failure/v1/message.pb.h"
#include "temporal/api/history/v1/message.pb.h"
#include "temporal/api/workflow/v1/message.pb.h"
#include "temporal/api/workflowservice/v1/request_response.pb.h"

namespace grpc {
class Channel;
}

namespace reprise {

using Payload = temporal::api::common::v1::Payload;
using Payloads = temporal::api::common::v1::Payloads;

// json/plain payloads, as every Temporal SDK writes them.
Payload json_payload(const nlohmann::json& value);
// Decodes json/plain (and binary/null as null). Throws ClientError for other encodings.
nlohmann::json payload_json(const Payload& payload);
Payloads json_payloads(const std::vector<nlohmann::json>& values);

// --- Errors ---
class ClientError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};
// The server could not be reached or refused the call for a reason not covered below.
class ServiceError : public ClientError {
 public:
  ServiceError(int grpc_code, const std::string& message);
  int grpc_code() const { return code_; }

 private:
  int code_;
};
class WorkflowAlreadyStartedError : public ClientError {
 public:
  WorkflowAlreadyStartedError(const std::string& message, std::string run_id)
      : ClientError(message), run_id(std::move(run_id)) {}
  std::string run_id;  // the run that holds the id
};
class WorkflowNotFoundError : public ClientError {
 public:
  using ClientError::ClientError;
};
// The run closed without a result: failed, timed out, canceled or terminated.
class WorkflowFailedError : public ClientError {
 public:
  WorkflowFailedError(const std::string& message, temporal::api::enums::v1::WorkflowExecutionStatus status,
                      temporal::api::failure::v1::Failure failure)
      : ClientError(message), status(status), failure(std::move(failure)) {}
  temporal::api::enums::v1::WorkflowExecutionStatus status;
  temporal::api::failure::v1::Failure failure;  // empty for terminated/timed out
};

struct ClientOptions {
  std::string address = "127.0.0.1:7233";
  std::string namespace_ = "default";
  std::string identity;                  // default: "<pid>@<host>"
  std::chrono::seconds rpc_timeout{30};  // for calls that do not long-poll
};

struct StartWorkflowOptions {
  std::string id;          // required
  std::string task_queue;  // required
  std::chrono::milliseconds execution_timeout{0};
  std::chrono::milliseconds run_timeout{0};
  std::chrono::milliseconds task_timeout{0};
  temporal::api::enums::v1::WorkflowIdReusePolicy id_reuse_policy{};
  temporal::api::enums::v1::WorkflowIdConflictPolicy id_conflict_policy{};
  std::string request_id;  // default: a fresh UUID
};

// What an asynchronous call ends with: its value, or the error the blocking form would have thrown.
template <class T>
struct Outcome {
  std::optional<T> value;
  std::exception_ptr error;
  // The value; rethrows the error (the same typed exceptions as the blocking form).
  T& get() {
    if (error) std::rethrow_exception(error);
    return *value;
  }
};
// How an asynchronous call reports: exactly once, on one of gRPC's threads (or on the calling
// thread before the call returns, when it is refused before anything is sent: a request missing
// its id, a result wait already past its timeout). It must not block there: start the next call
// asynchronously instead.
template <class T>
using Then = std::function<void(Outcome<T>)>;

class Client;

// A started workflow: its id and the run the start created.
class WorkflowHandle {
 public:
  WorkflowHandle(Client& client, std::string workflow_id, std::string run_id)
      : workflow_id(std::move(workflow_id)), run_id(std::move(run_id)), client_(&client) {}

  // Waits for the run (and any runs it continued as) to close. Returns the result payloads; throws
  // WorkflowFailedError when it did not complete, WorkflowNotFoundError when there is no such run.
  Payloads result(std::optional<std::chrono::milliseconds> timeout = std::nullopt);
  nlohmann::json result_json(std::optional<std::chrono::milliseconds> timeout = std::nullopt);
  void result_async(Then<Payloads> then, std::optional<std::chrono::milliseconds> timeout = std::nullopt);
  temporal::api::workflowservice::v1::DescribeWorkflowExecutionResponse describe();
  temporal::api::history::v1::History history();
  void signal(const std::string& name, const Payloads& input = {});
  void cancel(const std::string& reason = {});
  void terminate(const std::string& reason = {});

  std::string workflow_id;
  std::string run_id;

 private:
  Client* client_;
};

class Client {
 public:
  explicit Client(ClientOptions options = {});
  ~Client();
  Client(const Client&) = delete;
  Client& operator=(const Client&) = delete;

  const ClientOptions& options() const { return options_; }

  WorkflowHandle start_workflow(const std::string& workflow_type, const StartWorkflowOptions& options,
                                const Payloads& input = {});
  void start_workflow_async(const std::string& workflow_type, const StartWorkflowOptions& options,
                            const Payloads& input, Then<WorkflowHandle> then);
  // A handle for an existing workflow; an empty run id means "the current run".
  WorkflowHandle get_handle(const std::string& workflow_id, const std::string& run_id = {});

  // The whole history of a run (all pages).
  temporal::api::history::v1::History fetch_history(const std::string& workflow_id, const std::string& run_id = {});
  temporal::api::workflowservice::v1::DescribeWorkflowExecutionResponse describe(const std::string& workflow_id,
                                                                                 const std::string& run_id = {});
  // query: Reprise's subset of Temporal's list filter, e.g. "WorkflowType = 'greet' AND ExecutionStatus = 'Running'".
  std::vector<temporal::api::workflow::v1::WorkflowExecutionInfo> list(const std::string& query = {});
  void signal(const std::string& workflow_id, const std::string& run_id, const std::string& name,
              const Payloads& input = {});
  void cancel(const std::string& workflow_id, const std::string& run_id, const std::string& reason = {});
  void terminate(const std::string& workflow_id, const std::string& run_id, const std::string& reason = {});
  // Waits for the close event of a run, following continue-as-new/retry runs (see WorkflowHandle::result).
  Payloads result(const std::string& workflow_id, const std::string& run_id,
                  std::optional<std::chrono::milliseconds> timeout = std::nullopt);
  void result_async(const std::string& workflow_id, const std::string& run_id, Then<Payloads> then,
                    std::optional<std::chrono::milliseconds> timeout = std::nullopt);

  // The connection this client's calls use (and a worker's blocking ones: heartbeats, history
  // fetches, shutdown's reports).
  std::shared_ptr<grpc::Channel> channel() const;
  // The connection the workers built on this client share for their polls and reports
  // (reprise::Worker): a second channel to
  // the same server with gRPC's own retries turned off, made on first use. A worker retries its
  // reports itself (worker/runtime/report_retry.h), and gRPC's retry machinery, which runs on every
  // call whether it retries or not, was 11 % of a worker's instructions (bench/README.md, item 39).
  std::shared_ptr<grpc::Channel> worker_channel() const;

  struct Impl;
  Impl& impl() { return *impl_; }

 private:
  struct ResultWait;  // one result_async under way (client.cpp)
  ClientOptions options_;
  std::unique_ptr<Impl> impl_;
};

}  // namespace reprise
