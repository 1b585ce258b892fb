// Unit tests of matching (engine/matching.h): task queues that hand tasks to long-polling workers.
// A task finds a parked poller at once ("sync match") or waits in the backlog for the next poll;
// a poll that reaches its deadline, is canceled, or meets a shutdown gets nothing.
#include "engine/matching.h"

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/post.hpp>
#include <catch2/catch.hpp>
#include <chrono>
#include <future>
#include <thread>

using namespace reprise::engine;
using namespace std::chrono_literals;

namespace {

// The engine's two executors: one io thread for timers, a small pool for deliveries.
struct Executors {
  boost::asio::io_context io;
  boost::asio::executor_work_guard<boost::asio::io_context::executor_type> work{io.get_executor()};
  boost::asio::thread_pool pool{2};
  std::thread io_thread{[this] { io.run(); }};

  // Waits until everything posted to the io thread so far has run (canceled timers included).
  void drain() {
    std::promise<void> done;
    boost::asio::post(io, [&] { done.set_value(); });
    done.get_future().wait();
  }
  ~Executors() {
    work.reset();
    io_thread.join();
    pool.join();
  }
};

// What a poller receives, as a future.
struct Delivery {
  std::shared_ptr<std::promise<std::optional<TaskRow>>> promise =
      std::make_shared<std::promise<std::optional<TaskRow>>>();
  std::future<std::optional<TaskRow>> result = promise->get_future();
  Matching::Deliver deliver() {
    return [p = promise](std::optional<TaskRow> task) { p->set_value(std::move(task)); };
  }
};

// What a claimed poller is answered with (Claim::answer): here a string stands for the response.
struct Answered {
  std::shared_ptr<std::promise<std::string>> promise = std::make_shared<std::promise<std::string>>();
  std::future<std::string> result = promise->get_future();
  Matching::Answer answer() {
    return [p = promise](std::any response) { p->set_value(std::any_cast<std::string>(response)); };
  }
};

TaskRow task(int64_t scheduled_event_id) {
  TaskRow t;
  t.kind = TaskKind::ActivityTask;
  t.task_queue = "q";
  t.scheduled_event_id = scheduled_event_id;
  return t;
}

const QueueKey kQueue{"default", "q", TaskKind::ActivityTask};
auto far_deadline() { return std::chrono::steady_clock::now() + 1h; }

}  // namespace

TEST_CASE("a task added with no poller waits in the backlog for the next poll", "[matching]") {
  Executors ex;
  Matching m(ex.io, ex.pool);
  m.add_task(kQueue, task(5));
  m.add_task(kQueue, task(6));
  CHECK(m.backlog_size(kQueue) == 2);

  Delivery first;
  m.poll(kQueue, far_deadline(), first.deliver());
  auto got = first.result.get();
  REQUIRE(got);
  CHECK(got->scheduled_event_id == 5);  // first in, first out
  CHECK(m.backlog_size(kQueue) == 1);
  m.shutdown();
  ex.drain();
}

TEST_CASE("a parked poller gets a new task at once", "[matching]") {
  Executors ex;
  Matching m(ex.io, ex.pool);
  Delivery parked;
  m.poll(kQueue, far_deadline(), parked.deliver());
  m.add_task(kQueue, task(7));
  auto got = parked.result.get();
  REQUIRE(got);
  CHECK(got->scheduled_event_id == 7);
  CHECK(m.backlog_size(kQueue) == 0);
  m.shutdown();
  ex.drain();
}

TEST_CASE("queues are separate by name and by kind", "[matching]") {
  Executors ex;
  Matching m(ex.io, ex.pool);
  m.add_task(QueueKey{"default", "q", TaskKind::WorkflowTask}, task(1));
  m.add_task(QueueKey{"default", "other", TaskKind::ActivityTask}, task(2));
  CHECK(m.backlog_size(kQueue) == 0);
  CHECK(m.backlog_size(QueueKey{"default", "q", TaskKind::WorkflowTask}) == 1);
  CHECK(m.backlog_size(QueueKey{"default", "other", TaskKind::ActivityTask}) == 1);
  m.shutdown();
  ex.drain();
}

TEST_CASE("a poll that reaches its deadline gets nothing, and a later task waits in the backlog", "[matching]") {
  Executors ex;
  Matching m(ex.io, ex.pool);
  Delivery poll;
  m.poll(kQueue, std::chrono::steady_clock::now() + 20ms, poll.deliver());
  CHECK_FALSE(poll.result.get());
  m.add_task(kQueue, task(8));
  CHECK(m.backlog_size(kQueue) == 1);  // not handed to the poller that gave up
  m.shutdown();
  ex.drain();
}

// One wake-up serves every parked poll's deadline (matching.h): a poll that parks later with an
// earlier deadline must re-arm it, and polls that leave early (the earliest one, or another) must
// not end anybody else's wait, early or never. Only lower bounds on time are checked.
TEST_CASE("each parked poll ends at its own deadline, whatever the order they parked and left in", "[matching]") {
  using std::chrono::steady_clock;
  Executors ex;
  Matching m(ex.io, ex.pool);
  Delivery patient, earliest_leaves, first, middle_leaves, last;
  m.poll(kQueue, far_deadline(), patient.deliver());
  ex.drain();  // the wake-up is now armed for `patient`, an hour away
  const auto t0 = steady_clock::now();
  auto leaves_first = m.poll(kQueue, t0 + 10ms, earliest_leaves.deliver());
  m.poll(kQueue, t0 + 30ms, first.deliver());
  auto leaves_second = m.poll(kQueue, t0 + 60ms, middle_leaves.deliver());
  m.poll(kQueue, t0 + 90ms, last.deliver());
  m.cancel(leaves_first);   // the earliest deadline leaves
  m.cancel(leaves_second);  // one in the middle leaves
  auto ends = [](Delivery& d) { return d.result.wait_for(10s) == std::future_status::ready; };
  REQUIRE(ends(earliest_leaves));
  CHECK_FALSE(earliest_leaves.result.get());
  REQUIRE(ends(middle_leaves));
  CHECK_FALSE(middle_leaves.result.get());
  REQUIRE(ends(first));
  CHECK(steady_clock::now() - t0 >= 30ms);
  CHECK_FALSE(first.result.get());
  REQUIRE(ends(last));
  CHECK(steady_clock::now() - t0 >= 90ms);
  CHECK_FALSE(last.result.get());
  CHECK(m.parked_pollers(kQueue) == 1);  // `patient` waits on
  m.add_task(kQueue, task(5));
  auto got = patient.result.get();
  REQUIRE(got);
  CHECK(got->scheduled_event_id == 5);
  m.shutdown();
  ex.drain();
}

TEST_CASE("a canceled poll gets nothing and takes no task", "[matching]") {
  Executors ex;
  Matching m(ex.io, ex.pool);
  Delivery poll;
  auto id = m.poll(kQueue, far_deadline(), poll.deliver());
  m.cancel(id);
  CHECK_FALSE(poll.result.get());
  m.add_task(kQueue, task(9));
  CHECK(m.backlog_size(kQueue) == 1);
  m.shutdown();
  ex.drain();
}

TEST_CASE("shutdown answers every parked poll with nothing, and later polls too", "[matching]") {
  Executors ex;
  Matching m(ex.io, ex.pool);
  Delivery a, b, later;
  m.poll(kQueue, far_deadline(), a.deliver());
  m.poll(QueueKey{"default", "other", TaskKind::WorkflowTask}, far_deadline(), b.deliver());
  m.shutdown();
  CHECK_FALSE(a.result.get());
  CHECK_FALSE(b.result.get());
  m.poll(kQueue, far_deadline(), later.deliver());
  CHECK_FALSE(later.result.get());
  ex.drain();
}

TEST_CASE("claim takes the longest-waiting poller off its queue with its identity", "[matching][claim]") {
  Executors ex;
  Matching m(ex.io, ex.pool);
  CHECK(m.claim(kQueue) == nullptr);  // nobody waits
  Delivery first, second;
  Answered first_answer, second_answer;
  m.poll(kQueue, far_deadline(), first.deliver(), "worker-1", first_answer.answer());
  m.poll(kQueue, far_deadline(), second.deliver(), "worker-2", second_answer.answer());
  auto claim = m.claim(kQueue);
  REQUIRE(claim);
  CHECK(claim->identity() == "worker-1");
  CHECK(m.parked_pollers(kQueue) == 1);
  claim->answer(std::string("task 11, started for worker-1"));
  CHECK(first_answer.result.get() == "task 11, started for worker-1");
  m.add_task(kQueue, task(12));  // the other poller is still there for ordinary tasks
  auto other = second.result.get();
  REQUIRE(other);
  CHECK(other->scheduled_event_id == 12);
  m.shutdown();
  ex.drain();
}

TEST_CASE("a poll that cannot be answered in place is never claimed", "[matching][claim]") {
  Executors ex;
  Matching m(ex.io, ex.pool);
  Delivery poll;
  m.poll(kQueue, far_deadline(), poll.deliver());  // no Answer
  CHECK(m.claim(kQueue) == nullptr);
  m.add_task(kQueue, task(14));
  auto got = poll.result.get();
  REQUIRE(got);
  CHECK(got->scheduled_event_id == 14);
  m.shutdown();
  ex.drain();
}

TEST_CASE("a claim dropped without a task answers its poll with nothing", "[matching][claim]") {
  Executors ex;
  Matching m(ex.io, ex.pool);
  Delivery poll;
  Answered answered;
  m.poll(kQueue, far_deadline(), poll.deliver(), "worker-1", answered.answer());
  { auto claim = m.claim(kQueue); }  // the transaction that claimed it failed
  CHECK_FALSE(poll.result.get());
  m.add_task(kQueue, task(13));
  CHECK(m.backlog_size(kQueue) == 1);  // not taken by the poller that was let go
  m.shutdown();
  ex.drain();
}
