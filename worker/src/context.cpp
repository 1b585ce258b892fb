// WorkflowContext: workflow-code calls turned into machines, commands and deterministic values.
// Exercised by tests/worker/context_test.cpp, marker_test.cpp, activity_test.cpp and timer_test.cpp.
#include "reprise/context.h"

#include <google/protobuf/util/time_util.h>

#include <cstdio>

#include "machines/marker_machine.h"
#include "replay/describe.h"
#include "replay/workflow_machines.h"
#include "reprise/errors.h"

namespace reprise {

using google::protobuf::util::TimeUtil;

WorkflowContext::WorkflowContext(detail::WorkflowMachines& machines) : machines_(machines) {}

const WorkflowInfo& WorkflowContext::info() const { return machines_.info(); }
const DataConverter& WorkflowContext::converter() const { return machines_.converter(); }
bool WorkflowContext::is_replaying() const { return machines_.replaying(); }
bool WorkflowContext::cancel_requested() const { return machines_.cancel_requested(); }
std::chrono::system_clock::time_point WorkflowContext::now() const { return machines_.now(); }

detail::OperationRef WorkflowContext::schedule_activity(const NameAt& activity_type, const ActivityOptions& options,
                                                        Payloads input) {
  temporal::api::command::v1::ScheduleActivityTaskCommandAttributes attributes;
  attributes.set_activity_id(std::string(options.activity_id));
  attributes.mutable_activity_type()->set_name(activity_type.name);
  if (!options.task_queue.empty()) attributes.mutable_task_queue()->set_name(std::string(options.task_queue));
  *attributes.mutable_input() = std::move(input);
  auto set = [](google::protobuf::Duration* field, Duration d) {
    if (d.count() > 0) *field = TimeUtil::MillisecondsToDuration(d.count());
  };
  set(attributes.mutable_schedule_to_close_timeout(), options.schedule_to_close_timeout);
  set(attributes.mutable_schedule_to_start_timeout(), options.schedule_to_start_timeout);
  set(attributes.mutable_start_to_close_timeout(), options.start_to_close_timeout);
  set(attributes.mutable_heartbeat_timeout(), options.heartbeat_timeout);
  if (options.retry_policy) {
    const RetryPolicy& policy = *options.retry_policy;
    auto* retry = attributes.mutable_retry_policy();
    set(retry->mutable_initial_interval(), policy.initial_interval);
    retry->set_backoff_coefficient(policy.backoff_coefficient);
    set(retry->mutable_maximum_interval(), policy.maximum_interval);
    retry->set_maximum_attempts(policy.maximum_attempts);
    for (std::string_view type : policy.non_retryable_error_types)
      retry->add_non_retryable_error_types(std::string(type));
  }
  return machines_.schedule_activity(std::move(attributes), options.cancellation_type, activity_type.where);
}

TimerHandle WorkflowContext::sleep(Duration duration, std::source_location where) {
  return start_timer(duration, {}, where);
}

TimerHandle WorkflowContext::start_timer(Duration duration, TimerOptions options, std::source_location where) {
  return TimerHandle(machines_.start_timer(std::string(options.timer_id), duration, where), &converter());
}

double WorkflowContext::random() {
  // 53 random bits scaled into [0, 1): the same double on every platform.
  return static_cast<double>(machines_.random_engine()() >> 11) * 0x1.0p-53;
}

std::string WorkflowContext::uuid() {
  std::uint64_t high = machines_.random_engine()();
  std::uint64_t low = machines_.random_engine()();
  high = (high & ~0xF000ull) | 0x4000ull;                // version 4
  low = (low & ~(0xC000ull << 48)) | (0x8000ull << 48);  // variant 10xx
  char text[37];
  std::snprintf(text, sizeof text, "%08x-%04x-%04x-%04x-%012llx", static_cast<unsigned>(high >> 32),
                static_cast<unsigned>((high >> 16) & 0xFFFF), static_cast<unsigned>(high & 0xFFFF),
                static_cast<unsigned>(low >> 48), static_cast<unsigned long long>(low & 0xFFFFFFFFFFFFull));
  return text;
}

bool WorkflowContext::patched(std::string_view patch_id, std::source_location where) {
  const std::string id(patch_id);
  auto& answers = machines_.patch_answers();
  if (auto it = answers.find(id); it != answers.end()) return it->second;
  // New runs take the new code; a replayed task takes it only if history recorded the marker.
  const bool use_new_code =
      !machines_.replaying() || machines_.take_recorded_marker(detail::kPatchMarker, id).has_value();
  if (use_new_code) machines_.record_marker(detail::kPatchMarker, detail::patch_marker_details(id), where);
  answers[id] = use_new_code;
  return use_new_code;
}

int WorkflowContext::get_version(std::string_view change_id, int min_supported, int max_supported,
                                 std::source_location where) {
  const std::string id(change_id);
  auto& answers = machines_.version_answers();
  if (auto it = answers.find(id); it != answers.end()) return it->second;
  int version = kDefaultVersion;
  if (!machines_.replaying()) {
    version = max_supported;
    machines_.record_marker(detail::kVersionMarker, detail::version_marker_details(id, version), where);
  } else if (auto recorded = machines_.take_recorded_marker(detail::kVersionMarker, id)) {
    version = detail::version_from_details(*recorded);
    machines_.record_marker(detail::kVersionMarker, std::move(*recorded), where);
  }
  if (version < min_supported || version > max_supported)
    throw NondeterminismError("get_version(\"" + id + "\") at " + detail::describe_where(where) +
                              " supports versions " + std::to_string(min_supported) + ".." +
                              std::to_string(max_supported) + ", but history recorded version " +
                              std::to_string(version));
  answers[id] = version;
  return version;
}

Payloads WorkflowContext::side_effect_payloads(const std::function<Payloads()>& produce, std::source_location where) {
  const long long id = machines_.next_side_effect_id();
  Payloads data;
  if (machines_.replaying()) {
    auto recorded = machines_.take_recorded_marker(detail::kSideEffectMarker, std::to_string(id));
    if (!recorded || recorded->find("data") == recorded->end())
      throw NondeterminismError("side_effect #" + std::to_string(id) + " at " + detail::describe_where(where) +
                                " has no SideEffect marker in history");
    data = std::move(recorded->at("data"));
  } else {
    data = produce();
  }
  machines_.record_marker(detail::kSideEffectMarker, detail::side_effect_marker_details(id, data), where);
  return data;
}

ConditionAwaiter WorkflowContext::wait_condition(std::function<bool()> predicate, std::source_location where) {
  return ConditionAwaiter(&machines_.scheduler(), std::move(predicate), where);
}

Workflow<bool> WorkflowContext::wait_condition(std::function<bool()> predicate, Duration timeout,
                                               std::source_location where) {
  if (predicate()) co_return true;
  TimerHandle timer = start_timer(timeout, {}, where);
  auto first = co_await any(wait_condition(predicate, where), timer);
  if (first.index() == 1) co_return false;
  timer.cancel(where);
  co_return true;
}

ContinueAsNewError WorkflowContext::continue_as_new_error(Payloads input) const {
  temporal::api::command::v1::ContinueAsNewWorkflowExecutionCommandAttributes attributes;
  attributes.mutable_workflow_type()->set_name(info().workflow_type);
  attributes.mutable_task_queue()->set_name(info().task_queue);
  *attributes.mutable_input() = std::move(input);
  return ContinueAsNewError(std::move(attributes));
}

void WorkflowContext::set_signal_handler(const std::string& signal_name, std::function<void(const Payloads&)> handler) {
  machines_.signals().set_handler(signal_name, std::move(handler));
}

void WorkflowLogger::log(spdlog::level::level_enum level, std::string_view message) {
  if (context_.is_replaying()) return;
  const WorkflowInfo& info = context_.info();
  context_.machines_.log_sink().log(level, "[{} {}] {}", info.workflow_type, info.workflow_id, message);
}

}  // namespace reprise
