// One-line descriptions of events, commands and source lines, in Temporal's vocabulary, for
// nondeterminism errors and logs:
//   #5 ActivityTaskScheduled {activity_id: "1", activity_type: "compose_greeting"}
//   StartTimer {timer_id: "1", start_to_fire_timeout: 5s}
//   tests/worker/mismatch_test.cpp:42
// Only the attributes replay compares (and a few that help a reader) are shown.
// Exercised by tests/worker/mismatch_test.cpp.
#pragma once

#include <source_location>
#include <string>

#include "temporal/api/command/v1/message.pb.h"
#include "temporal/api/enums/v1/command_type.pb.h"
#include "temporal/api/enums/v1/event_type.pb.h"
#include "temporal/api/history/v1/message.pb.h"

namespace reprise::detail {

// EVENT_TYPE_ACTIVITY_TASK_SCHEDULED -> "ActivityTaskScheduled".
std::string event_type_name(temporal::api::enums::v1::EventType type);
// COMMAND_TYPE_START_TIMER -> "StartTimer".
std::string command_type_name(temporal::api::enums::v1::CommandType type);

std::string describe_event(const temporal::api::history::v1::HistoryEvent& event);
std::string describe_command(const temporal::api::command::v1::Command& command);
// "file:line", the file as the compiler was given it minus leading "./" and "../".
std::string describe_where(const std::source_location& where);

// The identifying key of a marker from its details: the patch id of "core_patch", the change id of
// "Version", the side-effect id of "SideEffect"; "" for other markers.
std::string marker_key(const std::string& marker_name,
                       const google::protobuf::Map<std::string, temporal::api::common::v1::Payloads>& details);

}  // namespace reprise::detail
