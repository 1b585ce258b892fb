// FaultInjectingStore: each armed fault does exactly what it claims, over a real store.
//   before write: the commit throws and nothing is stored;
//   after write:  the commit throws but everything is stored, so a blind retry is refused
//                 (Conflict / AlreadyExists) and the caller must reload to learn what happened.
// Engine tests build on these to prove a workflow neither loses nor duplicates a step.
#include <catch2/catch.hpp>

#include "tests/history/store_test_support.h"

using namespace reprise::history;
using namespace reprise::history::testing;

TEMPLATE_TEST_CASE("A before-write fault throws and leaves nothing written", "[faults]", SqliteStoreFactory,
                   MemoryStoreFactory) {
  TestType factory;
  std::shared_ptr<HistoryStore> inner = factory.make();
  FaultInjectingStore store(inner);

  store.fail_next_commit_before_write();
  Transaction start = start_run(key("greet-1"), 2);
  start.add_tasks.push_back(TaskRow{0, TaskKind::WorkflowTask, "greetings", key("greet-1"), 2, 1, 0});
  CHECK_THROWS_AS(store.commit(start), InjectedFault);
  CHECK_FALSE(inner->get_execution(key("greet-1")).has_value());
  CHECK(inner->read_events(key("greet-1"), 1).empty());
  CHECK(inner->load_tasks().empty());

  // The fault was used up: the same transaction, retried, goes through.
  CHECK(store.commit(start) == CommitResult::Ok);
  CHECK(inner->read_events(key("greet-1"), 1).size() == 2);
}

TEMPLATE_TEST_CASE("An after-write fault throws but leaves the data written", "[faults]", SqliteStoreFactory,
                   MemoryStoreFactory) {
  TestType factory;
  std::shared_ptr<HistoryStore> inner = factory.make();
  FaultInjectingStore store(inner);
  Transaction start = start_run(key("greet-1"), 2);
  REQUIRE(store.commit(start) == CommitResult::Ok);

  store.fail_next_commit_after_write();
  Transaction next = append(start.execution, 2);
  next.add_tasks.push_back(TaskRow{0, TaskKind::ActivityTask, "greetings", key("greet-1"), 4, 1, 0});
  CHECK_THROWS_AS(store.commit(next), InjectedFault);

  // The caller was told "failed", yet it happened.
  CHECK(inner->get_execution(key("greet-1"))->next_event_id == 5);
  CHECK(inner->read_events(key("greet-1"), 1).size() == 4);
  CHECK(inner->load_tasks().size() == 1);

  // Retrying blindly is refused rather than applied twice: the version has moved on.
  Transaction retry = append(start.execution, 2);
  CHECK(store.commit(retry) == CommitResult::Conflict);
  CHECK(inner->read_events(key("greet-1"), 1).size() == 4);

  // The same for a start: the run exists, a retry is AlreadyExists.
  store.fail_next_commit_after_write();
  Transaction other = start_run(key("greet-2"), 2);
  CHECK_THROWS_AS(store.commit(other), InjectedFault);
  Transaction other_again = start_run(key("greet-2"), 2);
  CHECK(store.commit(other_again) == CommitResult::AlreadyExists);
}

TEST_CASE("Armed faults fire once each and are counted", "[faults]") {
  auto inner = std::make_shared<MemoryHistoryStore>();
  FaultInjectingStore store(inner);
  store.fail_next_commit_before_write(2);
  store.fail_next_commit_after_write();

  int ok = 0;
  int injected = 0;
  for (int i = 0; i < 5; ++i) {
    Transaction tx = start_run(key("wf-" + std::to_string(i)), 2);
    try {
      if (store.commit(tx) == CommitResult::Ok) ++ok;
    } catch (const InjectedFault&) {
      ++injected;
    }
  }
  CHECK(injected == 3);
  CHECK(ok == 2);
  const FaultInjectingStore::Counters counters = store.counters();
  CHECK(counters.commits == 5);
  CHECK(counters.failed_before_write == 2);
  CHECK(counters.failed_after_write == 1);
  // Before-write faults go first: wf-0 and wf-1 were never written, wf-2 was (then "failed").
  CHECK(inner->count_executions(in_namespace("default")) == 3);
  CHECK_FALSE(inner->get_execution(key("wf-0")).has_value());
  CHECK(inner->get_execution(key("wf-2")).has_value());
}
