// The replay-aware logger: workflow code logs through ctx.logger(), which stays quiet while the run
// is replaying history, so a line written when the code first ran is not written again each time
// the workflow is replayed (after eviction, on another worker, in the Replayer).
//
//   ctx.logger().info("charging {} cents", amount);
//
// Lines go to the spdlog logger given to the WorkflowRegistry, prefixed with the workflow type and
// id. Exercised by tests/worker/context_test.cpp.
#pragma once

#include <spdlog/logger.h>

#include <string>
#include <string_view>
#include <utility>

namespace reprise {

class WorkflowContext;

class WorkflowLogger {
 public:
  explicit WorkflowLogger(const WorkflowContext& context) : context_(context) {}

  template <class... Args>
  void debug(fmt::format_string<Args...> format, Args&&... args) {
    log(spdlog::level::debug, fmt::format(format, std::forward<Args>(args)...));
  }
  template <class... Args>
  void info(fmt::format_string<Args...> format, Args&&... args) {
    log(spdlog::level::info, fmt::format(format, std::forward<Args>(args)...));
  }
  template <class... Args>
  void warn(fmt::format_string<Args...> format, Args&&... args) {
    log(spdlog::level::warn, fmt::format(format, std::forward<Args>(args)...));
  }
  template <class... Args>
  void error(fmt::format_string<Args...> format, Args&&... args) {
    log(spdlog::level::err, fmt::format(format, std::forward<Args>(args)...));
  }

  // Writes unless the run is replaying.
  void log(spdlog::level::level_enum level, std::string_view message);

 private:
  const WorkflowContext& context_;
};

}  // namespace reprise
