// Formatting histories for people (see history_format.h).
#include "history_format.h"

#include <google/protobuf/util/time_util.h>

#include <sstream>

namespace reprise {

namespace enums = temporal::api::enums::v1;
using temporal::api::history::v1::HistoryEvent;

std::string short_enum_name(const std::string& full_name, const std::string& prefix) {
  std::string name = full_name.rfind(prefix, 0) == 0 ? full_name.substr(prefix.size()) : full_name;
  std::string out;
  bool upper = true;
  for (char c : name) {
    if (c == '_') {
      upper = true;
      continue;
    }
    out += upper ? c : static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    upper = false;
  }
  return out;
}

std::string event_type_name(enums::EventType type) {
  return short_enum_name(enums::EventType_Name(type), "EVENT_TYPE_");
}

bool is_command_event(enums::EventType type) {
  switch (type) {
    case enums::EVENT_TYPE_ACTIVITY_TASK_SCHEDULED:
    case enums::EVENT_TYPE_ACTIVITY_TASK_CANCEL_REQUESTED:
    case enums::EVENT_TYPE_TIMER_STARTED:
    case enums::EVENT_TYPE_TIMER_CANCELED:
    case enums::EVENT_TYPE_MARKER_RECORDED:
    case enums::EVENT_TYPE_START_CHILD_WORKFLOW_EXECUTION_INITIATED:
    case enums::EVENT_TYPE_SIGNAL_EXTERNAL_WORKFLOW_EXECUTION_INITIATED:
    case enums::EVENT_TYPE_REQUEST_CANCEL_EXTERNAL_WORKFLOW_EXECUTION_INITIATED:
    case enums::EVENT_TYPE_UPSERT_WORKFLOW_SEARCH_ATTRIBUTES:
    case enums::EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED:
    case enums::EVENT_TYPE_WORKFLOW_EXECUTION_FAILED:
    case enums::EVENT_TYPE_WORKFLOW_EXECUTION_CANCELED:
    case enums::EVENT_TYPE_WORKFLOW_EXECUTION_CONTINUED_AS_NEW:
      return true;
    default:
      return false;
  }
}

namespace {

std::string payloads_text(const temporal::api::common::v1::Payloads& payloads) {
  std::string out = "[";
  for (int i = 0; i < payloads.payloads_size(); ++i) {
    const auto& p = payloads.payloads(i);
    auto enc = p.metadata().find("encoding");
    std::string encoding = enc == p.metadata().end() ? "" : enc->second;
    if (i) out += ", ";
    if (encoding == "json/plain")
      out += p.data();
    else if (encoding == "binary/null")
      out += "null";
    else
      out += "<" + std::to_string(p.data().size()) + " bytes " + encoding + ">";
  }
  out += "]";
  if (out.size() > 120) out = out.substr(0, 117) + "...";
  return out;
}

std::string duration_text(const google::protobuf::Duration& d) { return google::protobuf::util::TimeUtil::ToString(d); }

std::string failure_text(const temporal::api::failure::v1::Failure& f) {
  std::string out = f.message();
  if (f.has_cause()) out += " (cause: " + failure_text(f.cause()) + ")";
  return out;
}

}  // namespace

std::string event_summary(const HistoryEvent& e) {
  std::ostringstream s;
  switch (e.event_type()) {
    case enums::EVENT_TYPE_WORKFLOW_EXECUTION_STARTED: {
      const auto& a = e.workflow_execution_started_event_attributes();
      s << "WorkflowType " << a.workflow_type().name() << ", TaskQueue " << a.task_queue().name() << ", Input "
        << payloads_text(a.input());
      break;
    }
    case enums::EVENT_TYPE_WORKFLOW_TASK_SCHEDULED: {
      const auto& a = e.workflow_task_scheduled_event_attributes();
      s << "TaskQueue " << a.task_queue().name();
      if (a.task_queue().kind() == enums::TASK_QUEUE_KIND_STICKY) s << " (sticky)";
      s << ", Attempt " << a.attempt();
      break;
    }
    case enums::EVENT_TYPE_WORKFLOW_TASK_STARTED:
      s << "Identity " << e.workflow_task_started_event_attributes().identity();
      break;
    case enums::EVENT_TYPE_WORKFLOW_TASK_COMPLETED:
      s << "Identity " << e.workflow_task_completed_event_attributes().identity();
      break;
    case enums::EVENT_TYPE_WORKFLOW_TASK_FAILED: {
      const auto& a = e.workflow_task_failed_event_attributes();
      std::string cause = enums::WorkflowTaskFailedCause_Name(a.cause());
      const std::string prefix = "WORKFLOW_TASK_FAILED_CAUSE_";
      if (cause.rfind(prefix, 0) == 0) cause = cause.substr(prefix.size());
      s << "Cause " << cause << ", Failure " << failure_text(a.failure());
      break;
    }
    case enums::EVENT_TYPE_WORKFLOW_TASK_TIMED_OUT:
      s << "TimeoutType " << enums::TimeoutType_Name(e.workflow_task_timed_out_event_attributes().timeout_type());
      break;
    case enums::EVENT_TYPE_ACTIVITY_TASK_SCHEDULED: {
      const auto& a = e.activity_task_scheduled_event_attributes();
      s << "ActivityId " << a.activity_id() << ", ActivityType " << a.activity_type().name() << ", Input "
        << payloads_text(a.input());
      break;
    }
    case enums::EVENT_TYPE_ACTIVITY_TASK_STARTED: {
      const auto& a = e.activity_task_started_event_attributes();
      s << "Attempt " << a.attempt();
      if (a.has_last_failure()) s << ", LastFailure " << failure_text(a.last_failure());
      break;
    }
    case enums::EVENT_TYPE_ACTIVITY_TASK_COMPLETED:
      s << "Result " << payloads_text(e.activity_task_completed_event_attributes().result());
      break;
    case enums::EVENT_TYPE_ACTIVITY_TASK_FAILED:
      s << "Failure " << failure_text(e.activity_task_failed_event_attributes().failure()) << ", RetryState "
        << enums::RetryState_Name(e.activity_task_failed_event_attributes().retry_state());
      break;
    case enums::EVENT_TYPE_ACTIVITY_TASK_TIMED_OUT:
      s << "Failure " << failure_text(e.activity_task_timed_out_event_attributes().failure());
      break;
    case enums::EVENT_TYPE_TIMER_STARTED: {
      const auto& a = e.timer_started_event_attributes();
      s << "TimerId " << a.timer_id() << ", StartToFireTimeout " << duration_text(a.start_to_fire_timeout());
      break;
    }
    case enums::EVENT_TYPE_TIMER_FIRED:
      s << "TimerId " << e.timer_fired_event_attributes().timer_id();
      break;
    case enums::EVENT_TYPE_TIMER_CANCELED:
      s << "TimerId " << e.timer_canceled_event_attributes().timer_id();
      break;
    case enums::EVENT_TYPE_MARKER_RECORDED:
      s << "MarkerName " << e.marker_recorded_event_attributes().marker_name();
      break;
    case enums::EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED: {
      const auto& a = e.workflow_execution_signaled_event_attributes();
      s << "SignalName " << a.signal_name() << ", Input " << payloads_text(a.input());
      break;
    }
    case enums::EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED:
      s << "Result " << payloads_text(e.workflow_execution_completed_event_attributes().result());
      break;
    case enums::EVENT_TYPE_WORKFLOW_EXECUTION_FAILED:
      s << "Failure " << failure_text(e.workflow_execution_failed_event_attributes().failure());
      break;
    case enums::EVENT_TYPE_WORKFLOW_EXECUTION_TERMINATED:
      s << "Reason " << e.workflow_execution_terminated_event_attributes().reason();
      break;
    default:
      break;
  }
  return s.str();
}

std::string format_history_table(const temporal::api::history::v1::History& history) {
  std::ostringstream out;
  out << "  ID  Time                      Type                              Details\n";
  for (const auto& e : history.events()) {
    char line[128];
    std::string time = google::protobuf::util::TimeUtil::ToString(e.event_time());
    std::snprintf(line, sizeof line, "%4lld  %-24.24s %c %-33s ", static_cast<long long>(e.event_id()), time.c_str(),
                  is_command_event(e.event_type()) ? '*' : ' ', event_type_name(e.event_type()).c_str());
    out << line << event_summary(e) << "\n";
  }
  out << "(* = written from a worker's command: replay must produce the same command here)\n";
  return out.str();
}

}  // namespace reprise
