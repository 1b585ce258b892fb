// Turning an EngineError into a gRPC status with typed details (see errors.h).
#include "errors.h"

#include "google/rpc/status.pb.h"

namespace reprise::engine {

grpc::Status to_grpc_status(const EngineError& e) {
  if (!e.details()) return {e.code(), e.what()};
  // The details travel in grpc-status-details-bin as a serialized google.rpc.Status; SDKs unpack the
  // Any inside to raise a typed error (e.g. WorkflowExecutionAlreadyStartedError).
  google::rpc::Status status;
  status.set_code(static_cast<int>(e.code()));
  status.set_message(e.what());
  *status.add_details() = *e.details();
  return {e.code(), e.what(), status.SerializeAsString()};
}

}  // namespace reprise::engine
