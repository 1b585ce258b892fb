// WorkflowRegistry (see reprise/registry.h).
// Exercised by every test that runs a workflow.
#include "reprise/registry.h"

#include <spdlog/spdlog.h>

#include <stdexcept>

namespace reprise {

WorkflowRegistry::WorkflowRegistry(DataConverter converter, std::shared_ptr<spdlog::logger> logger)
    : converter_(std::move(converter)), logger_(std::move(logger)) {}

void WorkflowRegistry::register_erased(const std::string& workflow_type, WorkflowFunction function) {
  if (!workflows_.emplace(workflow_type, std::move(function)).second)
    throw std::invalid_argument("workflow type \"" + workflow_type + "\" is registered twice");
}

const WorkflowFunction* WorkflowRegistry::find(const std::string& workflow_type) const {
  auto it = workflows_.find(workflow_type);
  return it == workflows_.end() ? nullptr : &it->second;
}

spdlog::logger& WorkflowRegistry::logger() const { return logger_ ? *logger_ : *spdlog::default_logger_raw(); }

}  // namespace reprise
