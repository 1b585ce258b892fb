// The inside of reprise::Worker (reprise/worker.h), shared by the runtime's .cpp files:
//   worker.cpp                   pollers, backoff, activity slots, shutdown
//   workflow_task_handler.cpp    answering one workflow task with a (cached or fresh) WorkflowRun
//   activity_task_handler.cpp    running one activity attempt and reporting its outcome
//   report_retry.h               when a report the server could not take is sent again (send_report, below)
//
// The pollers use gRPC's callback API: a poller is not a thread but a chain of RPCs, each started
// from the completion of the one before (poll, answer the task, poll again), and completions run
// on gRPC's own few threads. So a hundred long polls parked on the server cost no thread each, and
// a response is handled on the thread that read it, without waking another. Only what may block or
// run long leaves those threads: activity attempts (activity_pool; not those of an activity
// registered as non-blocking) and workflow tasks that fetch their history or replay a long one
// (replay_pool).
#pragma once

#include <grpcpp/alarm.h>
#include <grpcpp/client_context.h>
#include <spdlog/spdlog.h>

#include <atomic>
#include <boost/asio/thread_pool.hpp>
#include <condition_variable>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <thread>
#include <vector>

#include "report_retry.h"
#include "reprise/worker.h"
#include "sticky_cache.h"
#include "temporal/api/workflowservice/v1/service.grpc.pb.h"

namespace reprise {

namespace ws = temporal::api::workflowservice::v1;

// Waits before the next poll after an error: 100 ms, doubling, at most 5 s; 0 after a success.
class Backoff {
 public:
  // Returns how long to wait before trying again.
  std::chrono::milliseconds failed(const grpc::Status& status, const char* what);
  void succeeded();

 private:
  std::chrono::milliseconds delay_{0};
};

// The deadline of every unary RPC the worker makes (long polls have their own, begin_poll()).
inline std::chrono::system_clock::time_point call_deadline() {
  return std::chrono::system_clock::now() + std::chrono::seconds(30);
}

// One RPC through the callback API: its context, request and response live here until its
// completion has run (the completion holds the shared_ptr).
template <class Req, class Resp>
struct Rpc {
  grpc::ClientContext ctx;
  Req req;
  Resp resp;
};

// A report (a workflow task's answer, an activity attempt's outcome) through the callback API, sent
// again while the server cannot take it (report_retry.h). Each attempt needs a context of its own;
// the request, the response and the retry state live here until the last attempt's completion has
// run.
template <class Req, class Resp>
struct Report {
  Req req;
  Resp resp;
  std::unique_ptr<grpc::ClientContext> ctx;
  detail::ReportRetry retry;
  std::unique_ptr<grpc::Alarm> retry_alarm;  // the wait before the next attempt
};

struct Worker::Impl {
  Impl(Client& client, WorkerOptions options);

  // A poller: one long poll at a time on one queue, started again when the task it got is answered.
  struct Poller {
    enum class Queue { Normal, Sticky, Activity } queue;
    Backoff backoff;
    std::unique_ptr<grpc::Alarm> retry;  // the wait after an error; cancelled by shutdown()
  };

  Client& client;
  WorkerOptions options;
  std::string namespace_name;
  std::string sticky_queue;
  // Polls and reports go through `stub`, on the worker's channel without gRPC's retries
  // (Client::worker_channel); the few blocking calls (heartbeats, shutdown's reports) through
  // `blocking_stub`, on the client's channel, whose gRPC retries cover a request that never
  // left.
  std::unique_ptr<ws::WorkflowService::Stub> stub;
  std::unique_ptr<ws::WorkflowService::Stub> blocking_stub;
  WorkflowRegistry workflows;
  ActivityRegistry activities;
  detail::StickyCache cache;

  std::atomic<bool> running{false};
  std::atomic<bool> stopping{false};
  std::vector<std::unique_ptr<Poller>> pollers;

  // In-flight polls and retry waits, so shutdown() can cancel them instead of waiting them out;
  // and the pollers still going, which shutdown() waits for.
  std::mutex polls_mu;
  std::condition_variable pollers_cv;
  std::set<grpc::ClientContext*> polls;
  int pollers_running = 0;

  // Activity concurrency: a slot is taken before polling, so the worker never accepts a task it
  // cannot start at once; the pool has one thread per slot. slots_cv tells shutdown() that
  // running_activities dropped.
  std::unique_ptr<boost::asio::thread_pool> activity_pool;
  // Workflow tasks that need a history fetch or a long replay (workflow_task_handler.cpp), kept off
  // gRPC's callback threads: a synchronous fetch there could wait for a server in this same
  // process that needs those threads to answer it.
  std::unique_ptr<boost::asio::thread_pool> replay_pool;
  std::mutex slots_mu;
  std::condition_variable slots_cv;
  int free_slots = 0;
  int running_activities = 0;
  std::vector<Poller*> waiting_for_slot;  // activity pollers parked until a slot is free
  // The attempts running now. Past the grace period shutdown() reports each as failed itself
  // (reported_by_shutdown), so the attempt's own thread must not report it again.
  struct RunningAttempt {
    std::string task_token;
    bool reported_by_shutdown = false;
  };
  std::map<ActivityContext*, RunningAttempt> running_attempts;

  // Stats (see WorkerStats).
  std::atomic<std::uint64_t> workflow_tasks{0}, workflow_task_failures{0}, cache_hits{0}, full_replays{0},
      events_replayed{0}, activity_tasks{0}, activity_failures{0}, eager_activity_tasks{0}, report_retries{0};

  // worker.cpp: the pollers. Each step ends by starting the next (poll_again) or, once stopping,
  // by poller_stopped(), exactly once per poller.
  void poll_workflow_task(Poller& p);
  void poll_activity_task(Poller& p);
  void poll_again(Poller& p);
  void poll_failed(Poller& p, const grpc::Status& status, const char* what);
  void poller_stopped();
  // Registers a long poll's context for shutdown() to cancel; false once stopping.
  bool begin_poll(grpc::ClientContext& ctx);
  void end_poll(grpc::ClientContext& ctx);
  void shutdown();
  template <class Req, class Resp, class Fn>
  grpc::Status call(Fn fn, const Req& req, Resp& resp);
  // Sends a report with `start` (a call of one of the stub's async methods: start(api, ctx, req,
  // resp, completion)), again after a wait while report_retry.h says so, and calls
  // done(status, retries) once: with the server's answer, or the last failure. A stopping worker
  // goes on retrying (shutdown() waits for the report: up to ~10 s of retries, plus the last
  // attempt's own deadline): its last outcomes are the ones a restart is most likely to cut off.
  template <class Req, class Resp, class Start, class Done>
  void send_report(std::shared_ptr<Report<Req, Resp>> report, Start start, Done done, const char* what);

  // workflow_task_handler.cpp: answers the task (and any next task the server hands back with
  // the answer), then calls `then` once. prepare_answer() replays and returns what sends the
  // answer (nullptr: nothing to send), so the run is settled before anything goes out.
  void handle_workflow_task(ws::PollWorkflowTaskQueueResponse task, std::function<void()> then,
                            bool on_replay_pool = false);
  std::function<void()> prepare_answer(ws::PollWorkflowTaskQueueResponse& task, std::function<void()>& then,
                                       bool on_replay_pool);
  void answered(Report<ws::RespondWorkflowTaskCompletedRequest, ws::RespondWorkflowTaskCompletedResponse>& report,
                const grpc::Status& status, int retries, int eager_slots, bool keep, const std::string& run_id,
                const std::string& workflow_id, std::function<void()> then);

  // Activity slots (worker.cpp). take_slot() never waits; execute_activity() runs an attempt on
  // the pool (a non-blocking activity: on the calling gRPC thread) with a slot already taken, and
  // gives the slot back when the attempt is reported.
  bool take_slot();
  void give_back_slot();
  void execute_activity(ws::PollActivityTaskQueueResponse task);

  // workflow_task_handler.cpp
  // Marks up to kMaxEagerActivitiesPerTask ScheduleActivityTask commands for eager execution, one
  // free slot each; returns how many slots it took.
  int request_eager_activities(ws::RespondWorkflowTaskCompletedRequest& req);

  // activity_task_handler.cpp: runs the attempt on the calling thread (a pool thread, or a gRPC
  // thread for a non-blocking activity), reports how it ended, and calls `reported` once the
  // server has the report.
  // `activity` is the task's registration (null: not registered here, the attempt fails), looked
  // up once by execute_activity().
  void run_activity_task(const ws::PollActivityTaskQueueResponse& task, const RegisteredActivity* activity,
                         std::function<void()> reported);
  // RespondActivityTaskFailed for an attempt the worker gives up on because it is shutting down,
  // retried like any report, on the calling thread; `first_attempt`: when shutdown began reporting.
  grpc::Status report_worker_shutdown(const std::string& task_token,
                                      std::chrono::steady_clock::time_point first_attempt);
};

// Calls a unary RPC with the worker's usual deadline, blocking the calling thread (heartbeats from
// an activity's thread, and shutdown's reports).
template <class Req, class Resp, class Fn>
grpc::Status Worker::Impl::call(Fn fn, const Req& req, Resp& resp) {
  grpc::ClientContext ctx;
  ctx.set_deadline(call_deadline());
  return ((*blocking_stub).*fn)(&ctx, req, &resp);
}

template <class Req, class Resp, class Start, class Done>
void Worker::Impl::send_report(std::shared_ptr<Report<Req, Resp>> report, Start start, Done done, const char* what) {
  report->ctx = std::make_unique<grpc::ClientContext>();
  report->ctx->set_deadline(call_deadline());
  Report<Req, Resp>& r = *report;
  start(*stub->async(), r.ctx.get(), &r.req, &r.resp,
        [this, report = std::move(report), start, done = std::move(done), what](grpc::Status status) mutable {
          report->retry_alarm.reset();  // the one that started this attempt, if any, has fired
          std::optional<std::chrono::milliseconds> next_wait;
          if (!status.ok()) next_wait = report->retry.next_wait(status);
          if (!next_wait) {
            if (!status.ok() && report->retry.retries() > 0)
              spdlog::warn("{}: giving up after {} retries: {}", what, report->retry.retries(), status.error_message());
            return done(status, report->retry.retries());
          }
          ++report_retries;
          spdlog::info("{} failed (code {}: {}); sending it again in {} ms", what,
                       static_cast<int>(status.error_code()), status.error_message(), next_wait->count());
          report->retry_alarm = std::make_unique<grpc::Alarm>();
          auto& alarm = *report->retry_alarm;
          alarm.Set(std::chrono::system_clock::now() + *next_wait,
                    [this, report = std::move(report), start, done = std::move(done), what](bool) mutable {
                      send_report(std::move(report), start, std::move(done), what);
                    });
        });
}

}  // namespace reprise
