// Replayer (see reprise/replayer.h): a WorkflowRun fed a whole history.
// Exercised by tests/worker/replayer_test.cpp and tests/worker/runtime_test.cpp.
#include "reprise/replayer.h"

#include <fstream>
#include <sstream>
#include <stdexcept>

#include "history/history_json.h"
#include "reprise/workflow_run.h"

namespace reprise {

namespace enums = temporal::api::enums::v1;

ReplayResult Replayer::replay(const temporal::api::history::v1::History& history) const {
  StartInfo start;
  start.namespace_name = "replay";
  start.run_id = "replay-run";
  if (history.events_size() > 0 && history.events(0).has_workflow_execution_started_event_attributes()) {
    const auto& started = history.events(0).workflow_execution_started_event_attributes();
    start.workflow_type = started.workflow_type().name();
    start.workflow_id = started.workflow_id().empty() ? "replay" : started.workflow_id();
  }
  WorkflowRun run(registry_, start);
  Activation activation = run.activate(history);
  if (activation.ok()) return {};
  const bool nondeterminism = activation.failure->cause == enums::WORKFLOW_TASK_FAILED_CAUSE_NON_DETERMINISTIC_ERROR;
  return {nondeterminism ? ReplayResult::Outcome::nondeterminism : ReplayResult::Outcome::task_failure,
          activation.failure->failure.message()};
}

ReplayResult Replayer::replay_json(std::string_view json) const { return replay(history::history_from_json(json)); }

ReplayResult Replayer::replay_file(const std::filesystem::path& path) const {
  std::ifstream in(path);
  if (!in) throw std::runtime_error("cannot read history file " + path.string());
  std::stringstream text;
  text << in.rdbuf();
  return replay_json(text.str());
}

ReplayResult Replayer::replay_workflow(Client& client, const std::string& workflow_id,
                                       const std::string& run_id) const {
  return replay(client.fetch_history(workflow_id, run_id));
}

}  // namespace reprise
