// Test support: a real `reprise server start-dev` process on a SQLite file and a loopback port,
// started and stopped (by its PID) by the test itself. Used by tests/crash/crash_test.cpp, which
// kills it with SIGKILL again and again, and tests/worker/process_test.cpp.
#pragma once

#include <grpcpp/create_channel.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <string>

#include "temporal/api/workflowservice/v1/service.grpc.pb.h"

namespace reprise::testing {

class ServerProcess {
 public:
  ServerProcess(std::string binary, std::string db, int port)
      : binary_(std::move(binary)), db_(std::move(db)), port_(port) {}
  ~ServerProcess() { kill9(); }
  ServerProcess(const ServerProcess&) = delete;
  ServerProcess& operator=(const ServerProcess&) = delete;

  void start() {
    pid_ = fork();
    if (pid_ == 0) {
      std::string port = std::to_string(port_);
      execl(binary_.c_str(), binary_.c_str(), "server", "start-dev", "--db-filename", db_.c_str(), "--port",
            port.c_str(), "--log-level", "warn", static_cast<char*>(nullptr));
      _exit(127);
    }
  }
  // True once the server answers GetSystemInfo (within `patience`).
  bool wait_until_serving(std::chrono::seconds patience = std::chrono::seconds(20)) const {
    auto channel = grpc::CreateChannel(address(), grpc::InsecureChannelCredentials());
    auto stub = temporal::api::workflowservice::v1::WorkflowService::NewStub(channel);
    grpc::ClientContext ctx;
    ctx.set_wait_for_ready(true);
    ctx.set_deadline(std::chrono::system_clock::now() + patience);
    temporal::api::workflowservice::v1::GetSystemInfoRequest req;
    temporal::api::workflowservice::v1::GetSystemInfoResponse resp;
    return stub->GetSystemInfo(&ctx, req, &resp).ok();
  }
  void kill9() {
    if (pid_ <= 0) return;
    ::kill(pid_, SIGKILL);
    waitpid(pid_, nullptr, 0);
    pid_ = -1;
  }
  void stop() {
    if (pid_ <= 0) return;
    ::kill(pid_, SIGTERM);
    waitpid(pid_, nullptr, 0);
    pid_ = -1;
  }
  std::string address() const { return "127.0.0.1:" + std::to_string(port_); }

 private:
  std::string binary_;
  std::string db_;
  int port_;
  pid_t pid_ = -1;
};

}  // namespace reprise::testing
