// Temporal's history JSON, both ways: the file format in which histories leave and enter the system.
//
// A workflow history is exported as JSON by `temporal workflow show --output json`, by the Web UI's
// "download", and by every SDK's replay-test fixtures. Current tools write proto3 canonical JSON:
//   {"events": [{"eventId": "1", "eventTime": "2020-07-30T00:30:03.082421843Z",
//                "eventType": "EVENT_TYPE_WORKFLOW_EXECUTION_STARTED",
//                "workflowExecutionStartedEventAttributes": {"taskQueue": {"kind": "TASK_QUEUE_KIND_NORMAL"},
//                  "input": {"payloads": [{"metadata": {"encoding": "anNvbi9wbGFpbg=="}, ...}]}, ...}}]}
// i.e. lowerCamelCase names, int64 as strings, enums by full value name, bytes in base64, Duration as
// "10s", Timestamp in RFC 3339. Older tools (tctl, the old UI, many SDK test files) wrote the same
// thing with SHORT enum names ("eventType": "WorkflowExecutionStarted", "kind": "Normal",
// "retryState": "MaximumAttemptsReached"), which protobuf's own JSON parser rejects.
//
// Export is protobuf's canonical printer, laid out like the CLI's output. Import first walks the parsed JSON alongside
// the message Descriptors and rewrites every short enum name into its full name, then hands each event to protobuf's
// canonical parser. Fields that our subset of Temporal's protos leaves out are ignored.
//
// Exercised by tests/history/json_fixtures_test.cpp (real histories from Temporal's repositories),
// tests/history/json_dialect_test.cpp and tests/history/json_errors_test.cpp.
#pragma once

#include <stdexcept>
#include <string>
#include <string_view>

#include "temporal/api/history/v1/message.pb.h"

namespace reprise::history {

// Thrown by history_from_json for input it cannot load. what() says what was wrong and where, e.g.
//   history JSON: events[3] (eventId "4"): eventType: "WorkflowExploded" is not a value of
//   temporal.api.enums.v1.EventType (neither its full name nor its short form)
class HistoryJsonError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// Proto3 canonical JSON, top level {"events": [...]}; default-valued fields are left out. pretty:
// two-space indent like `temporal workflow show --output json` (no trailing newline); false: one line.
std::string history_to_json(const temporal::api::history::v1::History& history, bool pretty = true);

// One event in the same canonical JSON (what the CLI prints per event).
std::string event_to_json(const temporal::api::history::v1::HistoryEvent& event, bool pretty = true);

// Accepts canonical JSON or the short-enum dialect, either as {"events": [...]} or wrapped in a JSON
// array ([{"events": [...]}]); a bare array of events is accepted too. Unknown fields are ignored;
// unknown enum names are errors. Throws HistoryJsonError, never anything else, on bad input.
temporal::api::history::v1::History history_from_json(std::string_view json);

}  // namespace reprise::history
