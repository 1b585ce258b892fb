// Text for events, commands and source lines (see describe.h).
// Exercised by tests/worker/mismatch_test.cpp.
#include "replay/describe.h"

#include <google/protobuf/util/time_util.h>

#include <cctype>
#include <nlohmann/json.hpp>
#include <string_view>

namespace reprise::detail {

namespace {

using temporal::api::enums::v1::CommandType;
using temporal::api::enums::v1::EventType;
using temporal::api::history::v1::HistoryEvent;

// "ACTIVITY_TASK_SCHEDULED" -> "ActivityTaskScheduled".
std::string camel_case(std::string_view upper_snake) {
  std::string out;
  bool start_of_word = true;
  for (char c : upper_snake) {
    if (c == '_') {
      start_of_word = true;
      continue;
    }
    out += start_of_word ? c : static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    start_of_word = false;
  }
  return out;
}

std::string strip_prefix(const std::string& name, std::string_view prefix) {
  return name.rfind(prefix, 0) == 0 ? name.substr(prefix.size()) : name;
}

std::string in_quotes(const std::string& s) { return "\"" + s + "\""; }

std::string duration(const google::protobuf::Duration& d) {
  return google::protobuf::util::TimeUtil::ToString(d);  // "5s", "0.500s"
}

std::string json_payload_text(const temporal::api::common::v1::Payloads& payloads) {
  return payloads.payloads_size() > 0 ? payloads.payloads(0).data() : "";
}

}  // namespace

std::string event_type_name(EventType type) {
  return camel_case(strip_prefix(temporal::api::enums::v1::EventType_Name(type), "EVENT_TYPE_"));
}

std::string command_type_name(CommandType type) {
  return camel_case(strip_prefix(temporal::api::enums::v1::CommandType_Name(type), "COMMAND_TYPE_"));
}

std::string marker_key(const std::string& marker_name,
                       const google::protobuf::Map<std::string, temporal::api::common::v1::Payloads>& details) {
  auto read = [&](const char* key) -> nlohmann::json {
    auto it = details.find(key);
    if (it == details.end()) return nullptr;
    return nlohmann::json::parse(json_payload_text(it->second), nullptr, /*allow_exceptions=*/false);
  };
  nlohmann::json key;
  if (marker_name == "core_patch") {
    nlohmann::json data = read("patch-data");
    key = data.is_object() && data.contains("id") ? data["id"] : read("patch_id");  // old form
  } else if (marker_name == "Version") {
    key = read("change-id");
  } else if (marker_name == "SideEffect") {
    key = read("side-effect-id");
  }
  if (key.is_string()) return key.get<std::string>();
  if (key.is_number_integer()) return std::to_string(key.get<long long>());
  return "";
}

std::string describe_event(const HistoryEvent& event) {
  std::string out = "#" + std::to_string(event.event_id()) + " " + event_type_name(event.event_type());
  std::string attributes;
  switch (event.attributes_case()) {
    case HistoryEvent::kActivityTaskScheduledEventAttributes: {
      const auto& a = event.activity_task_scheduled_event_attributes();
      attributes =
          "activity_id: " + in_quotes(a.activity_id()) + ", activity_type: " + in_quotes(a.activity_type().name());
      break;
    }
    case HistoryEvent::kTimerStartedEventAttributes: {
      const auto& a = event.timer_started_event_attributes();
      attributes =
          "timer_id: " + in_quotes(a.timer_id()) + ", start_to_fire_timeout: " + duration(a.start_to_fire_timeout());
      break;
    }
    case HistoryEvent::kTimerCanceledEventAttributes:
      attributes = "timer_id: " + in_quotes(event.timer_canceled_event_attributes().timer_id());
      break;
    case HistoryEvent::kTimerFiredEventAttributes:
      attributes = "timer_id: " + in_quotes(event.timer_fired_event_attributes().timer_id());
      break;
    case HistoryEvent::kMarkerRecordedEventAttributes: {
      const auto& a = event.marker_recorded_event_attributes();
      attributes = "marker_name: " + in_quotes(a.marker_name());
      std::string key = marker_key(a.marker_name(), a.details());
      if (!key.empty()) attributes += ", id: " + in_quotes(key);
      break;
    }
    case HistoryEvent::kActivityTaskCancelRequestedEventAttributes:
      attributes = "scheduled_event_id: " +
                   std::to_string(event.activity_task_cancel_requested_event_attributes().scheduled_event_id());
      break;
    case HistoryEvent::kWorkflowExecutionSignaledEventAttributes:
      attributes = "signal_name: " + in_quotes(event.workflow_execution_signaled_event_attributes().signal_name());
      break;
    case HistoryEvent::kStartChildWorkflowExecutionInitiatedEventAttributes: {
      const auto& a = event.start_child_workflow_execution_initiated_event_attributes();
      attributes =
          "workflow_id: " + in_quotes(a.workflow_id()) + ", workflow_type: " + in_quotes(a.workflow_type().name());
      break;
    }
    default:
      break;
  }
  return attributes.empty() ? out : out + " {" + attributes + "}";
}

std::string describe_command(const temporal::api::command::v1::Command& command) {
  using temporal::api::command::v1::Command;
  std::string out = command_type_name(command.command_type());
  std::string attributes;
  switch (command.attributes_case()) {
    case Command::kScheduleActivityTaskCommandAttributes: {
      const auto& a = command.schedule_activity_task_command_attributes();
      attributes =
          "activity_id: " + in_quotes(a.activity_id()) + ", activity_type: " + in_quotes(a.activity_type().name());
      break;
    }
    case Command::kStartTimerCommandAttributes: {
      const auto& a = command.start_timer_command_attributes();
      attributes =
          "timer_id: " + in_quotes(a.timer_id()) + ", start_to_fire_timeout: " + duration(a.start_to_fire_timeout());
      break;
    }
    case Command::kCancelTimerCommandAttributes:
      attributes = "timer_id: " + in_quotes(command.cancel_timer_command_attributes().timer_id());
      break;
    case Command::kRecordMarkerCommandAttributes: {
      const auto& a = command.record_marker_command_attributes();
      attributes = "marker_name: " + in_quotes(a.marker_name());
      std::string key = marker_key(a.marker_name(), a.details());
      if (!key.empty()) attributes += ", id: " + in_quotes(key);
      break;
    }
    case Command::kRequestCancelActivityTaskCommandAttributes:
      attributes = "scheduled_event_id: " +
                   std::to_string(command.request_cancel_activity_task_command_attributes().scheduled_event_id());
      break;
    default:
      break;
  }
  return attributes.empty() ? out : out + " {" + attributes + "}";
}

std::string describe_where(const std::source_location& where) {
  std::string_view file = where.file_name();
  while (true) {
    if (file.substr(0, 2) == "./")
      file.remove_prefix(2);
    else if (file.substr(0, 3) == "../")
      file.remove_prefix(3);
    else
      break;
  }
  return std::string(file) + ":" + std::to_string(where.line());
}

}  // namespace reprise::detail
