// A history in its wire form: events sent to a worker as the bytes the store keeps.
//
// A serialized History message is nothing but its events, each one written as field 1
// (`repeated HistoryEvent events = 1`): a tag, the event's length, the event's own bytes. The store
// keeps every event serialized, so a history can be put together from the stored bytes alone,
// without decoding a single event, and handed to gRPC as the response's `history` field
// (build_workflow_task_response in engine/workflow_tasks.cpp attaches it as an unknown field,
// which protobuf writes out verbatim). The worker on the other end parses a History like any other.
// Exercised by tests/history/store_conformance_test.cpp ("history bytes").
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace reprise::history {

// Appends one serialized HistoryEvent to `history`, framed as an element of History.events.
void append_history_event(std::string& history, std::string_view event_bytes);
// How many bytes append_history_event adds for an event of event_size bytes (to reserve them).
size_t framed_history_event_size(size_t event_size);

}  // namespace reprise::history
