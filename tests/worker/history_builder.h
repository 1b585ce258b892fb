// HistoryBuilder: hand-built histories for replay tests, written the way the server would write them.
//
// Each test builds its scenario in a few lines and lists the events in a comment above, e.g.
//
//   HistoryBuilder h("greet", payloads("Temporal"));   // 1 WorkflowExecutionStarted
//   h.workflow_task();                                 // 2 WorkflowTaskScheduled  3 WorkflowTaskStarted
//   h.task_completed();                                // 4 WorkflowTaskCompleted
//   auto act = h.activity_scheduled("1", "compose");   // 5 ActivityTaskScheduled
//   h.activity_completed(act, payloads("Hello"));      // 6 ActivityTaskStarted  7 ActivityTaskCompleted
//   h.workflow_task();                                 // 8 WorkflowTaskScheduled  9 WorkflowTaskStarted
//
// Event ids are dense from 1; event i is stamped kStartTime + i seconds, so a test can predict the
// time a workflow task started (ctx.now()).
#pragma once

#include <google/protobuf/util/time_util.h>

#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

#include "reprise/converter.h"
#include "reprise/errors.h"
#include "temporal/api/history/v1/message.pb.h"

namespace reprise::testing {

using temporal::api::history::v1::History;
using temporal::api::history::v1::HistoryEvent;
namespace enums = temporal::api::enums::v1;

// 2024-01-01T00:00:00Z
inline const std::chrono::system_clock::time_point kStartTime{std::chrono::seconds(1704067200)};

template <class... Args>
Payloads payloads(const Args&... args) {
  return DataConverter().to_payloads(args...);
}

class HistoryBuilder {
 public:
  explicit HistoryBuilder(const std::string& workflow_type, Payloads input = {}, const std::string& run_id = "run-1") {
    auto& a = *add(enums::EVENT_TYPE_WORKFLOW_EXECUTION_STARTED).mutable_workflow_execution_started_event_attributes();
    a.mutable_workflow_type()->set_name(workflow_type);
    a.mutable_task_queue()->set_name("test-queue");
    *a.mutable_input() = std::move(input);
    a.set_original_execution_run_id(run_id);
    a.set_first_execution_run_id(run_id);
    a.set_attempt(1);
  }

  // WorkflowTaskScheduled + WorkflowTaskStarted; returns the Started event id.
  std::int64_t workflow_task() {
    auto scheduled = add(enums::EVENT_TYPE_WORKFLOW_TASK_SCHEDULED).event_id();
    auto& started = add(enums::EVENT_TYPE_WORKFLOW_TASK_STARTED);
    started.mutable_workflow_task_started_event_attributes()->set_scheduled_event_id(scheduled);
    last_task_started_ = started.event_id();
    return last_task_started_;
  }
  void task_completed() {
    auto& a = *add(enums::EVENT_TYPE_WORKFLOW_TASK_COMPLETED).mutable_workflow_task_completed_event_attributes();
    a.set_scheduled_event_id(last_task_started_ - 1);
    a.set_started_event_id(last_task_started_);
    last_completed_ = events_.back().event_id();
  }
  void task_failed(enums::WorkflowTaskFailedCause cause) {
    auto& a = *add(enums::EVENT_TYPE_WORKFLOW_TASK_FAILED).mutable_workflow_task_failed_event_attributes();
    a.set_scheduled_event_id(last_task_started_ - 1);
    a.set_started_event_id(last_task_started_);
    a.set_cause(cause);
  }
  void task_timed_out() {
    auto& a = *add(enums::EVENT_TYPE_WORKFLOW_TASK_TIMED_OUT).mutable_workflow_task_timed_out_event_attributes();
    a.set_scheduled_event_id(last_task_started_ - 1);
    a.set_started_event_id(last_task_started_);
    a.set_timeout_type(enums::TIMEOUT_TYPE_START_TO_CLOSE);
  }

  std::int64_t activity_scheduled(const std::string& activity_id, const std::string& activity_type) {
    auto& e = add(enums::EVENT_TYPE_ACTIVITY_TASK_SCHEDULED);
    auto& a = *e.mutable_activity_task_scheduled_event_attributes();
    a.set_activity_id(activity_id);
    a.mutable_activity_type()->set_name(activity_type);
    a.mutable_task_queue()->set_name("test-queue");
    a.set_workflow_task_completed_event_id(last_completed_);
    return e.event_id();
  }
  void activity_completed(std::int64_t scheduled, Payloads result) {
    auto started = activity_started(scheduled);
    auto& a = *add(enums::EVENT_TYPE_ACTIVITY_TASK_COMPLETED).mutable_activity_task_completed_event_attributes();
    *a.mutable_result() = std::move(result);
    a.set_scheduled_event_id(scheduled);
    a.set_started_event_id(started);
  }
  void activity_failed(std::int64_t scheduled, const Failure& failure,
                       enums::RetryState retry_state = enums::RETRY_STATE_MAXIMUM_ATTEMPTS_REACHED) {
    auto started = activity_started(scheduled);
    auto& a = *add(enums::EVENT_TYPE_ACTIVITY_TASK_FAILED).mutable_activity_task_failed_event_attributes();
    *a.mutable_failure() = failure;
    a.set_scheduled_event_id(scheduled);
    a.set_started_event_id(started);
    a.set_retry_state(retry_state);
  }
  void activity_cancel_requested(std::int64_t scheduled) {
    auto& a = *add(enums::EVENT_TYPE_ACTIVITY_TASK_CANCEL_REQUESTED)
                   .mutable_activity_task_cancel_requested_event_attributes();
    a.set_scheduled_event_id(scheduled);
    a.set_workflow_task_completed_event_id(last_completed_);
  }
  void activity_canceled(std::int64_t scheduled) {
    auto started = activity_started(scheduled);
    auto& a = *add(enums::EVENT_TYPE_ACTIVITY_TASK_CANCELED).mutable_activity_task_canceled_event_attributes();
    a.set_scheduled_event_id(scheduled);
    a.set_started_event_id(started);
  }

  std::int64_t timer_started(const std::string& timer_id, std::chrono::milliseconds duration) {
    auto& e = add(enums::EVENT_TYPE_TIMER_STARTED);
    auto& a = *e.mutable_timer_started_event_attributes();
    a.set_timer_id(timer_id);
    *a.mutable_start_to_fire_timeout() = google::protobuf::util::TimeUtil::MillisecondsToDuration(duration.count());
    a.set_workflow_task_completed_event_id(last_completed_);
    return e.event_id();
  }
  void timer_fired(std::int64_t started, const std::string& timer_id) {
    auto& a = *add(enums::EVENT_TYPE_TIMER_FIRED).mutable_timer_fired_event_attributes();
    a.set_timer_id(timer_id);
    a.set_started_event_id(started);
  }
  void timer_canceled(std::int64_t started, const std::string& timer_id) {
    auto& a = *add(enums::EVENT_TYPE_TIMER_CANCELED).mutable_timer_canceled_event_attributes();
    a.set_timer_id(timer_id);
    a.set_started_event_id(started);
    a.set_workflow_task_completed_event_id(last_completed_);
  }

  // A marker recorded from a command (copy the details from the command the code produces).
  void marker(const std::string& name,
              const google::protobuf::Map<std::string, temporal::api::common::v1::Payloads>& details) {
    auto& a = *add(enums::EVENT_TYPE_MARKER_RECORDED).mutable_marker_recorded_event_attributes();
    a.set_marker_name(name);
    *a.mutable_details() = details;
    a.set_workflow_task_completed_event_id(last_completed_);
  }
  void signal(const std::string& name, Payloads input = {}) {
    auto& a =
        *add(enums::EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED).mutable_workflow_execution_signaled_event_attributes();
    a.set_signal_name(name);
    *a.mutable_input() = std::move(input);
  }
  void cancel_requested(const std::string& reason) {
    auto& a = *add(enums::EVENT_TYPE_WORKFLOW_EXECUTION_CANCEL_REQUESTED)
                   .mutable_workflow_execution_cancel_requested_event_attributes();
    a.set_cause(reason);
    a.set_identity("test-client");
  }
  void workflow_canceled() {
    auto& a =
        *add(enums::EVENT_TYPE_WORKFLOW_EXECUTION_CANCELED).mutable_workflow_execution_canceled_event_attributes();
    a.set_workflow_task_completed_event_id(last_completed_);
  }
  void workflow_completed(Payloads result) {
    auto& a =
        *add(enums::EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED).mutable_workflow_execution_completed_event_attributes();
    *a.mutable_result() = std::move(result);
    a.set_workflow_task_completed_event_id(last_completed_);
  }
  void workflow_failed(const Failure& failure) {
    auto& a = *add(enums::EVENT_TYPE_WORKFLOW_EXECUTION_FAILED).mutable_workflow_execution_failed_event_attributes();
    *a.mutable_failure() = failure;
    a.set_workflow_task_completed_event_id(last_completed_);
  }

  const std::vector<HistoryEvent>& events() const { return events_; }
  History history() const {
    History h;
    for (const auto& e : events_) *h.add_events() = e;
    return h;
  }
  // The time of event `event_id` (see the top of the file).
  static std::chrono::system_clock::time_point time_of(std::int64_t event_id) {
    return kStartTime + std::chrono::seconds(event_id);
  }

 private:
  std::int64_t activity_started(std::int64_t scheduled) {
    auto& a = *add(enums::EVENT_TYPE_ACTIVITY_TASK_STARTED).mutable_activity_task_started_event_attributes();
    a.set_scheduled_event_id(scheduled);
    a.set_attempt(1);
    return events_.back().event_id();
  }
  HistoryEvent& add(enums::EventType type) {
    HistoryEvent& e = events_.emplace_back();
    e.set_event_id(static_cast<std::int64_t>(events_.size()));
    e.set_event_type(type);
    auto nanos = std::chrono::duration_cast<std::chrono::nanoseconds>(time_of(e.event_id()).time_since_epoch());
    *e.mutable_event_time() = google::protobuf::util::TimeUtil::NanosecondsToTimestamp(nanos.count());
    return e;
  }

  std::vector<HistoryEvent> events_;
  std::int64_t last_task_started_ = 0;
  std::int64_t last_completed_ = 0;
};

}  // namespace reprise::testing
