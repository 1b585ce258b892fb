// Histories as people read them: one line per event with its id, time, type and key attributes,
// the way `reprise workflow show` prints them (and `temporal workflow show` does). Events a worker
// must reproduce on replay (those written from its commands) are marked, because that is where a
// changed workflow shows up as a nondeterminism error.
// Exercised by tests/client/cli_test.cpp.
#pragma once

#include <string>

#include "temporal/api/history/v1/message.pb.h"

namespace reprise {

// Temporal's short form of an enum value name: ("EVENT_TYPE_WORKFLOW_TASK_SCHEDULED", "EVENT_TYPE_")
// gives "WorkflowTaskScheduled", as Temporal's CLI and UI print them.
std::string short_enum_name(const std::string& full_name, const std::string& prefix);
// "WorkflowTaskScheduled" for EVENT_TYPE_WORKFLOW_TASK_SCHEDULED.
std::string event_type_name(temporal::api::enums::v1::EventType type);
// The attributes that matter for this kind of event, e.g. "ActivityId 1, ActivityType greet".
std::string event_summary(const temporal::api::history::v1::HistoryEvent& event);
// True for events written from a worker's command (matched against the code on replay).
bool is_command_event(temporal::api::enums::v1::EventType type);
// The whole history as a table with a header line.
std::string format_history_table(const temporal::api::history::v1::History& history);

}  // namespace reprise
