// The Reprise server: a HistoryStore, a HistoryEngine and the gRPC WorkflowService, assembled and
// listening on one address. `reprise server start-dev` runs one (client/reprise_main.cpp); tests
// start one in-process on a free loopback port (tests/engine/test_server.h).
#pragma once

#include <grpcpp/server.h>

#include <memory>
#include <string>

#include "clock.h"
#include "history/history_store.h"
#include "history_engine.h"
#include "workflow_service.h"

namespace reprise::engine {

struct ServerOptions {
  std::string ip = "127.0.0.1";
  int port = 7233;  // 0 picks a free port; port() tells which
  EngineOptions engine;
};

class Server {
 public:
  // Does not own the store or the clock: tests keep them to inspect or advance.
  Server(history::HistoryStore& store, Clock& clock, ServerOptions options);
  ~Server();

  // Loads persisted tasks/timers and starts listening. Throws std::runtime_error if it cannot bind.
  void start();
  // Blocks until shutdown() is called from another thread.
  void wait();
  // Answers parked polls, stops accepting calls, stops the engine. Idempotent.
  void shutdown();

  int port() const { return port_; }
  std::string address() const { return options_.ip + ":" + std::to_string(port_); }
  HistoryEngine& engine() { return *engine_; }

 private:
  history::HistoryStore& store_;
  ServerOptions options_;
  std::unique_ptr<HistoryEngine> engine_;
  std::unique_ptr<WorkflowService> service_;
  std::unique_ptr<grpc::Server> grpc_server_;
  int port_ = 0;
  bool shut_down_ = false;
};

// The version this server reports in GetSystemInfo.
inline constexpr const char* kServerVersion = "reprise-0.1.0";

}  // namespace reprise::engine
