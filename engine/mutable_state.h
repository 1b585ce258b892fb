// Mutable state: what a run's history adds up to.
//
// The history is the truth; mutable state is a summary the engine keeps so it need not re-read the
// history on every request: is a workflow task pending, which activities and timers are open, what
// arrived while a worker was busy. Like Temporal's server, Reprise derives it by folding events:
//
//   events:   1 WorkflowExecutionStarted  2 WorkflowTaskScheduled  3 WorkflowTaskStarted
//             4 WorkflowTaskCompleted     5 ActivityTaskScheduled
//   state:    running, no workflow task pending, activity 5 ("1", "compose_greeting") open,
//             next_event_id 6, previous started event id 3
//
// apply_event() is that fold, one event at a time, and it is a pure function of (state, event): the
// unit tests in tests/engine/mutable_state_test.cpp build states from event lists. A few facts are
// deliberately not in history (activity retry attempts, heartbeat details, the sticky queue, a
// transient workflow task); the engine sets those fields directly (engine/history_engine.cpp).
#pragma once

#include <vector>

#include "proto_names.h"

namespace reprise::engine {

// Applies one event to the state. An event with id 0 is one still waiting in the buffer: its effect
// (an activity closed, a timer fired) counts at once, but it takes no event id until flushed.
void apply_event(MutableState& state, const HistoryEvent& event);

// True for events that must wait in the buffer while a workflow task is in flight (everything not
// produced by the run's start or close, by workflow tasks or by commands).
bool is_bufferable(const HistoryEvent& event);
bool is_bufferable_type(EventType type);

// True when a worker is processing a workflow task of this run right now.
bool workflow_task_in_flight(const MutableState& state);

// True until the run closes (completed, failed, canceled, terminated, timed out, continued as new).
inline bool is_running(const MutableState& state) {
  return state.execution().status() == temporal::api::enums::v1::WORKFLOW_EXECUTION_STATUS_RUNNING;
}

// Gives the buffered events their ids, in Temporal's order: completions of activities and children
// move behind the other buffered events, and each completion's started_event_id is rewired to the
// id its ActivityTaskStarted just received. Clears the buffer and advances next_event_id.
std::vector<HistoryEvent> flush_buffered_events(MutableState& state);

bool is_close_event(EventType type);

}  // namespace reprise::engine
