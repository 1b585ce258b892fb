// The engine's one error type: a gRPC status code, a message that says what was wrong, and optional
// typed details (a Temporal errordetails message) that the service puts in grpc-status-details-bin.
// Every RPC handler that refuses a request throws one; nothing is written when it does.
// Exercised by tests/engine/server_errors_test.cpp and server_lifecycle_test.cpp (typed details).
#pragma once

#include <google/protobuf/any.pb.h>
#include <grpcpp/support/status.h>

#include <optional>
#include <stdexcept>
#include <string>

namespace reprise::engine {

class EngineError : public std::runtime_error {
 public:
  EngineError(grpc::StatusCode code, std::string message) : std::runtime_error(std::move(message)), code_(code) {}
  template <class Details>
  EngineError(grpc::StatusCode code, std::string message, const Details& details)
      : EngineError(code, std::move(message)) {
    details_.emplace().PackFrom(details);
  }
  grpc::StatusCode code() const { return code_; }
  const std::optional<google::protobuf::Any>& details() const { return details_; }

 private:
  grpc::StatusCode code_;
  std::optional<google::protobuf::Any> details_;
};

inline EngineError invalid_argument(std::string m) { return {grpc::StatusCode::INVALID_ARGUMENT, std::move(m)}; }
inline EngineError not_found(std::string m) { return {grpc::StatusCode::NOT_FOUND, std::move(m)}; }
inline EngineError failed_precondition(std::string m) { return {grpc::StatusCode::FAILED_PRECONDITION, std::move(m)}; }

// Converts an EngineError into the status sent on the wire, details included.
grpc::Status to_grpc_status(const EngineError& e);

}  // namespace reprise::engine
