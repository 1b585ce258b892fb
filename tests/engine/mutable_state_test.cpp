// Mutable state is a fold over the history (engine/mutable_state.h): these unit tests build states
// from event lists with apply_event and check what the engine reads from them (pending activities,
// timers, the workflow task, next_event_id), and how flush_buffered_events orders and numbers the
// events that waited in the buffer while a workflow task was in flight.
#include "engine/mutable_state.h"

#include <catch2/catch.hpp>

#include "engine/time_util.h"

using namespace reprise::engine;

namespace {

// Events are built the way the engine writes them; `id` 0 means "still in the buffer".
HistoryEvent event(int64_t id, EventType type) {
  HistoryEvent e;
  e.set_event_id(id);
  e.set_event_type(type);
  *e.mutable_event_time() = timestamp_from_ms(1'700'000'000'000 + id * 1000);
  return e;
}

HistoryEvent workflow_started(int64_t id) {
  auto e = event(id, enums::EVENT_TYPE_WORKFLOW_EXECUTION_STARTED);
  auto* a = e.mutable_workflow_execution_started_event_attributes();
  a->mutable_workflow_type()->set_name("TestWorkflow");
  a->mutable_task_queue()->set_name("tq");
  a->set_workflow_id("wf");
  a->set_original_execution_run_id("run-1");
  return e;
}

HistoryEvent task_scheduled(int64_t id, int attempt = 1) {
  auto e = event(id, enums::EVENT_TYPE_WORKFLOW_TASK_SCHEDULED);
  e.mutable_workflow_task_scheduled_event_attributes()->mutable_task_queue()->set_name("tq");
  e.mutable_workflow_task_scheduled_event_attributes()->set_attempt(attempt);
  return e;
}

HistoryEvent task_started(int64_t id, int64_t scheduled) {
  auto e = event(id, enums::EVENT_TYPE_WORKFLOW_TASK_STARTED);
  e.mutable_workflow_task_started_event_attributes()->set_scheduled_event_id(scheduled);
  e.mutable_workflow_task_started_event_attributes()->set_identity("worker-1");
  return e;
}

HistoryEvent task_completed(int64_t id, int64_t scheduled, int64_t started) {
  auto e = event(id, enums::EVENT_TYPE_WORKFLOW_TASK_COMPLETED);
  e.mutable_workflow_task_completed_event_attributes()->set_scheduled_event_id(scheduled);
  e.mutable_workflow_task_completed_event_attributes()->set_started_event_id(started);
  return e;
}

HistoryEvent activity_scheduled(int64_t id, const std::string& activity_id) {
  auto e = event(id, enums::EVENT_TYPE_ACTIVITY_TASK_SCHEDULED);
  auto* a = e.mutable_activity_task_scheduled_event_attributes();
  a->set_activity_id(activity_id);
  a->mutable_activity_type()->set_name("work");
  a->mutable_task_queue()->set_name("tq");
  a->mutable_start_to_close_timeout()->set_seconds(10);
  return e;
}

HistoryEvent activity_started(int64_t id, int64_t scheduled, int attempt) {
  auto e = event(id, enums::EVENT_TYPE_ACTIVITY_TASK_STARTED);
  e.mutable_activity_task_started_event_attributes()->set_scheduled_event_id(scheduled);
  e.mutable_activity_task_started_event_attributes()->set_attempt(attempt);
  return e;
}

HistoryEvent activity_completed(int64_t id, int64_t scheduled) {
  auto e = event(id, enums::EVENT_TYPE_ACTIVITY_TASK_COMPLETED);
  e.mutable_activity_task_completed_event_attributes()->set_scheduled_event_id(scheduled);
  return e;
}

HistoryEvent timer_started(int64_t id, const std::string& timer_id, int seconds) {
  auto e = event(id, enums::EVENT_TYPE_TIMER_STARTED);
  e.mutable_timer_started_event_attributes()->set_timer_id(timer_id);
  e.mutable_timer_started_event_attributes()->mutable_start_to_fire_timeout()->set_seconds(seconds);
  return e;
}

HistoryEvent timer_fired(int64_t id, const std::string& timer_id, int64_t started) {
  auto e = event(id, enums::EVENT_TYPE_TIMER_FIRED);
  e.mutable_timer_fired_event_attributes()->set_timer_id(timer_id);
  e.mutable_timer_fired_event_attributes()->set_started_event_id(started);
  return e;
}

HistoryEvent signaled(int64_t id, const std::string& name) {
  auto e = event(id, enums::EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED);
  e.mutable_workflow_execution_signaled_event_attributes()->set_signal_name(name);
  return e;
}

MutableState fold(const std::vector<HistoryEvent>& events) {
  MutableState st;
  st.set_next_event_id(1);
  for (const auto& e : events) apply_event(st, e);
  return st;
}

// Events 1-6: started, a first workflow task that scheduled activity "a" (5) and timer "t" (6).
std::vector<HistoryEvent> opening() {
  return {workflow_started(1),     task_scheduled(2),          task_started(3, 2),
          task_completed(4, 2, 3), activity_scheduled(5, "a"), timer_started(6, "t", 30)};
}

// Buffers an event as ExecutionUpdate::append does while a workflow task is in flight.
void buffer(MutableState& st, HistoryEvent e) {
  e.set_event_id(0);
  apply_event(st, e);
  *st.add_buffered_events() = std::move(e);
}

}  // namespace

TEST_CASE("a started run has a scheduled workflow task and next_event_id 3", "[mutable-state]") {
  auto st = fold({workflow_started(1), task_scheduled(2)});
  CHECK(st.execution().status() == enums::WORKFLOW_EXECUTION_STATUS_RUNNING);
  CHECK(st.execution().workflow_type() == "TestWorkflow");
  CHECK(st.execution().task_queue() == "tq");
  CHECK(st.execution().run_id() == "run-1");
  CHECK(st.next_event_id() == 3);
  REQUIRE(st.has_workflow_task());
  CHECK(st.workflow_task().scheduled_event_id() == 2);
  CHECK(st.workflow_task().started_event_id() == 0);
  CHECK(st.workflow_task().attempt() == 1);
  CHECK_FALSE(workflow_task_in_flight(st));

  apply_event(st, task_started(3, 2));
  CHECK(workflow_task_in_flight(st));
  CHECK(st.workflow_task().started_event_id() == 3);
  CHECK(st.workflow_task().started_identity() == "worker-1");
}

TEST_CASE("a completed workflow task leaves its commands' activities and timers pending", "[mutable-state]") {
  auto st = fold(opening());
  CHECK(st.next_event_id() == 7);
  CHECK(st.execution().history_length() == 6);
  CHECK_FALSE(st.has_workflow_task());
  CHECK(st.last_completed_workflow_task_started_event_id() == 3);

  REQUIRE(st.activities().contains(5));
  const auto& act = st.activities().at(5);
  CHECK(act.activity_id() == "a");
  CHECK(act.activity_type() == "work");
  CHECK(act.attempt() == 1);
  CHECK_FALSE(act.started());
  CHECK(act.start_to_close_timeout().seconds() == 10);

  REQUIRE(st.timers().contains("t"));
  CHECK(st.timers().at("t").started_event_id() == 6);
  CHECK(ms_from_timestamp(st.timers().at("t").expiry_time()) == 1'700'000'000'000 + 6'000 + 30'000);
}

TEST_CASE("closing events remove what they close", "[mutable-state]") {
  auto st = fold(opening());
  apply_event(st, activity_started(7, 5, 3));
  REQUIRE(st.activities().contains(5));
  CHECK(st.activities().at(5).started());
  CHECK(st.activities().at(5).attempt() == 3);
  apply_event(st, activity_completed(8, 5));
  CHECK_FALSE(st.activities().contains(5));

  apply_event(st, timer_fired(9, "t", 6));
  CHECK(st.timers().empty());
  CHECK(st.next_event_id() == 10);
}

TEST_CASE("a close event ends the run and drops everything pending", "[mutable-state]") {
  auto st = fold(opening());
  apply_event(st, task_scheduled(7));
  apply_event(st, task_started(8, 7));
  apply_event(st, task_completed(9, 7, 8));
  apply_event(st, event(10, enums::EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED));
  CHECK(st.execution().status() == enums::WORKFLOW_EXECUTION_STATUS_COMPLETED);
  CHECK(st.execution().has_close_time());
  CHECK(st.activities().empty());
  CHECK(st.timers().empty());
  CHECK_FALSE(st.has_workflow_task());
  CHECK(st.next_event_id() == 11);
}

TEST_CASE("which events wait in the buffer", "[mutable-state]") {
  CHECK(is_bufferable_type(enums::EVENT_TYPE_ACTIVITY_TASK_STARTED));
  CHECK(is_bufferable_type(enums::EVENT_TYPE_ACTIVITY_TASK_COMPLETED));
  CHECK(is_bufferable_type(enums::EVENT_TYPE_TIMER_FIRED));
  CHECK(is_bufferable_type(enums::EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED));
  CHECK(is_bufferable_type(enums::EVENT_TYPE_WORKFLOW_EXECUTION_CANCEL_REQUESTED));
  // Workflow task events, command events and the run's own start/close are never buffered.
  CHECK_FALSE(is_bufferable_type(enums::EVENT_TYPE_WORKFLOW_TASK_COMPLETED));
  CHECK_FALSE(is_bufferable_type(enums::EVENT_TYPE_TIMER_STARTED));
  CHECK_FALSE(is_bufferable_type(enums::EVENT_TYPE_ACTIVITY_TASK_SCHEDULED));
  CHECK_FALSE(is_bufferable_type(enums::EVENT_TYPE_WORKFLOW_EXECUTION_TERMINATED));
  CHECK_FALSE(is_bufferable_type(enums::EVENT_TYPE_WORKFLOW_EXECUTION_STARTED));
}

TEST_CASE("buffered events count at once but take ids only when flushed", "[mutable-state]") {
  auto st = fold(opening());
  apply_event(st, task_scheduled(7));
  apply_event(st, task_started(8, 7));
  REQUIRE(workflow_task_in_flight(st));

  buffer(st, activity_started(0, 5, 2));
  buffer(st, activity_completed(0, 5));
  buffer(st, timer_fired(0, "t", 6));
  CHECK_FALSE(st.activities().contains(5));  // the effect counts now...
  CHECK(st.timers().empty());
  CHECK(st.next_event_id() == 9);  // ...but no id was taken
  CHECK(st.buffered_events_size() == 3);
}

TEST_CASE("flushing moves completions behind other buffered events and rewires their started ids", "[mutable-state]") {
  auto st = fold(opening());
  apply_event(st, task_scheduled(7));
  apply_event(st, task_started(8, 7));
  apply_event(st, task_completed(9, 7, 8));  // the in-flight task completed (event 9); now flush

  // Arrival order: activity started+completed, then a signal, then the timer fired.
  buffer(st, activity_started(0, 5, 2));
  buffer(st, activity_completed(0, 5));
  buffer(st, signaled(0, "s"));
  buffer(st, timer_fired(0, "t", 6));

  auto flushed = flush_buffered_events(st);
  REQUIRE(flushed.size() == 4);
  CHECK(flushed[0].event_id() == 10);
  CHECK(flushed[0].event_type() == enums::EVENT_TYPE_ACTIVITY_TASK_STARTED);
  CHECK(flushed[1].event_id() == 11);
  CHECK(flushed[1].event_type() == enums::EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED);
  CHECK(flushed[2].event_id() == 12);
  CHECK(flushed[2].event_type() == enums::EVENT_TYPE_TIMER_FIRED);
  CHECK(flushed[3].event_id() == 13);
  CHECK(flushed[3].event_type() == enums::EVENT_TYPE_ACTIVITY_TASK_COMPLETED);
  CHECK(flushed[3].activity_task_completed_event_attributes().started_event_id() == 10);

  CHECK(st.buffered_events_size() == 0);
  CHECK(st.next_event_id() == 14);
  CHECK(st.execution().history_length() == 13);
}

TEST_CASE("flushing an empty buffer writes nothing", "[mutable-state]") {
  auto st = fold(opening());
  CHECK(flush_buffered_events(st).empty());
  CHECK(st.next_event_id() == 7);
}
