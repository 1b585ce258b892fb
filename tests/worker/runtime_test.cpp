// The worker runtime (worker/runtime/) against a real in-process server: a workflow of several
// activities runs to completion with the sticky cache on and with it off, and both write the same
// history; with the cache the worker applies only new events, without it every task replays. A
// workflow that continues as new runs as a chain of runs whose last result is the client's result.
// Activities: at most max_concurrent_activities run at once; heartbeat details reach the next
// attempt; the workflow's cancellation reaches the activity through its heartbeat; and shutdown
// reports an activity still running after the grace period as failed (WorkerShutdown); a
// non-blocking activity runs off the pool and cannot heartbeat. Pollers are RPCs in flight, not
// threads: 150 of them add no thread each.
#include <atomic>
#include <filesystem>
#include <future>

#include "reprise/replayer.h"
#include "reprise/worker.h"
#include "reprise/workflow.h"
#include "test_server.h"

using namespace std::chrono_literals;
using namespace reprise::testing;

namespace {

int add_one(reprise::ActivityContext&, int x) { return x + 1; }

reprise::Workflow<int> count_up(reprise::WorkflowContext& ctx, int steps) {
  int value = 0;
  for (int i = 0; i < steps; ++i)
    value = co_await ctx.execute_activity<int>("add_one", {.start_to_close_timeout = 10s}, value);
  co_return value;
}

// Counts to `target` one run at a time: each run does one activity, then continues as new.
reprise::Workflow<int> count_in_runs(reprise::WorkflowContext& ctx, int value, int target) {
  value = co_await ctx.execute_activity<int>("add_one", {.start_to_close_timeout = 10s}, value);
  if (value < target) throw ctx.continue_as_new(value, target);
  co_return value;
}

struct Outcome {
  int result;
  std::vector<std::string> events;  // "<id> <type>"
  reprise::WorkerStats stats;
};

// Five activities at once, on the workflow's own queue: one workflow task schedules them all.
reprise::Workflow<int> fan_out_five(reprise::WorkflowContext& ctx) {
  reprise::ActivityOptions o{.start_to_close_timeout = 10s};
  auto [a, b, c, d, e] =
      co_await reprise::all(ctx.start_activity<int>("add_one", o, 0), ctx.start_activity<int>("add_one", o, 1),
                            ctx.start_activity<int>("add_one", o, 2), ctx.start_activity<int>("add_one", o, 3),
                            ctx.start_activity<int>("add_one", o, 4));
  co_return a + b + c + d + e;
}

Outcome run_count_up(std::size_t cache_size, bool eager = true,
                     reprise::ActivityKind kind = reprise::ActivityKind::Blocking) {
  TestServer s;
  reprise::Client client({.address = s.server->address()});
  reprise::Worker worker(
      client, {.task_queue = "count", .max_cached_workflows = cache_size, .eager_activity_execution = eager});
  worker.register_workflow("count_up", count_up);
  worker.register_activity("add_one", add_one, kind);
  worker.start();
  auto handle =
      client.start_workflow("count_up", {.id = "wf-count", .task_queue = "count"}, reprise::json_payloads({5}));
  int result = handle.result_json(30s).get<int>();
  worker.shutdown();
  return {result, history_lines(s, "wf-count"), worker.stats()};
}

}  // namespace

TEST_CASE("a sticky-cached run and a run replayed on every task write identical histories", "[runtime]") {
  auto cached = run_count_up(100);
  auto evicted = run_count_up(0);
  CHECK(cached.result == 5);
  CHECK(evicted.result == 5);
  CHECK(cached.events == evicted.events);
  CHECK(cached.events.back() == "35 WorkflowExecutionCompleted");

  // 6 workflow tasks each. Cached: one replay (the first task), then only new events.
  CHECK(cached.stats.workflow_tasks == 6);
  CHECK(cached.stats.full_replays == 1);
  CHECK(cached.stats.cache_hits == 5);
  // Without the cache every task replays the workflow from event 1.
  CHECK(evicted.stats.workflow_tasks == 6);
  CHECK(evicted.stats.full_replays == 6);
  CHECK(evicted.stats.events_replayed > cached.stats.events_replayed);
  CHECK(cached.stats.activity_tasks == 5);
  CHECK(evicted.stats.activity_tasks == 5);
}

TEST_CASE("activities on the worker's own queue come back with the workflow task's answer (eager execution)",
          "[runtime][eager]") {
  auto eager = run_count_up(100, true);
  auto polled = run_count_up(100, false);
  CHECK(eager.result == 5);
  CHECK(polled.result == 5);
  CHECK(eager.events == polled.events);  // history cannot tell the two apart
  CHECK(eager.stats.activity_tasks == 5);
  CHECK(eager.stats.eager_activity_tasks == 5);  // none went through the activity queue
  CHECK(polled.stats.activity_tasks == 5);
  CHECK(polled.stats.eager_activity_tasks == 0);
}

TEST_CASE("a non-blocking activity handed back eagerly runs at once, and history cannot tell it apart",
          "[runtime][eager][non-blocking]") {
  auto pooled = run_count_up(100, true);
  auto in_place = run_count_up(100, true, reprise::ActivityKind::NonBlocking);
  CHECK(in_place.result == 5);
  CHECK(in_place.events == pooled.events);
  CHECK(in_place.stats.activity_tasks == 5);
  CHECK(in_place.stats.eager_activity_tasks == 5);
  CHECK(in_place.stats.activity_failures == 0);
}

TEST_CASE("a workflow task asks for at most three eager activities and only for free slots", "[runtime][eager]") {
  const int slots = GENERATE(16, 2);
  INFO("max_concurrent_activities " << slots);
  TestServer s;
  reprise::Client client({.address = s.server->address()});
  // One activity poller parks with one slot, so at most slots - 1 are free for eager requests.
  reprise::Worker worker(client, {.task_queue = "fan", .activity_pollers = 1, .max_concurrent_activities = slots});
  worker.register_workflow("fan_out_five", fan_out_five);
  worker.register_activity("add_one", add_one);
  worker.start();
  // Let the activity poller take its slot and park, so the count of free slots is known.
  const reprise::engine::QueueKey activity_queue{"default", "fan", reprise::history::TaskKind::ActivityTask};
  REQUIRE(eventually([&] { return s.server->engine().matching().parked_pollers(activity_queue) == 1; }));
  auto handle = client.start_workflow("fan_out_five", {.id = "wf-fan", .task_queue = "fan"});
  CHECK(handle.result_json(30s).get<int>() == 15);
  worker.shutdown();
  CHECK(worker.stats().activity_tasks == 5);
  CHECK(worker.stats().eager_activity_tasks == static_cast<std::uint64_t>(std::min(3, slots - 1)));
}

TEST_CASE("an activity's exception fails the attempt with its class name as the failure type", "[runtime]") {
  TestServer s;
  reprise::Client client({.address = s.server->address()});
  reprise::Worker worker(client, {.task_queue = "boom", .max_cached_workflows = 10});
  worker.register_activity(
      "explode", +[](reprise::ActivityContext&) -> int { throw std::out_of_range("index 7"); });
  worker.register_activity(
      "refuse", +[](reprise::ActivityContext&) -> int {
        throw reprise::ApplicationError("no such account", "AccountMissing", /*non_retryable=*/true);
      });
  worker.start();

  RawWorker w(s, "boom-workflows");
  w.start("wf-boom");
  auto wt = w.next_workflow_task();
  REQUIRE(w.complete_workflow_task(
               wt.task_token(),
               {schedule_activity("1", "explode", 10s,
                                  [](auto& a) {
                                    a.mutable_task_queue()->set_name("boom");
                                    a.mutable_retry_policy()->set_maximum_attempts(1);
                                  }),
                schedule_activity("2", "refuse", 10s, [](auto& a) { a.mutable_task_queue()->set_name("boom"); })})
              .ok());
  REQUIRE(eventually([&] {
    auto lines = history_lines(s, "wf-boom");
    return std::count_if(lines.begin(), lines.end(), [](auto& l) { return l.ends_with("ActivityTaskFailed"); }) == 2;
  }));
  worker.shutdown();
  for (const auto& e : history_of(s, "wf-boom")) {
    if (e.event_type() != enums::EVENT_TYPE_ACTIVITY_TASK_FAILED) continue;
    const auto& f = e.activity_task_failed_event_attributes().failure();
    if (f.application_failure_info().type() == "std::out_of_range") {
      CHECK(f.message() == "index 7");
      CHECK(e.activity_task_failed_event_attributes().retry_state() == enums::RETRY_STATE_MAXIMUM_ATTEMPTS_REACHED);
    } else {
      CHECK(f.application_failure_info().type() == "AccountMissing");
      CHECK(f.application_failure_info().non_retryable());
      CHECK(e.activity_task_failed_event_attributes().retry_state() == enums::RETRY_STATE_NON_RETRYABLE_FAILURE);
    }
  }
}

TEST_CASE("a workflow that continues as new runs as a chain of runs and the client gets the last result", "[runtime]") {
  TestServer s;
  reprise::Client client({.address = s.server->address()});
  reprise::Worker worker(client, {.task_queue = "chain", .max_cached_workflows = 10});
  worker.register_workflow("count_in_runs", count_in_runs);
  worker.register_activity("add_one", add_one);
  worker.start();
  auto handle =
      client.start_workflow("count_in_runs", {.id = "wf-runs", .task_queue = "chain"}, reprise::json_payloads({0, 3}));
  CHECK(handle.result_json(30s).get<int>() == 3);
  worker.shutdown();

  // Three runs: the first two end in WorkflowExecutionContinuedAsNew, each pointing at the next.
  std::string run_id = handle.run_id;
  for (int run = 1; run <= 3; ++run) {
    auto events = history_of(s, "wf-runs", run_id);
    INFO("run " << run);
    CHECK(events.front().workflow_execution_started_event_attributes().input().payloads(0).data() ==
          std::to_string(run - 1));
    if (run < 3) {
      REQUIRE(events.back().event_type() == enums::EVENT_TYPE_WORKFLOW_EXECUTION_CONTINUED_AS_NEW);
      run_id = events.back().workflow_execution_continued_as_new_event_attributes().new_execution_run_id();
    } else {
      CHECK(events.back().event_type() == enums::EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED);
    }
  }
  CHECK(worker.stats().activity_tasks == 3);
}

// The threads of this process, from /proc/self/task.
std::size_t thread_count() {
  return static_cast<std::size_t>(
      std::distance(std::filesystem::directory_iterator("/proc/self/task"), std::filesystem::directory_iterator()));
}

TEST_CASE("a worker's pollers hold no thread each: 150 long polls open, and the workflow still completes",
          "[runtime]") {
  TestServer s;
  reprise::Client client({.address = s.server->address()});
  reprise::Worker worker(client, {.task_queue = "many-polls",
                                  .workflow_pollers = 60,
                                  .sticky_workflow_pollers = 60,
                                  .activity_pollers = 30,
                                  .max_concurrent_activities = 40});
  worker.register_workflow("count_up", count_up);
  worker.register_activity("add_one", add_one);
  const std::size_t before = thread_count();  // the activity pool's 40 threads are here already
  worker.start();
  auto handle = client.start_workflow("count_up", {.id = "wf-many-polls", .task_queue = "many-polls"},
                                      reprise::json_payloads({3}));
  CHECK(handle.result_json(30s).get<int>() == 3);
  // A thread per poller would be 150 more; gRPC's own few threads are all the worker adds.
  CHECK(thread_count() < before + 20);
  worker.shutdown();
  CHECK(worker.stats().workflow_tasks == 4);
}

TEST_CASE("no more than max_concurrent_activities activities run at once", "[runtime]") {
  TestServer s;
  reprise::Client client({.address = s.server->address()});
  reprise::Worker worker(client, {.task_queue = "limited", .max_concurrent_activities = 2});
  static std::atomic<int> running{0}, most{0};
  running = 0;
  most = 0;
  worker.register_activity(
      "busy", +[](reprise::ActivityContext&) -> int {
        int now = ++running;
        for (int seen = most; now > seen && !most.compare_exchange_weak(seen, now);) {
        }
        std::this_thread::sleep_for(50ms);  // long enough for the others to start, were they allowed to
        --running;
        return 1;
      });
  worker.start();
  RawWorker w(s, "limited-workflows");
  w.start("wf-limited");
  auto wt = w.next_workflow_task();
  std::vector<Command> five;
  for (int i = 1; i <= 5; ++i)
    five.push_back(schedule_activity(std::to_string(i), "busy", 10s,
                                     [](auto& a) { a.mutable_task_queue()->set_name("limited"); }));
  REQUIRE(w.complete_workflow_task(wt.task_token(), five).ok());
  REQUIRE(eventually([&] {
    auto lines = history_lines(s, "wf-limited");
    return std::count_if(lines.begin(), lines.end(), [](auto& l) { return l.ends_with("ActivityTaskCompleted"); }) == 5;
  }));
  worker.shutdown();
  CHECK(most.load() <= 2);
  CHECK(most.load() >= 1);
  CHECK(worker.stats().activity_tasks == 5);
}

TEST_CASE("a non-blocking activity runs on the thread that received its task, not the pool's, and cannot heartbeat",
          "[runtime][non-blocking]") {
  TestServer s;
  reprise::Client client({.address = s.server->address()});
  // One slot: the activity pool has exactly one thread, and every blocking attempt runs on it.
  reprise::Worker worker(client, {.task_queue = "inline", .max_concurrent_activities = 1});
  static std::atomic<std::thread::id> pool_thread, inline_thread;
  pool_thread = inline_thread = std::thread::id();
  worker.register_activity(
      "on_pool", +[](reprise::ActivityContext&) -> int {
        pool_thread = std::this_thread::get_id();
        return 1;
      });
  worker.register_activity(
      "in_place",
      +[](reprise::ActivityContext&) -> int {
        inline_thread = std::this_thread::get_id();
        return 2;
      },
      reprise::ActivityKind::NonBlocking);
  worker.register_activity(
      "beats",
      +[](reprise::ActivityContext& ctx) -> int {
        ctx.heartbeat(1);
        return 3;
      },
      reprise::ActivityKind::NonBlocking);
  worker.start();

  RawWorker w(s, "inline-workflows");
  w.start("wf-inline");
  auto on_inline_queue = [](auto& a) {
    a.mutable_task_queue()->set_name("inline");
    a.mutable_retry_policy()->set_maximum_attempts(1);
  };
  auto closed_activities = [&] {
    auto lines = history_lines(s, "wf-inline");
    return std::count_if(lines.begin(), lines.end(), [](auto& l) {
      return l.ends_with("ActivityTaskCompleted") || l.ends_with("ActivityTaskFailed");
    });
  };
  // The non-blocking ones first, while the pool's one thread has never run anything: it sleeps
  // in the pool and cannot be the thread that runs them. (Once it has run an attempt, gRPC may
  // also run its callbacks on it while it reports, which would make this check meaningless.)
  REQUIRE(w.complete_workflow_task(w.next_workflow_task().task_token(),
                                   {schedule_activity("1", "in_place", 10s, on_inline_queue),
                                    schedule_activity("2", "beats", 10s, on_inline_queue)})
              .ok());
  REQUIRE(eventually([&] { return closed_activities() == 2; }));
  REQUIRE(w.complete_workflow_task(w.next_workflow_task().task_token(),
                                   {schedule_activity("3", "on_pool", 10s, on_inline_queue)})
              .ok());
  REQUIRE(eventually([&] { return closed_activities() == 3; }));
  worker.shutdown();

  CHECK(pool_thread.load() != std::thread::id());
  CHECK(inline_thread.load() != std::thread::id());
  CHECK(inline_thread.load() != pool_thread.load());
  int completed = 0, failed = 0;
  for (const auto& e : history_of(s, "wf-inline")) {
    if (e.event_type() == enums::EVENT_TYPE_ACTIVITY_TASK_COMPLETED) ++completed;
    if (e.event_type() != enums::EVENT_TYPE_ACTIVITY_TASK_FAILED) continue;
    ++failed;
    const auto& f = e.activity_task_failed_event_attributes().failure();
    CHECK(f.application_failure_info().type() == "std::logic_error");
    CHECK_THAT(f.message(), Catch::Contains("beats is registered as ActivityKind::NonBlocking and cannot heartbeat"));
  }
  CHECK(completed == 2);
  CHECK(failed == 1);
}

TEST_CASE("an activity still running after the shutdown grace period is reported failed by the worker", "[runtime]") {
  TestServer s;
  reprise::Client client({.address = s.server->address()});
  auto worker = std::make_unique<reprise::Worker>(
      client, reprise::WorkerOptions{.task_queue = "stubborn", .graceful_shutdown_timeout = 100ms});
  static std::atomic<bool> started{false}, release{false}, saw_cancel{false};
  started = release = saw_cancel = false;
  // Ignores cancellation until the test lets it go, as a stuck call would.
  worker->register_activity(
      "stubborn", +[](reprise::ActivityContext& ctx) -> std::string {
        started = true;
        while (!release) std::this_thread::sleep_for(5ms);
        saw_cancel = ctx.is_cancelled();
        return "finished anyway";
      });
  worker->start();
  RawWorker w(s, "stubborn-workflows");
  w.start("wf-stubborn");
  auto wt = w.next_workflow_task();
  REQUIRE(w.complete_workflow_task(wt.task_token(), {schedule_activity("1", "stubborn", 10s,
                                                                       [](auto& a) {
                                                                         a.mutable_task_queue()->set_name("stubborn");
                                                                         a.mutable_retry_policy()->set_maximum_attempts(
                                                                             1);
                                                                       })})
              .ok());
  REQUIRE(eventually([] { return started.load(); }));
  auto stopped = std::async(std::launch::async, [&] { worker->shutdown(); });

  // The failure is on the server while the activity function is still running.
  REQUIRE(eventually([&] { return history_lines(s, "wf-stubborn").back().ends_with("WorkflowTaskScheduled"); }));
  auto events = history_of(s, "wf-stubborn");
  const HistoryEvent* failed = nullptr;
  for (const auto& e : events)
    if (e.event_type() == enums::EVENT_TYPE_ACTIVITY_TASK_FAILED) failed = &e;
  REQUIRE(failed != nullptr);
  CHECK(failed->activity_task_failed_event_attributes().failure().application_failure_info().type() ==
        "WorkerShutdown");
  CHECK(stopped.wait_for(0s) == std::future_status::timeout);  // shutdown waits for the function to return

  release = true;
  stopped.get();
  CHECK(saw_cancel.load());  // it was told to stop
  // What it returned after being reported failed was not sent: no completion in history.
  for (const auto& e : history_of(s, "wf-stubborn")) CHECK(e.event_type() != enums::EVENT_TYPE_ACTIVITY_TASK_COMPLETED);
}

// Waits for the signal "go", then completes: two of them park in the cache side by side.
reprise::Workflow<int> wait_for_go(reprise::WorkflowContext& ctx) {
  bool go = false;
  ctx.on_signal("go", [&] { go = true; });
  co_await ctx.wait_condition([&] { return go; });
  co_return 1;
}

reprise::WorkerStats run_two_parked(std::size_t cache_size) {
  TestServer s;
  reprise::Client client({.address = s.server->address()});
  reprise::Worker worker(client, {.task_queue = "parked", .max_cached_workflows = cache_size});
  worker.register_workflow("wait_for_go", wait_for_go);
  worker.start();
  auto first_task_done = [&](const std::string& id) {
    return eventually([&] { return history_lines(s, id).back().ends_with("WorkflowTaskCompleted"); });
  };
  auto a = client.start_workflow("wait_for_go", {.id = "wf-a", .task_queue = "parked"});
  REQUIRE(first_task_done("wf-a"));
  auto b = client.start_workflow("wait_for_go", {.id = "wf-b", .task_queue = "parked"});
  REQUIRE(first_task_done("wf-b"));
  a.signal("go");
  CHECK(a.result_json(30s).get<int>() == 1);
  b.signal("go");
  CHECK(b.result_json(30s).get<int>() == 1);
  worker.shutdown();
  return worker.stats();
}

TEST_CASE("a cache of one run evicts the older of two parked workflows, which is then replayed in full", "[runtime]") {
  // Both tasks of each workflow: a1 b1 a2 b2. With room for one run, b1 evicts a, so a2 replays from
  // event 1 (fetching the history its sticky task did not carry); a then closes and b is still there.
  auto small = run_two_parked(1);
  CHECK(small.workflow_tasks == 4);
  CHECK(small.full_replays == 3);
  CHECK(small.cache_hits == 1);
  // With room for both, only the first task of each replays.
  auto roomy = run_two_parked(10);
  CHECK(roomy.full_replays == 2);
  CHECK(roomy.cache_hits == 2);
}

// Starts a heartbeating activity, and cancels it when the signal "stop" arrives.
reprise::Workflow<std::string> cancel_on_signal(reprise::WorkflowContext& ctx) {
  bool stop = false;
  ctx.on_signal("stop", [&] { stop = true; });
  auto work = ctx.start_activity<int>(
      "patient", {.start_to_close_timeout = 1h,
                  .cancellation_type = reprise::ActivityCancellationType::wait_cancellation_completed});
  co_await ctx.wait_condition([&] { return stop; });
  work.cancel();
  try {
    co_await work;
    co_return "finished";
  } catch (const reprise::ActivityError&) {
    co_return "cancelled";
  }
}

TEST_CASE("a workflow's cancellation reaches a running activity through its heartbeat", "[runtime]") {
  TestServer s;
  reprise::Client client({.address = s.server->address()});
  reprise::Worker worker(client, {.task_queue = "cancel"});
  static std::atomic<bool> started{false}, saw_cancel{false};
  started = saw_cancel = false;
  worker.register_workflow("cancel_on_signal", cancel_on_signal);
  worker.register_activity(
      "patient", +[](reprise::ActivityContext& ctx) -> int {
        started = true;
        for (int beat = 0; beat < 3000; ++beat) {  // gives up after about 30 s
          ctx.heartbeat(beat);
          if (ctx.is_cancelled()) {
            saw_cancel = true;
            throw reprise::ActivityCancelledError();
          }
          std::this_thread::sleep_for(10ms);
        }
        return -1;
      });
  worker.start();
  auto handle = client.start_workflow("cancel_on_signal", {.id = "wf-cancel", .task_queue = "cancel"});
  REQUIRE(eventually([] { return started.load(); }));
  handle.signal("stop");
  CHECK(handle.result_json(30s).get<std::string>() == "cancelled");
  worker.shutdown();
  CHECK(saw_cancel.load());
  auto lines = history_lines(s, "wf-cancel");
  auto has = [&](const std::string& type) {
    return std::any_of(lines.begin(), lines.end(), [&](auto& l) { return l.ends_with(" " + type); });
  };
  CHECK(has("ActivityTaskCancelRequested"));
  CHECK(has("ActivityTaskCanceled"));  // answered by the activity: RespondActivityTaskCanceled
  CHECK_FALSE(has("ActivityTaskCompleted"));
}

TEST_CASE("heartbeat details of a failed attempt reach the next attempt", "[runtime]") {
  TestServer s;
  reprise::Client client({.address = s.server->address()});
  reprise::Worker worker(client, {.task_queue = "resume"});
  worker.register_activity(
      "resumable", +[](reprise::ActivityContext& ctx) -> int {
        if (auto done = ctx.last_heartbeat_details<int>()) return *done;  // attempt 2: carry on from there
        ctx.heartbeat(41);
        throw std::runtime_error("lost the connection after step 41");
      });
  worker.start();
  RawWorker w(s, "resume-workflows");
  w.start("wf-resume");
  auto wt = w.next_workflow_task();
  REQUIRE(w.complete_workflow_task(wt.task_token(),
                                   {schedule_activity("1", "resumable", 10s,
                                                      [](auto& a) {
                                                        a.mutable_task_queue()->set_name("resume");
                                                        a.mutable_retry_policy()->mutable_initial_interval()->set_nanos(
                                                            1'000'000);
                                                      })})
              .ok());
  // The retry waits on a 1 ms backoff timer of the server's (manual) clock.
  REQUIRE(eventually([&] {
    s.clock.advance(10ms);
    auto lines = history_lines(s, "wf-resume");
    return lines.back().ends_with("WorkflowTaskScheduled") && lines.size() > 4;
  }));
  worker.shutdown();
  auto events = history_of(s, "wf-resume");
  const HistoryEvent* completed = nullptr;
  const HistoryEvent* started = nullptr;
  for (const auto& e : events) {
    if (e.event_type() == enums::EVENT_TYPE_ACTIVITY_TASK_COMPLETED) completed = &e;
    if (e.event_type() == enums::EVENT_TYPE_ACTIVITY_TASK_STARTED) started = &e;
  }
  REQUIRE(completed != nullptr);
  CHECK(completed->activity_task_completed_event_attributes().result().payloads(0).data() == "41");
  REQUIRE(started != nullptr);
  CHECK(started->activity_task_started_event_attributes().attempt() == 2);
}

TEST_CASE("the replayer replays a run fetched from the server and catches code that changed since", "[runtime]") {
  TestServer s;
  reprise::Client client({.address = s.server->address()});
  {
    reprise::Worker worker(client, {.task_queue = "count"});
    worker.register_workflow("count_up", count_up);
    worker.register_activity("add_one", add_one);
    worker.start();
    auto handle =
        client.start_workflow("count_up", {.id = "wf-recorded", .task_queue = "count"}, reprise::json_payloads({2}));
    REQUIRE(handle.result_json(30s).get<int>() == 2);
  }
  reprise::WorkflowRegistry same;
  same.register_workflow("count_up", count_up);
  auto replayed = reprise::Replayer(same).replay_workflow(client, "wf-recorded");
  CHECK(replayed.ok());
  CHECK(replayed.message.empty());

  reprise::WorkflowRegistry changed;  // the new code sleeps where the old one ran an activity
  changed.register_workflow(
      "count_up", +[](reprise::WorkflowContext& ctx, int steps) -> reprise::Workflow<int> {
        co_await ctx.sleep(1s);
        co_return steps;
      });
  auto broken = reprise::Replayer(changed).replay_workflow(client, "wf-recorded");
  CHECK(broken.outcome == reprise::ReplayResult::Outcome::nondeterminism);
  CHECK_THAT(broken.message, Catch::Contains("ActivityTaskScheduled") && Catch::Contains("StartTimer"));
  CHECK_THROWS_AS(reprise::Replayer(same).replay_workflow(client, "no-such-workflow"), reprise::WorkflowNotFoundError);
}

TEST_CASE("a worker that shuts down hands its cached runs back: a new worker gets their next task at once",
          "[runtime]") {
  TestServer s;  // its clock is manual: a sticky schedule-to-start timeout would never fire here
  reprise::Client client({.address = s.server->address()});
  auto handle = client.start_workflow("wait_for_go", {.id = "wf-handover", .task_queue = "handover"});
  {
    reprise::Worker first(client, {.task_queue = "handover", .identity = "first", .max_cached_workflows = 10});
    first.register_workflow("wait_for_go", wait_for_go);
    first.start();
    REQUIRE(eventually([&] { return history_lines(s, "wf-handover").back().ends_with("WorkflowTaskCompleted"); }));
  }  // shutdown(): ShutdownWorker names the first worker's sticky queue
  reprise::Worker second(client, {.task_queue = "handover", .identity = "second", .max_cached_workflows = 10});
  second.register_workflow("wait_for_go", wait_for_go);
  second.start();
  handle.signal("go");
  CHECK(handle.result_json(30s).get<int>() == 1);
  second.shutdown();
  CHECK(second.stats().full_replays == 1);  // it had never seen the run: replayed from event 1
  for (const auto& e : history_of(s, "wf-handover"))
    if (e.event_type() == enums::EVENT_TYPE_WORKFLOW_TASK_STARTED && e.event_id() > 3)
      CHECK(e.workflow_task_started_event_attributes().identity() == "second");
}

// Waits for cancellation, cleans up with an activity, then ends the run as Canceled.
reprise::Workflow<int> cancellable(reprise::WorkflowContext& ctx) {
  co_await ctx.wait_condition([&] { return ctx.cancel_requested(); });
  co_await ctx.execute_activity<int>("add_one", {.start_to_close_timeout = 10s}, 41);
  throw reprise::CanceledError("cancelled after cleaning up");
}

TEST_CASE("a client's cancel reaches a C++ workflow, which cleans up and ends as canceled", "[runtime]") {
  TestServer s;
  reprise::Client client({.address = s.server->address()});
  reprise::Worker worker(client, {.task_queue = "cancellable"});
  worker.register_workflow("cancellable", cancellable);
  worker.register_activity("add_one", add_one);
  worker.start();
  auto handle = client.start_workflow("cancellable", {.id = "wf-cancellable", .task_queue = "cancellable"});
  REQUIRE(eventually([&] { return history_lines(s, "wf-cancellable").back().ends_with("WorkflowTaskCompleted"); }));
  handle.cancel();
  try {
    handle.result(30s);
    FAIL("result() of a canceled workflow must throw");
  } catch (const reprise::WorkflowFailedError& e) {
    CHECK(e.status == enums::WORKFLOW_EXECUTION_STATUS_CANCELED);
  }
  worker.shutdown();
  auto lines = history_lines(s, "wf-cancellable");
  CHECK(lines.back().ends_with(" WorkflowExecutionCanceled"));
  CHECK(std::count_if(lines.begin(), lines.end(),
                      [](auto& l) { return l.ends_with(" WorkflowExecutionCancelRequested"); }) == 1);
  CHECK(std::count_if(lines.begin(), lines.end(), [](auto& l) { return l.ends_with(" ActivityTaskCompleted"); }) == 1);
}
