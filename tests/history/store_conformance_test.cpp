// The HistoryStore contract (history/history_store.h), written once and run against every store:
// SQLite (a temp file), the memory store, and the fault-injecting wrapper with nothing armed.
// A new store passes by being added to the TEMPLATE_TEST_CASE type lists below.
//
// What is checked: a run reads back exactly as written; the optimistic concurrency check
// (AlreadyExists, Conflict) writes nothing when it refuses; malformed transactions are rejected;
// tasks and timers move atomically with events; a successor run (continue-as-new) lands with its
// predecessor or not at all; current-run lookup, listing and paging; and many
// threads committing at once, to different runs (all land) and to the same run (one winner per
// version).
#include <atomic>
#include <barrier>
#include <catch2/catch.hpp>
#include <mutex>
#include <set>
#include <thread>

#include "tests/history/store_test_support.h"

using namespace reprise::history;
using namespace reprise::history::testing;

namespace {

std::vector<std::string> serialized(const std::vector<HistoryEvent>& events) {
  std::vector<std::string> out;
  for (const HistoryEvent& e : events) out.push_back(e.SerializeAsString());
  return out;
}

// Everything the store holds that a transaction could have touched, in comparable form.
struct Snapshot {
  std::optional<ExecutionRow> row;
  std::vector<std::string> events;
  size_t tasks;
  size_t timers;
};

Snapshot snapshot(HistoryStore& store, const ExecutionKey& k) {
  return Snapshot{store.get_execution(k), serialized(store.read_events(k, 1)), store.load_tasks().size(),
                  store.load_timers().size()};
}

void require_same(const Snapshot& before, const Snapshot& after) {
  REQUIRE(before.row.has_value() == after.row.has_value());
  if (before.row) {
    CHECK(after.row->next_event_id == before.row->next_event_id);
    CHECK(after.row->state_transition_count == before.row->state_transition_count);
    CHECK(after.row->state == before.row->state);
    CHECK(after.row->status == before.row->status);
  }
  CHECK(after.events == before.events);
  CHECK(after.tasks == before.tasks);
  CHECK(after.timers == before.timers);
}

TaskRow task_for(const ExecutionKey& k, int64_t scheduled_event_id) {
  TaskRow t;
  t.kind = TaskKind::WorkflowTask;
  t.task_queue = "greetings";
  t.execution = k;
  t.scheduled_event_id = scheduled_event_id;
  t.created_time_ms = 1234;
  return t;
}

TimerRow timer_for(const ExecutionKey& k, int64_t fire_time_ms, const std::string& timer_id) {
  TimerRow t;
  t.kind = TimerKind::UserTimer;
  t.execution = k;
  t.fire_time_ms = fire_time_ms;
  t.event_id = 5;
  t.attempt = 1;
  t.timer_id = timer_id;
  return t;
}

}  // namespace

#define STORE_TYPES SqliteStoreFactory, UncachedSqliteStoreFactory, MemoryStoreFactory, FaultWrappedStoreFactory

TEMPLATE_TEST_CASE("A new run reads back with its row and its events exactly as written", "[store]", STORE_TYPES) {
  TestType factory;
  auto store = factory.make();
  Transaction tx = start_run(key("greet-1"), 3);
  tx.execution.close_time_ms = 42;
  REQUIRE(store->commit(tx) == CommitResult::Ok);

  std::optional<ExecutionRow> row = store->get_execution(key("greet-1"));
  REQUIRE(row.has_value());
  CHECK(row->key == key("greet-1"));
  CHECK(row->workflow_type == "Greet");
  CHECK(row->task_queue == "greetings");
  CHECK(row->status == kRunning);
  CHECK(row->next_event_id == 4);
  CHECK(row->state_transition_count == 1);
  CHECK(row->start_time_ms == 1'700'000'000'000);
  CHECK(row->close_time_ms == 42);
  CHECK(row->state == std::string("state\0v1", 8));

  CHECK(serialized(store->read_events(key("greet-1"), 1)) == serialized(tx.events));
  std::vector<HistoryEvent> events = store->read_events(key("greet-1"), 1);
  CHECK(events.at(0).workflow_execution_started_event_attributes().workflow_type().name() == "Greet");

  // Other runs and other workflows are untouched.
  CHECK_FALSE(store->get_execution(key("greet-1", "run-2")).has_value());
  CHECK_FALSE(store->get_execution(key("greet-1", "run-1", "other-namespace")).has_value());
  CHECK(store->read_events(key("greet-2"), 1).empty());
}

TEMPLATE_TEST_CASE("Appended events continue the history and update the row", "[store]", STORE_TYPES) {
  TestType factory;
  auto store = factory.make();
  Transaction start = start_run(key("greet-1"), 2);
  REQUIRE(store->commit(start) == CommitResult::Ok);
  Transaction next = append(*store->get_execution(key("greet-1")), 3);
  next.execution.status = kCompleted;
  REQUIRE(store->commit(next) == CommitResult::Ok);

  ExecutionRow row = *store->get_execution(key("greet-1"));
  CHECK(row.next_event_id == 6);
  CHECK(row.state_transition_count == 2);
  CHECK(row.status == kCompleted);
  CHECK(row.state == "state after transition 2");
  std::vector<HistoryEvent> events = store->read_events(key("greet-1"), 1);
  REQUIRE(events.size() == 5);
  for (size_t i = 0; i < events.size(); ++i) CHECK(events[i].event_id() == static_cast<int64_t>(i + 1));
}

TEMPLATE_TEST_CASE("Reading events starts at first_event_id and stops after max_count", "[store]", STORE_TYPES) {
  TestType factory;
  auto store = factory.make();
  Transaction tx = start_run(key("greet-1"), 10);
  REQUIRE(store->commit(tx) == CommitResult::Ok);

  auto ids = [&](int64_t first, int64_t max_count) {
    std::vector<int64_t> out;
    for (const HistoryEvent& e : store->read_events(key("greet-1"), first, max_count)) out.push_back(e.event_id());
    return out;
  };
  CHECK(ids(1, 0).size() == 10);
  CHECK(ids(4, 3) == std::vector<int64_t>{4, 5, 6});
  CHECK(ids(9, 0) == std::vector<int64_t>{9, 10});
  CHECK(ids(9, 5) == std::vector<int64_t>{9, 10});
  CHECK(ids(11, 0).empty());

  // Across the transactions that wrote them (a store may keep each transaction's events together).
  Transaction more = append(*store->get_execution(key("greet-1")), 3);
  REQUIRE(store->commit(more) == CommitResult::Ok);
  Transaction last = append(*store->get_execution(key("greet-1")), 1);
  REQUIRE(store->commit(last) == CommitResult::Ok);
  CHECK(ids(9, 3) == std::vector<int64_t>{9, 10, 11});
  CHECK(ids(12, 0) == std::vector<int64_t>{12, 13, 14});
  CHECK(ids(10, 5) == std::vector<int64_t>{10, 11, 12, 13, 14});
  CHECK(ids(14, 1) == std::vector<int64_t>{14});
  CHECK(ids(1, 0).size() == 14);
  CHECK(ids(15, 0).empty());
}

TEMPLATE_TEST_CASE("History bytes are the same events, as one serialized History", "[store]", STORE_TYPES) {
  TestType factory;
  auto store = factory.make();
  Transaction tx = start_run(key("greet-1"), 4);
  // Events of 2, 200 and 20,000 bytes: lengths that take one, two and three bytes to frame.
  tx.events[1].mutable_workflow_task_scheduled_event_attributes()->mutable_task_queue()->set_name(
      std::string(200, 'q'));
  tx.events[2].mutable_workflow_task_scheduled_event_attributes()->mutable_task_queue()->set_name(
      std::string(20000, 'q'));
  REQUIRE(store->commit(tx) == CommitResult::Ok);
  Transaction next = append(*store->get_execution(key("greet-1")), 2);
  REQUIRE(store->commit(next) == CommitResult::Ok);

  for (auto [first, max_count] : std::vector<std::pair<int64_t, int64_t>>{{1, 0}, {2, 2}, {3, 0}, {6, 5}, {7, 0}}) {
    CAPTURE(first, max_count);
    temporal::api::history::v1::History history;
    REQUIRE(history.ParseFromString(store->read_history_bytes(key("greet-1"), first, max_count)));
    std::vector<HistoryEvent> decoded(history.events().begin(), history.events().end());
    CHECK(serialized(decoded) == serialized(store->read_events(key("greet-1"), first, max_count)));
  }
  CHECK(store->read_history_bytes(key("greet-1"), 1, 0).size() > 20000);
  CHECK(store->read_history_bytes(key("ghost"), 1, 0).empty());
}

TEMPLATE_TEST_CASE("Starting a run that already exists returns AlreadyExists and writes nothing", "[store]",
                   STORE_TYPES) {
  TestType factory;
  auto store = factory.make();
  Transaction first = start_run(key("greet-1"), 2);
  REQUIRE(store->commit(first) == CommitResult::Ok);
  const Snapshot before = snapshot(*store, key("greet-1"));

  Transaction again = start_run(key("greet-1"), 3, "SomethingElse");
  again.add_tasks.push_back(task_for(key("greet-1"), 2));
  again.add_timers.push_back(timer_for(key("greet-1"), 99, "t"));
  CHECK(store->commit(again) == CommitResult::AlreadyExists);
  CHECK(again.add_tasks[0].id == 0);  // no id handed out for a task that was not written
  require_same(before, snapshot(*store, key("greet-1")));
  CHECK(store->get_execution(key("greet-1"))->workflow_type == "Greet");

  // A different run of the same workflow id is a different row and is fine.
  Transaction second_run = start_run(key("greet-1", "run-2"), 2);
  CHECK(store->commit(second_run) == CommitResult::Ok);
}

TEMPLATE_TEST_CASE("A commit with a stale next event id returns Conflict and writes nothing", "[store]", STORE_TYPES) {
  TestType factory;
  auto store = factory.make();
  Transaction start = start_run(key("greet-1"), 2);
  REQUIRE(store->commit(start) == CommitResult::Ok);
  const ExecutionRow seen = *store->get_execution(key("greet-1"));

  // Two writers read the same version; the first one to commit wins.
  Transaction winner = append(seen, 1);
  REQUIRE(store->commit(winner) == CommitResult::Ok);
  const Snapshot before = snapshot(*store, key("greet-1"));

  // The loser's view (next_event_id 3) is stale: the row is now at 4.
  Transaction loser = append(seen, 2);
  loser.expected_state_transition_count = winner.execution.state_transition_count;  // only the event id is stale
  loser.add_tasks.push_back(task_for(key("greet-1"), 3));
  loser.add_timers.push_back(timer_for(key("greet-1"), 99, "t"));
  CHECK(store->commit(loser) == CommitResult::Conflict);
  require_same(before, snapshot(*store, key("greet-1")));
}

TEMPLATE_TEST_CASE("A commit with a stale state transition count returns Conflict and writes nothing", "[store]",
                   STORE_TYPES) {
  TestType factory;
  auto store = factory.make();
  Transaction start = start_run(key("greet-1"), 2);
  REQUIRE(store->commit(start) == CommitResult::Ok);
  const ExecutionRow seen = *store->get_execution(key("greet-1"));

  // A transition that adds no event (e.g. an activity heartbeat) moves only the count.
  Transaction eventless = append(seen, 0);
  REQUIRE(store->commit(eventless) == CommitResult::Ok);
  const Snapshot before = snapshot(*store, key("greet-1"));

  Transaction stale = append(seen, 1);  // same next_event_id as the row, older count
  stale.add_tasks.push_back(task_for(key("greet-1"), 3));
  CHECK(store->commit(stale) == CommitResult::Conflict);
  require_same(before, snapshot(*store, key("greet-1")));
}

TEMPLATE_TEST_CASE("Updating a run that does not exist returns Conflict", "[store]", STORE_TYPES) {
  TestType factory;
  auto store = factory.make();
  ExecutionRow ghost = start_run(key("ghost"), 2).execution;
  Transaction tx = append(ghost, 1);
  CHECK(store->commit(tx) == CommitResult::Conflict);
  CHECK_FALSE(store->get_execution(key("ghost")).has_value());
  CHECK(store->read_events(key("ghost"), 1).empty());
}

TEMPLATE_TEST_CASE("Events that do not continue the history are rejected and nothing is written", "[store]",
                   STORE_TYPES) {
  TestType factory;
  auto store = factory.make();
  Transaction start = start_run(key("greet-1"), 2);
  REQUIRE(store->commit(start) == CommitResult::Ok);
  const ExecutionRow current = *store->get_execution(key("greet-1"));
  const Snapshot before = snapshot(*store, key("greet-1"));

  Transaction tx = append(current, 3);  // events 3, 4, 5; next_event_id 6
  tx.add_tasks.push_back(task_for(key("greet-1"), 5));
  SECTION("a gap in the middle") { tx.events[1].set_event_id(7); }
  SECTION("a first event that does not follow the stored history") {
    for (HistoryEvent& e : tx.events) e.set_event_id(e.event_id() + 1);
    tx.execution.next_event_id += 1;
  }
  SECTION("an execution next_event_id that does not match the events") { tx.execution.next_event_id = 9; }
  SECTION("only one half of the expected version") { tx.expected_state_transition_count.reset(); }
  CHECK_THROWS_AS(store->commit(tx), std::invalid_argument);
  require_same(before, snapshot(*store, key("greet-1")));
}

TEMPLATE_TEST_CASE("Task and timer rows for another run are rejected and nothing is written", "[store]", STORE_TYPES) {
  TestType factory;
  auto store = factory.make();
  for (const char* id : {"greet-1", "greet-2"}) {
    Transaction start = start_run(key(id), 2);
    REQUIRE(store->commit(start) == CommitResult::Ok);
  }
  const Snapshot before = snapshot(*store, key("greet-1"));

  Transaction tx = append(*store->get_execution(key("greet-1")), 1);
  SECTION("a task") { tx.add_tasks.push_back(task_for(key("greet-2"), 3)); }
  SECTION("a timer") { tx.add_timers.push_back(timer_for(key("greet-1", "another-run"), 10, "t")); }
  CHECK_THROWS_AS(store->commit(tx), std::invalid_argument);
  require_same(before, snapshot(*store, key("greet-1")));
}

TEMPLATE_TEST_CASE("A new run whose events do not start at 1 is rejected", "[store]", STORE_TYPES) {
  TestType factory;
  auto store = factory.make();
  Transaction tx = start_run(key("greet-1"), 2);
  tx.events.erase(tx.events.begin());  // events: 2 only
  CHECK_THROWS_AS(store->commit(tx), std::invalid_argument);
  CHECK_FALSE(store->get_execution(key("greet-1")).has_value());
}

TEMPLATE_TEST_CASE("Tasks and timers are added with fresh ids and removed in the same transaction as events", "[store]",
                   STORE_TYPES) {
  TestType factory;
  auto store = factory.make();
  const ExecutionKey k = key("greet-1");

  // Start: a workflow task to hand out, and two timers.
  Transaction start = start_run(k, 2);
  start.add_tasks.push_back(task_for(k, 2));
  start.add_timers.push_back(timer_for(k, 5000, "later"));
  start.add_timers.push_back(timer_for(k, 1000, "sooner"));
  REQUIRE(store->commit(start) == CommitResult::Ok);
  const ExecutionRow after_start = *store->get_execution(k);
  const int64_t task_id = start.add_tasks[0].id;
  CHECK(task_id > 0);
  CHECK(start.add_timers[0].id > 0);
  CHECK(start.add_timers[1].id > 0);
  CHECK(start.add_timers[0].id != start.add_timers[1].id);

  std::vector<TaskRow> tasks = store->load_tasks();
  REQUIRE(tasks.size() == 1);
  CHECK(tasks[0].id == task_id);
  CHECK(tasks[0].kind == TaskKind::WorkflowTask);
  CHECK(tasks[0].task_queue == "greetings");
  CHECK(tasks[0].execution == k);
  CHECK(tasks[0].scheduled_event_id == 2);
  CHECK(tasks[0].attempt == 1);
  CHECK(tasks[0].created_time_ms == 1234);

  std::vector<TimerRow> timers = store->load_timers();
  REQUIRE(timers.size() == 2);
  CHECK(timers[0].timer_id == "sooner");  // by fire time
  CHECK(timers[0].fire_time_ms == 1000);
  CHECK(timers[0].kind == TimerKind::UserTimer);
  CHECK(timers[0].execution == k);
  CHECK(timers[0].event_id == 5);
  CHECK(timers[0].attempt == 1);
  CHECK(timers[1].timer_id == "later");

  // The task is taken and a timer fires, together with the events that record it; a new
  // activity task is added in the same breath.
  Transaction next = append(after_start, 2);
  next.remove_tasks.push_back(task_id);
  next.remove_timers.push_back(start.add_timers[1].id);
  TaskRow activity = task_for(k, 4);
  activity.kind = TaskKind::ActivityTask;
  activity.attempt = 3;
  next.add_tasks.push_back(activity);
  REQUIRE(store->commit(next) == CommitResult::Ok);
  CHECK(next.add_tasks[0].id > task_id);  // ids are never reused

  tasks = store->load_tasks();
  REQUIRE(tasks.size() == 1);
  CHECK(tasks[0].id == next.add_tasks[0].id);
  CHECK(tasks[0].kind == TaskKind::ActivityTask);
  CHECK(tasks[0].attempt == 3);
  timers = store->load_timers();
  REQUIRE(timers.size() == 1);
  CHECK(timers[0].timer_id == "later");
  CHECK(store->read_events(k, 1).size() == 4);

  // A removal that conflicts leaves the task in place.
  Transaction stale = append(after_start, 1);
  stale.remove_tasks.push_back(next.add_tasks[0].id);
  CHECK(store->commit(stale) == CommitResult::Conflict);
  CHECK(store->load_tasks().size() == 1);
}

TEMPLATE_TEST_CASE("Tasks load in the order they were added", "[store]", STORE_TYPES) {
  TestType factory;
  auto store = factory.make();
  for (int i = 0; i < 5; ++i) {
    Transaction tx = start_run(key("wf-" + std::to_string(i)), 2);
    tx.add_tasks.push_back(task_for(tx.execution.key, 2));
    REQUIRE(store->commit(tx) == CommitResult::Ok);
  }
  std::vector<TaskRow> tasks = store->load_tasks();
  REQUIRE(tasks.size() == 5);
  for (size_t i = 0; i < tasks.size(); ++i) CHECK(tasks[i].execution.workflow_id == "wf-" + std::to_string(i));
}

TEMPLATE_TEST_CASE("The current execution of a workflow id is its newest run", "[store]", STORE_TYPES) {
  TestType factory;
  auto store = factory.make();
  CHECK_FALSE(store->get_current_execution("default", "greet-1").has_value());

  // Run ids sort the other way round from creation order, so a store that picks by run id fails.
  Transaction first = start_run(key("greet-1", "zz-first"), 2);
  first.execution.status = kCompleted;
  REQUIRE(store->commit(first) == CommitResult::Ok);
  CHECK(store->get_current_execution("default", "greet-1")->key.run_id == "zz-first");

  Transaction second = start_run(key("greet-1", "aa-second"), 2);
  REQUIRE(store->commit(second) == CommitResult::Ok);
  Transaction other = start_run(key("greet-10", "mm"), 2);  // a neighbouring workflow id
  REQUIRE(store->commit(other) == CommitResult::Ok);

  std::optional<ExecutionRow> current = store->get_current_execution("default", "greet-1");
  REQUIRE(current.has_value());
  CHECK(current->key.run_id == "aa-second");
  CHECK(current->status == kRunning);

  // Updating the older run does not make it current again.
  Transaction touch_old = append(*store->get_execution(key("greet-1", "zz-first")), 1);
  REQUIRE(store->commit(touch_old) == CommitResult::Ok);
  CHECK(store->get_current_execution("default", "greet-1")->key.run_id == "aa-second");
  CHECK_FALSE(store->get_current_execution("other-namespace", "greet-1").has_value());
}

TEMPLATE_TEST_CASE("A successor run is written in the same commit and becomes the current run", "[store]",
                   STORE_TYPES) {
  TestType factory;
  auto store = factory.make();
  Transaction start = start_run(key("greet-1", "zz-first"), 2);
  REQUIRE(store->commit(start) == CommitResult::Ok);

  // Continue-as-new: close the first run and start the second in one step.
  Transaction close = append(*store->get_execution(key("greet-1", "zz-first")), 1);
  close.execution.status = kCompleted;
  close.add_timers.push_back(timer_for(key("greet-1", "zz-first"), 10, "closing"));
  close.successor = std::make_shared<Transaction>(start_run(key("greet-1", "aa-next"), 2));
  close.successor->add_tasks.push_back(task_for(key("greet-1", "aa-next"), 2));
  close.successor->add_timers.push_back(timer_for(key("greet-1", "aa-next"), 20, "run-timeout"));
  REQUIRE(store->commit(close) == CommitResult::Ok);

  CHECK(store->get_execution(key("greet-1", "zz-first"))->status == kCompleted);
  CHECK(store->read_events(key("greet-1", "zz-first"), 1).size() == 3);
  CHECK(serialized(store->read_events(key("greet-1", "aa-next"), 1)) == serialized(close.successor->events));
  CHECK(store->get_current_execution("default", "greet-1")->key.run_id == "aa-next");
  // Both runs' rows got fresh, distinct ids.
  REQUIRE(close.successor->add_tasks.at(0).id != 0);
  CHECK(close.add_timers.at(0).id != 0);
  CHECK(close.successor->add_timers.at(0).id != 0);
  CHECK(close.successor->add_timers.at(0).id != close.add_timers.at(0).id);
  // Each row loads back naming the run it was written for.
  const std::vector<TaskRow> tasks = store->load_tasks();
  REQUIRE(tasks.size() == 1);
  CHECK(tasks[0].execution == key("greet-1", "aa-next"));
  const std::vector<TimerRow> timers = store->load_timers();  // by fire time
  REQUIRE(timers.size() == 2);
  CHECK(timers[0].execution == key("greet-1", "zz-first"));
  CHECK(timers[1].execution == key("greet-1", "aa-next"));
}

TEMPLATE_TEST_CASE("A commit whose successor already exists writes neither run", "[store]", STORE_TYPES) {
  TestType factory;
  auto store = factory.make();
  Transaction start = start_run(key("greet-1", "first"), 2);
  REQUIRE(store->commit(start) == CommitResult::Ok);
  Transaction taken = start_run(key("greet-1", "taken"), 2);
  REQUIRE(store->commit(taken) == CommitResult::Ok);
  const Snapshot first_before = snapshot(*store, key("greet-1", "first"));
  const Snapshot taken_before = snapshot(*store, key("greet-1", "taken"));

  Transaction close = append(*store->get_execution(key("greet-1", "first")), 1);
  close.execution.status = kCompleted;
  close.add_tasks.push_back(task_for(key("greet-1", "first"), 3));
  close.successor = std::make_shared<Transaction>(start_run(key("greet-1", "taken"), 3));
  CHECK(store->commit(close) == CommitResult::AlreadyExists);
  require_same(first_before, snapshot(*store, key("greet-1", "first")));
  require_same(taken_before, snapshot(*store, key("greet-1", "taken")));
}

TEMPLATE_TEST_CASE("A conflicting commit does not write its successor either", "[store]", STORE_TYPES) {
  TestType factory;
  auto store = factory.make();
  Transaction start = start_run(key("greet-1", "first"), 2);
  REQUIRE(store->commit(start) == CommitResult::Ok);
  Transaction close = append(*store->get_execution(key("greet-1", "first")), 1);
  Transaction rival = append(*store->get_execution(key("greet-1", "first")), 1);
  REQUIRE(store->commit(rival) == CommitResult::Ok);

  close.successor = std::make_shared<Transaction>(start_run(key("greet-1", "next"), 2));
  CHECK(store->commit(close) == CommitResult::Conflict);
  CHECK_FALSE(store->get_execution(key("greet-1", "next")).has_value());
  CHECK(store->read_events(key("greet-1", "next"), 1).empty());
  CHECK(store->get_current_execution("default", "greet-1")->key.run_id == "first");
}

TEMPLATE_TEST_CASE("A successor that is not a new run is rejected", "[store]", STORE_TYPES) {
  TestType factory;
  auto store = factory.make();
  Transaction start = start_run(key("greet-1", "first"), 2);
  REQUIRE(store->commit(start) == CommitResult::Ok);
  Transaction close = append(*store->get_execution(key("greet-1", "first")), 1);
  close.successor = std::make_shared<Transaction>(append(*store->get_execution(key("greet-1", "first")), 1));
  CHECK_THROWS_AS(store->commit(close), std::invalid_argument);
  CHECK(store->get_execution(key("greet-1", "first"))->next_event_id == 3);
}

TEMPLATE_TEST_CASE("Listing returns the newest runs first and applies every filter", "[store]", STORE_TYPES) {
  TestType factory;
  auto store = factory.make();
  // wf-0 .. wf-5, alternately of type A and B; the even ones completed.
  for (int i = 0; i < 6; ++i) {
    Transaction tx = start_run(key("wf-" + std::to_string(i)), 2, i % 2 == 0 ? "A" : "B");
    if (i % 2 == 0) tx.execution.status = kCompleted;
    REQUIRE(store->commit(tx) == CommitResult::Ok);
  }
  Transaction rerun = start_run(key("wf-1", "run-2"), 2, "B");
  REQUIRE(store->commit(rerun) == CommitResult::Ok);
  Transaction elsewhere = start_run(key("wf-9", "run-1", "other-namespace"), 2, "A");
  REQUIRE(store->commit(elsewhere) == CommitResult::Ok);

  auto listed = [&](ListFilter filter) {
    std::vector<std::string> out;
    for (const ExecutionRow& row : store->list_executions(filter).executions) {
      out.push_back(row.key.workflow_id + "/" + row.key.run_id);
    }
    return out;
  };
  ListFilter all = in_namespace("default");
  CHECK(listed(all) == std::vector<std::string>{"wf-1/run-2", "wf-5/run-1", "wf-4/run-1", "wf-3/run-1", "wf-2/run-1",
                                                "wf-1/run-1", "wf-0/run-1"});
  CHECK(store->count_executions(all) == 7);

  ListFilter completed = in_namespace("default");
  completed.status = kCompleted;
  CHECK(listed(completed) == std::vector<std::string>{"wf-4/run-1", "wf-2/run-1", "wf-0/run-1"});
  CHECK(store->count_executions(completed) == 3);

  ListFilter type_b = in_namespace("default");
  type_b.workflow_type = "B";
  CHECK(listed(type_b) == std::vector<std::string>{"wf-1/run-2", "wf-5/run-1", "wf-3/run-1", "wf-1/run-1"});
  CHECK(store->count_executions(type_b) == 4);

  ListFilter one_id = in_namespace("default");
  one_id.workflow_id = "wf-1";
  CHECK(listed(one_id) == std::vector<std::string>{"wf-1/run-2", "wf-1/run-1"});

  ListFilter combined = in_namespace("default");
  combined.workflow_type = "B";
  combined.status = kRunning;
  combined.workflow_id = "wf-3";
  CHECK(listed(combined) == std::vector<std::string>{"wf-3/run-1"});
  CHECK(store->count_executions(combined) == 1);

  ListFilter nothing = in_namespace("default");
  nothing.workflow_type = "C";
  CHECK(listed(nothing).empty());
  CHECK(store->list_executions(nothing).next == 0);
  CHECK(store->count_executions(nothing) == 0);

  CHECK(listed(in_namespace("other-namespace")) == std::vector<std::string>{"wf-9/run-1"});
  CHECK(listed(in_namespace("no-such-namespace")).empty());

  // The listed row carries the stored columns, not just the key.
  ExecutionRow first = store->list_executions(all).executions.at(0);
  CHECK(first.workflow_type == "B");
  CHECK(first.next_event_id == 3);
  CHECK(first.state == std::string("state\0v1", 8));
}

TEMPLATE_TEST_CASE("Paging through a listing visits every matching run once", "[store]", STORE_TYPES) {
  TestType factory;
  auto store = factory.make();
  for (int i = 0; i < 10; ++i) {
    Transaction tx = start_run(key("wf-" + std::to_string(i)), 2, i % 3 == 0 ? "Rare" : "Common");
    REQUIRE(store->commit(tx) == CommitResult::Ok);
  }

  auto page_through = [&](ListFilter filter) {
    std::vector<std::vector<std::string>> pages;
    do {
      ListPage page = store->list_executions(filter);
      std::vector<std::string> ids;
      for (const ExecutionRow& row : page.executions) ids.push_back(row.key.workflow_id);
      pages.push_back(ids);
      filter.after = page.next;
      REQUIRE(pages.size() < 20);  // a token that never ends would loop forever
    } while (filter.after != 0);
    return pages;
  };

  ListFilter all = in_namespace("default");
  all.page_size = 4;
  CHECK(page_through(all) == std::vector<std::vector<std::string>>{
                                 {"wf-9", "wf-8", "wf-7", "wf-6"}, {"wf-5", "wf-4", "wf-3", "wf-2"}, {"wf-1", "wf-0"}});

  // An exact multiple of the page size ends without an empty extra page.
  all.page_size = 5;
  CHECK(page_through(all).size() == 2);

  // Paging with a filter: wf-0, 3, 6, 9 are Rare.
  ListFilter rare = in_namespace("default");
  rare.workflow_type = "Rare";
  rare.page_size = 3;
  CHECK(page_through(rare) == std::vector<std::vector<std::string>>{{"wf-9", "wf-6", "wf-3"}, {"wf-0"}});

  // Runs started while paging do not appear on later pages (they are newer than the token).
  ListFilter first_page = in_namespace("default");
  first_page.page_size = 4;
  ListPage page = store->list_executions(first_page);
  Transaction late = start_run(key("wf-late"), 2);
  REQUIRE(store->commit(late) == CommitResult::Ok);
  first_page.after = page.next;
  CHECK(store->list_executions(first_page).executions.at(0).key.workflow_id == "wf-5");
}

TEMPLATE_TEST_CASE("Commits from many threads to different runs all land", "[store][concurrency]", STORE_TYPES) {
  TestType factory;
  auto store = factory.make();
  constexpr int kThreads = 8;
  constexpr int kCommitsPerThread = 25;

  // Catch2's assertions are not thread-safe: the threads count what went wrong, the test checks.
  std::atomic<int> not_ok{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      try {
        const ExecutionKey k = key("wf-" + std::to_string(t));
        Transaction start = start_run(k, 1);
        start.add_tasks.push_back(task_for(k, 1));
        if (store->commit(start) != CommitResult::Ok) ++not_ok;
        ExecutionRow row = start.execution;
        for (int i = 1; i < kCommitsPerThread; ++i) {
          Transaction tx = append(row, 2, /*marker=*/t);
          tx.add_timers.push_back(timer_for(k, i, "t" + std::to_string(i)));
          if (store->commit(tx) != CommitResult::Ok) ++not_ok;
          row = tx.execution;
        }
      } catch (...) {
        ++not_ok;
      }
    });
  }
  for (std::thread& thread : threads) thread.join();
  REQUIRE(not_ok == 0);

  for (int t = 0; t < kThreads; ++t) {
    const ExecutionKey k = key("wf-" + std::to_string(t));
    std::optional<ExecutionRow> row = store->get_execution(k);
    REQUIRE(row.has_value());
    CHECK(row->state_transition_count == kCommitsPerThread);
    CHECK(row->next_event_id == 1 + 1 + 2 * (kCommitsPerThread - 1));
    std::vector<HistoryEvent> events = store->read_events(k, 1);
    REQUIRE(static_cast<int64_t>(events.size()) == row->next_event_id - 1);
    for (size_t i = 0; i < events.size(); ++i) {
      CHECK(events[i].event_id() == static_cast<int64_t>(i + 1));
      if (i > 0) CHECK(events[i].task_id() == t);  // nobody else's events ended up here
    }
  }
  CHECK(store->load_tasks().size() == kThreads);
  CHECK(store->load_timers().size() == kThreads * (kCommitsPerThread - 1));
  std::set<int64_t> timer_ids;
  for (const TimerRow& timer : store->load_timers()) timer_ids.insert(timer.id);
  CHECK(timer_ids.size() == kThreads * (kCommitsPerThread - 1));
  CHECK(store->count_executions(in_namespace("default")) == kThreads);
}

TEMPLATE_TEST_CASE("Concurrent commits to the same run let exactly one writer win each version", "[store][concurrency]",
                   STORE_TYPES) {
  TestType factory;
  auto store = factory.make();
  const ExecutionKey k = key("contended");
  Transaction start = start_run(k, 1);
  REQUIRE(store->commit(start) == CommitResult::Ok);

  // Every round, all threads read the same version, then all try to commit on top of it at once
  // (the barrier releases them together). Exactly one may succeed; the rest must see Conflict and
  // leave no trace: no event, no task.
  constexpr int kThreads = 4;
  constexpr int kRounds = 20;
  std::barrier rounds_gate(kThreads);
  std::mutex results_mu;
  int errors = 0;
  std::vector<std::vector<int>> winners(kRounds);  // round -> threads that got Ok
  std::vector<int> conflicts(kRounds, 0);

  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int round = 0; round < kRounds; ++round) {
        rounds_gate.arrive_and_wait();  // the previous round is fully over
        ExecutionRow seen = *store->get_execution(k);
        Transaction tx = append(seen, 1 + t % 2, /*marker=*/t);  // some append 1 event, some 2
        tx.add_tasks.push_back(task_for(k, seen.next_event_id));
        rounds_gate.arrive_and_wait();  // everybody has read the same version
        try {
          const CommitResult result = store->commit(tx);
          std::lock_guard lock(results_mu);
          if (result == CommitResult::Ok) winners[round].push_back(t);
          if (result == CommitResult::Conflict) ++conflicts[round];
        } catch (...) {
          std::lock_guard lock(results_mu);
          ++errors;
        }
      }
    });
  }
  for (std::thread& thread : threads) thread.join();
  REQUIRE(errors == 0);

  int64_t expected_events = 1;
  for (int round = 0; round < kRounds; ++round) {
    INFO("round " << round);
    REQUIRE(winners[round].size() == 1);
    CHECK(conflicts[round] == kThreads - 1);
    expected_events += 1 + winners[round][0] % 2;
  }
  ExecutionRow row = *store->get_execution(k);
  CHECK(row.state_transition_count == 1 + kRounds);
  CHECK(row.next_event_id == expected_events + 1);

  // The history is exactly the winners' events, in round order, contiguous.
  std::vector<HistoryEvent> events = store->read_events(k, 1);
  REQUIRE(static_cast<int64_t>(events.size()) == expected_events);
  size_t index = 1;
  for (int round = 0; round < kRounds; ++round) {
    const int winner = winners[round][0];
    for (int i = 0; i < 1 + winner % 2; ++i, ++index) {
      CHECK(events[index].event_id() == static_cast<int64_t>(index + 1));
      CHECK(events[index].task_id() == winner);
    }
  }
  CHECK(store->load_tasks().size() == kRounds);
}
