// reprise::Worker: the process that runs your workflows and activities for one task queue.
//
//   reprise::Client client;                                   // 127.0.0.1:7233, namespace default
//   reprise::Worker worker(client, {.task_queue = "hello"});
//   worker.register_workflow("greet", greet);
//   worker.register_activity("compose_greeting", compose_greeting);
//   worker.run();                                             // until SIGINT/SIGTERM or shutdown()
//
// What it does (worker/runtime/):
//   - workflow pollers long-poll the task queue (and this worker's own sticky queue) through
//     gRPC's callback API, with no thread per poll (worker_impl.h); each workflow
//     task is answered by a WorkflowRun (reprise/workflow_run.h) that replays history and runs the
//     workflow code to its next blocking point (workflow_task_handler.cpp);
//   - the sticky cache keeps recently used runs in memory (LRU), so a cached run applies only new
//     events instead of replaying from event 1; an evicted run is replayed in full (sticky_cache.h);
//   - activity pollers hand activity tasks to a pool of max_concurrent_activities threads
//     (activity_task_handler.cpp);
//   - failed polls are retried with backoff, and so are answers and outcomes the server could not
//     take (report_retry.h); shutdown() stops polling, lets running activities finish within a
//     grace period and reports the rest as failed.
// Exercised by tests/worker/runtime_test.cpp (against an in-process server) and, as separate
// processes killed with SIGKILL, by the labs (tests/examples/labs_test.cpp).
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>

#include "reprise/activity.h"
#include "reprise/client.h"
#include "reprise/registry.h"

namespace reprise {

struct WorkerOptions {
  std::string task_queue;  // required
  std::string identity;    // default: the client's identity
  // Long polls kept open on each queue (gRPC's callback API: a poller is an RPC in flight, not a
  // thread). A poller answers the task it got (replay, then the RespondWorkflowTaskCompleted round
  // trip, which waits for the server's durable commit) before it polls again, so the pollers of a
  // queue bound how many of its tasks are in hand at once. The replay itself runs on gRPC's few
  // callback threads (a task that fetches its history or replays a long one, on a pool of 4), so
  // only a handful of tasks replay at the same moment whatever the poller counts.
  int workflow_pollers = 2;         // the task queue
  int sticky_workflow_pollers = 2;  // this worker's sticky queue (where a cached run's tasks go)
  int activity_pollers = 2;
  int max_concurrent_activities = 16;
  // Runs kept in memory between workflow tasks; 0 turns the sticky cache (and sticky queue) off,
  // so every workflow task replays the workflow from event 1.
  std::size_t max_cached_workflows = 1000;
  std::chrono::milliseconds sticky_schedule_to_start_timeout{10'000};
  std::chrono::milliseconds graceful_shutdown_timeout{10'000};
  // Temporal's eager activity execution: an activity the workflow schedules on this worker's own
  // task queue, while an activity slot is free, is asked for in the workflow task's answer and comes
  // back in the server's response, so it starts without an activity queue or a poll. At most
  // kMaxEagerActivitiesPerTask per workflow task, as Temporal's SDKs do.
  bool eager_activity_execution = true;
  DataConverter converter;
};
inline constexpr int kMaxEagerActivitiesPerTask = 3;

// Counters, for tests, labs and benchmarks. Read them while the worker runs or after.
struct WorkerStats {
  std::uint64_t workflow_tasks = 0;  // workflow tasks answered (completed or failed)
  std::uint64_t workflow_task_failures = 0;
  std::uint64_t cache_hits = 0;       // tasks answered by a cached run (only new events applied)
  std::uint64_t full_replays = 0;     // tasks that replayed a run from event 1
  std::uint64_t events_replayed = 0;  // events fed to runs that were rebuilt from event 1
  std::uint64_t activity_tasks = 0;   // activity attempts executed
  std::uint64_t activity_failures = 0;
  std::uint64_t eager_activity_tasks = 0;  // of activity_tasks: handed back with a workflow task's answer
  std::uint64_t report_retries = 0;        // resends of answers and outcomes after a retryable failure
};

class Worker {
 public:
  Worker(Client& client, WorkerOptions options);
  ~Worker();  // shutdown()
  Worker(const Worker&) = delete;
  Worker& operator=(const Worker&) = delete;

  template <class R, class... Args>
  void register_workflow(const std::string& type, Workflow<R> (*function)(WorkflowContext&, Args...)) {
    workflows().register_workflow(type, function);
  }
  template <class R, class... Args>
  void register_activity(const std::string& type, R (*function)(ActivityContext&, Args...),
                         ActivityKind kind = ActivityKind::Blocking) {
    activities().register_activity(type, function, kind);
  }

  // Starts the pollers and returns. Register everything first.
  void start();
  // start(), then blocks until shutdown() is called or the process gets SIGINT/SIGTERM.
  void run();
  // Stops polling, waits up to graceful_shutdown_timeout for running activities, reports the ones
  // still running as failed, waits for reports still being sent again (report_retry.h; ~10 s at
  // most of retrying when the server is gone), and joins every thread. A running non-blocking activity (ActivityKind)
  // is waited for to its end, however long: it runs on a gRPC thread the worker cannot take back. Idempotent; safe from any thread but a worker's own.
  void shutdown();

  WorkerStats stats() const;
  const WorkerOptions& options() const;
  // The sticky queue this worker asks the server to send its cached runs' tasks to.
  const std::string& sticky_queue() const;

  WorkflowRegistry& workflows();
  ActivityRegistry& activities();

  struct Impl;

 private:
  std::unique_ptr<Impl> impl_;
};

}  // namespace reprise
