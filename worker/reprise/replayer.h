// Replayer: replays a recorded history against the registered workflow code, offline.
//
// This is how a workflow author tests a code change before deploying it: take histories of runs
// made by the old code (`temporal workflow show --output json`, the Web UI's download) and check
// that the new code produces the same commands. The run is fed the whole history at once, so every
// workflow task is replayed (is_replaying() is true throughout, the logger is quiet) and nothing is
// sent anywhere.
//
//   reprise::Replayer replayer(registry);
//   auto result = replayer.replay_file("histories/order-123.json");
//   if (!result.ok()) std::cerr << result.message;   // "[TMPRL1100] Nondeterminism error: ..."
//   auto live = replayer.replay_workflow(client, "order-123");  // or straight from a server
//
// Exercised by tests/worker/replayer_test.cpp (files) and tests/worker/runtime_test.cpp (server).
#pragma once

#include <filesystem>
#include <string>
#include <string_view>

#include "reprise/client.h"
#include "reprise/registry.h"
#include "temporal/api/history/v1/message.pb.h"

namespace reprise {

struct ReplayResult {
  enum class Outcome {
    replayed,        // the code produced exactly the commands history records
    nondeterminism,  // it did not: message says where
    task_failure,    // the code failed the workflow task (an exception, an unknown workflow type, ...)
  };
  Outcome outcome = Outcome::replayed;
  std::string message;  // empty when replayed
  bool ok() const { return outcome == Outcome::replayed; }
};

class Replayer {
 public:
  explicit Replayer(const WorkflowRegistry& registry) : registry_(registry) {}

  // The workflow type comes from the first event (WorkflowExecutionStarted).
  ReplayResult replay(const temporal::api::history::v1::History& history) const;
  // Temporal's history JSON (either dialect); throws history::HistoryJsonError if it is not one.
  ReplayResult replay_json(std::string_view json) const;
  // Throws std::runtime_error if the file cannot be read.
  ReplayResult replay_file(const std::filesystem::path& path) const;
  // The history of a run (the current one when run_id is empty) fetched from a server; throws
  // the client's errors (WorkflowNotFoundError, ...) if it cannot be fetched.
  ReplayResult replay_workflow(Client& client, const std::string& workflow_id, const std::string& run_id = {}) const;

 private:
  const WorkflowRegistry& registry_;
};

}  // namespace reprise
