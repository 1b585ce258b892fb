// WorkflowRegistry: the workflow types a worker can run, by name, plus the run-wide services they
// share (the data converter, the logger sink).
//
//   reprise::WorkflowRegistry registry;
//   registry.register_workflow("greet", greet);   // Workflow<std::string> greet(WorkflowContext&, std::string)
//
// Registration erases the C++ signature: the stored function decodes the workflow's input payloads
// into the parameters (one payload per parameter, in order), awaits the workflow, and encodes its
// result as the payloads of CompleteWorkflowExecution (void gives "binary/null", as in TypeScript).
// A payload that does not decode fails the workflow task, not the workflow.
//
// Contract: register everything before handing the registry to a WorkflowRun or Replayer; it is
// then read-only and may be shared by runs on several threads.
// Exercised by tests/worker/activity_test.cpp (and every test that runs a workflow).
#pragma once

#include <spdlog/logger.h>

#include <functional>
#include <map>
#include <memory>
#include <string>
#include <tuple>
#include <type_traits>
#include <utility>

#include "reprise/context.h"
#include "reprise/converter.h"
#include "reprise/workflow_coroutine.h"

namespace reprise {

// A registered workflow with its types erased: input payloads in, result payloads out.
using WorkflowFunction = std::function<Workflow<Payloads>(WorkflowContext&, const Payloads& input)>;

namespace detail {
template <class R, class... Args>
Workflow<Payloads> run_typed_workflow(Workflow<R> (*function)(WorkflowContext&, Args...), WorkflowContext& context,
                                      Payloads input) {
  // The decoded arguments live in this frame, which outlives the workflow's own frame, so a
  // workflow may take its parameters by const reference.
  auto arguments = [&]<std::size_t... I>(std::index_sequence<I...>) {
    return std::tuple<std::decay_t<Args>...>(
        context.converter().template from_payloads<std::decay_t<Args>>(input, static_cast<int>(I))...);
  }
  (std::index_sequence_for<Args...>{});
  auto call = [&](auto&... args) { return function(context, std::move(args)...); };
  if constexpr (std::is_void_v<R>) {
    co_await std::apply(call, arguments);
    co_return context.converter().void_payloads();
  } else {
    R result = co_await std::apply(call, arguments);
    co_return context.converter().to_payloads(result);
  }
}
}  // namespace detail

class WorkflowRegistry {
 public:
  // `logger`: where ctx.logger() writes; nullptr means spdlog's default logger.
  explicit WorkflowRegistry(DataConverter converter = {}, std::shared_ptr<spdlog::logger> logger = nullptr);

  template <class R, class... Args>
  void register_workflow(const std::string& workflow_type, Workflow<R> (*function)(WorkflowContext&, Args...)) {
    register_erased(workflow_type, [function](WorkflowContext& context, const Payloads& input) {
      return detail::run_typed_workflow(function, context, input);
    });
  }
  void register_erased(const std::string& workflow_type, WorkflowFunction function);

  // nullptr when the type is not registered.
  const WorkflowFunction* find(const std::string& workflow_type) const;
  const DataConverter& converter() const { return converter_; }
  spdlog::logger& logger() const;

 private:
  DataConverter converter_;
  std::shared_ptr<spdlog::logger> logger_;
  std::map<std::string, WorkflowFunction> workflows_;
};

}  // namespace reprise
