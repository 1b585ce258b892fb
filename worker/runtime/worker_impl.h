// The inside of reprise::Worker (reprise/worker.h), shared by the runtime's .cpp files:
//   worker.cpp                   threads, polling loops, backoff, shutdown
//   workflow_task_handler.cpp    answering one workflow task with a (cached or fresh) WorkflowRun
//   activity_task_handler.cpp    running one activity attempt and reporting its outcome
#pragma once

#include <grpcpp/client_context.h>

#include <atomic>
#include <boost/asio/thread_pool.hpp>
#include <condition_variable>
#include <map>
#include <mutex>
#include <set>
#include <thread>
#include <vector>

#include "reprise/worker.h"
#include "sticky_cache.h"
#include "temporal/api/workflowservice/v1/service.grpc.pb.h"

namespace reprise {

namespace ws = temporal::api::workflowservice::v1;

struct Worker::Impl {
  Impl(Client& client, WorkerOptions options);

  Client& client;
  WorkerOptions options;
  std::string namespace_name;
  std::string sticky_queue;
  std::unique_ptr<ws::WorkflowService::Stub> stub;
  WorkflowRegistry workflows;
  ActivityRegistry activities;
  detail::StickyCache cache;

  std::atomic<bool> running{false};
  std::atomic<bool> stopping{false};
  std::vector<std::thread> threads;

  // In-flight polls, so shutdown() can cancel them instead of waiting out a long poll.
  std::mutex polls_mu;
  std::set<grpc::ClientContext*> polls;

  // Activity concurrency: a slot is taken before polling, so the worker never accepts a task it
  // cannot start at once; the pool has one thread per slot.
  std::unique_ptr<boost::asio::thread_pool> activity_pool;
  std::mutex slots_mu;
  std::condition_variable slots_cv;
  int free_slots = 0;
  int running_activities = 0;
  // The attempts running now. Past the grace period shutdown() reports each as failed itself
  // (reported_by_shutdown), so the attempt's own thread must not report it again.
  struct RunningAttempt {
    std::string task_token;
    bool reported_by_shutdown = false;
  };
  std::map<ActivityContext*, RunningAttempt> running_attempts;

  // Stats (see WorkerStats).
  std::atomic<std::uint64_t> workflow_tasks{0}, workflow_task_failures{0}, cache_hits{0}, full_replays{0},
      events_replayed{0}, activity_tasks{0}, activity_failures{0}, eager_activity_tasks{0};

  // worker.cpp
  void workflow_poll_loop(bool sticky);
  void activity_poll_loop();
  void shutdown();
  template <class Req, class Resp, class Fn>
  grpc::Status poll(Fn fn, const Req& req, Resp& resp);
  template <class Req, class Resp, class Fn>
  grpc::Status call(Fn fn, const Req& req, Resp& resp);

  // workflow_task_handler.cpp
  void handle_workflow_task(ws::PollWorkflowTaskQueueResponse task);

  // Activity slots (worker.cpp). take_slot() never waits; execute_activity() runs an attempt on
  // the pool with a slot already taken, and gives the slot back when the attempt is over.
  bool take_slot();
  void give_back_slot();
  void execute_activity(ws::PollActivityTaskQueueResponse task);

  // workflow_task_handler.cpp
  // Marks up to kMaxEagerActivitiesPerTask ScheduleActivityTask commands for eager execution, one
  // free slot each; returns how many slots it took.
  int request_eager_activities(ws::RespondWorkflowTaskCompletedRequest& req);

  // activity_task_handler.cpp
  void run_activity_task(const ws::PollActivityTaskQueueResponse& task);
  grpc::Status respond_activity_failed(const std::string& task_token, const Failure& failure);
  // RespondActivityTaskFailed for an attempt the worker gives up on because it is shutting down.
  grpc::Status report_worker_shutdown(const std::string& task_token);
};

// Calls a unary RPC with the worker's usual deadline.
template <class Req, class Resp, class Fn>
grpc::Status Worker::Impl::call(Fn fn, const Req& req, Resp& resp) {
  grpc::ClientContext ctx;
  ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(30));
  return ((*stub).*fn)(&ctx, req, &resp);
}

// A long poll that shutdown() can interrupt.
template <class Req, class Resp, class Fn>
grpc::Status Worker::Impl::poll(Fn fn, const Req& req, Resp& resp) {
  grpc::ClientContext ctx;
  ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(70));
  {
    std::lock_guard lock(polls_mu);
    if (stopping) return grpc::Status::CANCELLED;
    polls.insert(&ctx);
  }
  auto status = ((*stub).*fn)(&ctx, req, &resp);
  std::lock_guard lock(polls_mu);
  polls.erase(&ctx);
  return status;
}

}  // namespace reprise
