// Assembling and running the server (see server.h).
#include "server.h"

#include <absl/synchronization/mutex.h>
#include <grpcpp/server_builder.h>
#include <spdlog/spdlog.h>

#include <stdexcept>

namespace reprise::engine {

Server::Server(history::HistoryStore& store, Clock& clock, ServerOptions options)
    : store_(store), options_(std::move(options)) {
  engine_ = std::make_unique<HistoryEngine>(store_, clock, options_.engine);
  service_ = std::make_unique<WorkflowService>(*engine_, kServerVersion);
}

Server::~Server() { shutdown(); }

void Server::start() {
  engine_->start();
  // Abseil's lock-order tracking (on in Debian's build) costs a graph update per contended gRPC
  // mutex; Reprise's own locks are std::mutex and unaffected. Process-wide, like Client's.
  absl::SetMutexDeadlockDetectionMode(absl::OnDeadlockCycle::kIgnore);
  grpc::ServerBuilder builder;
  builder.AddListeningPort(options_.ip + ":" + std::to_string(options_.port), grpc::InsecureServerCredentials(),
                           &port_);
  builder.RegisterService(service_.get());
  // Full histories travel in one poll response; allow them to be large.
  builder.SetMaxReceiveMessageSize(128 * 1024 * 1024);
  builder.SetMaxSendMessageSize(128 * 1024 * 1024);
  // Channelz (gRPC's per-channel call counters, read by its debugging service, which Reprise does
  // not serve) costs a clock read and atomics per call.
  builder.AddChannelArgument(GRPC_ARG_ENABLE_CHANNELZ, 0);
  grpc_server_ = builder.BuildAndStart();
  if (!grpc_server_ || port_ == 0) {
    engine_->stop();
    throw std::runtime_error("cannot listen on " + options_.ip + ":" + std::to_string(options_.port) +
                             " (is another server using the port?)");
  }
  spdlog::info("Reprise server listening on {}:{}", options_.ip, port_);
}

void Server::wait() {
  if (grpc_server_) grpc_server_->Wait();
}

void Server::shutdown() {
  if (shut_down_ || !grpc_server_) return;
  shut_down_ = true;
  // Parked long polls would hold Shutdown() for its whole deadline: answer them first, and keep the
  // engine's threads running until gRPC has drained every call (polls arriving meanwhile are
  // answered at once), then stop them.
  engine_->begin_shutdown();
  grpc_server_->Shutdown(std::chrono::system_clock::now() + std::chrono::seconds(5));
  engine_->stop();
}

}  // namespace reprise::engine
