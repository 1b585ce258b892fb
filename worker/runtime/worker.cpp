// The worker's pollers (chains of callback-API RPCs, see worker_impl.h) with reconnect backoff,
// activity slots, start and graceful shutdown (see reprise/worker.h).
// Exercised by tests/worker/runtime_test.cpp and process_test.cpp.
#include <grpcpp/create_channel.h>
#include <spdlog/spdlog.h>

#include <boost/asio/post.hpp>
#include <csignal>

#include "worker_impl.h"

namespace reprise {

namespace {
std::atomic<bool> signal_received{false};

// Threads for the workflow tasks that fetch a history or replay a long one (worker_impl.h): after
// a worker restarts, every cached run it had comes back as such a task, a few at a time.
constexpr int kReplayThreads = 4;

std::string fresh_id() {
  static std::atomic<std::uint64_t> counter{0};
  auto now = std::chrono::steady_clock::now().time_since_epoch().count();
  return std::to_string(now) + "-" + std::to_string(counter++);
}

}  // namespace

std::chrono::milliseconds Backoff::failed(const grpc::Status& status, const char* what) {
  if (delay_.count() == 0) {
    spdlog::warn("{} failed ({}); retrying with backoff until the server answers", what, status.error_message());
    delay_ = std::chrono::milliseconds(100);
  } else {
    delay_ = std::min(delay_ * 2, std::chrono::milliseconds(5000));
  }
  return delay_;
}

void Backoff::succeeded() {
  if (delay_.count() != 0) spdlog::info("reconnected to the server");
  delay_ = std::chrono::milliseconds(0);
}

Worker::Impl::Impl(Client& client, WorkerOptions options)
    : client(client),
      options(std::move(options)),
      namespace_name(client.options().namespace_),
      stub(ws::WorkflowService::NewStub(client.worker_channel())),
      blocking_stub(ws::WorkflowService::NewStub(client.channel())),
      workflows(this->options.converter),
      cache(this->options.max_cached_workflows) {
  if (this->options.identity.empty()) this->options.identity = client.options().identity;
  sticky_queue = this->options.identity + "-" + fresh_id();
  free_slots = std::max(1, this->options.max_concurrent_activities);
  activity_pool = std::make_unique<boost::asio::thread_pool>(free_slots);
  replay_pool = std::make_unique<boost::asio::thread_pool>(kReplayThreads);
}

bool Worker::Impl::begin_poll(grpc::ClientContext& ctx) {
  ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(70));
  std::lock_guard lock(polls_mu);
  if (stopping) return false;
  polls.insert(&ctx);
  return true;
}

void Worker::Impl::end_poll(grpc::ClientContext& ctx) {
  std::lock_guard lock(polls_mu);
  polls.erase(&ctx);
}

void Worker::Impl::poller_stopped() {
  std::lock_guard lock(polls_mu);
  --pollers_running;
  pollers_cv.notify_all();
}

void Worker::Impl::poll_again(Poller& p) {
  if (stopping) return poller_stopped();
  if (p.queue == Poller::Queue::Activity) return poll_activity_task(p);
  poll_workflow_task(p);
}

// A long poll that ends without a task (DEADLINE_EXCEEDED) is simply made again; any other error
// waits out the poller's backoff first, on a gRPC alarm rather than a sleeping thread.
void Worker::Impl::poll_failed(Poller& p, const grpc::Status& status, const char* what) {
  if (status.error_code() == grpc::StatusCode::DEADLINE_EXCEEDED) return poll_again(p);
  auto delay = p.backoff.failed(status, what);
  {
    std::lock_guard lock(polls_mu);  // shutdown() cancels p.retry under it, once stopping is set
    if (!stopping) {
      p.retry = std::make_unique<grpc::Alarm>();
      p.retry->Set(std::chrono::system_clock::now() + delay, [this, &p](bool) { poll_again(p); });
      return;
    }
  }
  poller_stopped();
}

void Worker::Impl::poll_workflow_task(Poller& p) {
  const bool sticky = p.queue == Poller::Queue::Sticky;
  using Poll = Rpc<ws::PollWorkflowTaskQueueRequest, ws::PollWorkflowTaskQueueResponse>;
  auto rpc = std::make_shared<Poll>();
  rpc->req.set_namespace_(namespace_name);
  rpc->req.mutable_task_queue()->set_name(sticky ? sticky_queue : options.task_queue);
  rpc->req.mutable_task_queue()->set_kind(sticky ? temporal::api::enums::v1::TASK_QUEUE_KIND_STICKY
                                                 : temporal::api::enums::v1::TASK_QUEUE_KIND_NORMAL);
  if (sticky) rpc->req.mutable_task_queue()->set_normal_name(options.task_queue);
  rpc->req.set_identity(options.identity);
  if (!begin_poll(rpc->ctx)) return poller_stopped();
  stub->async()->PollWorkflowTaskQueue(&rpc->ctx, &rpc->req, &rpc->resp, [this, &p, rpc](grpc::Status status) {
    end_poll(rpc->ctx);
    if (stopping) return poller_stopped();
    if (!status.ok()) return poll_failed(p, status, "polling for workflow tasks");
    p.backoff.succeeded();
    if (rpc->resp.task_token().empty()) return poll_again(p);  // the long poll ended with no task
    handle_workflow_task(std::move(rpc->resp), [this, &p] { poll_again(p); });
  });
}

bool Worker::Impl::take_slot() {
  std::lock_guard lock(slots_mu);
  if (free_slots == 0 || stopping) return false;
  --free_slots;
  return true;
}

// A freed slot restarts an activity poller parked for want of one.
void Worker::Impl::give_back_slot() {
  Poller* parked = nullptr;
  {
    std::lock_guard lock(slots_mu);
    ++free_slots;
    if (!waiting_for_slot.empty() && !stopping) {
      parked = waiting_for_slot.back();
      waiting_for_slot.pop_back();
    }
  }
  if (parked) poll_activity_task(*parked);
}

void Worker::Impl::execute_activity(ws::PollActivityTaskQueueResponse task) {
  {
    std::lock_guard lock(slots_mu);
    ++running_activities;
  }
  // The slot taken for it guarantees a free pool thread: the attempt starts at once (a
  // non-blocking activity: here, on the gRPC thread that received its task; reprise/activity.h).
  // The slot is given back once the server has the outcome; the count drops last, under the lock,
  // because shutdown() waits for it before the worker goes away.
  const RegisteredActivity* activity = activities.find(task.activity_type().name());
  const bool here = activity && activity->kind == ActivityKind::NonBlocking;
  auto run = [this, activity, task = std::move(task)] {
    run_activity_task(task, activity, [this] {
      give_back_slot();
      std::lock_guard lock(slots_mu);
      --running_activities;
      slots_cv.notify_all();
    });
  };
  if (here)
    run();
  else
    boost::asio::post(*activity_pool, std::move(run));
}

// An activity poller polls only while it holds a free slot, so the worker never accepts a task it
// cannot start at once; without one it parks until give_back_slot() restarts it.
void Worker::Impl::poll_activity_task(Poller& p) {
  bool stop;
  {
    std::lock_guard lock(slots_mu);
    stop = stopping;  // read once: a slot taken here is given back on every path below
    if (!stop && free_slots == 0) {
      waiting_for_slot.push_back(&p);
      return;
    }
    if (!stop) --free_slots;
  }
  if (stop) return poller_stopped();
  using Poll = Rpc<ws::PollActivityTaskQueueRequest, ws::PollActivityTaskQueueResponse>;
  auto rpc = std::make_shared<Poll>();
  rpc->req.set_namespace_(namespace_name);
  rpc->req.mutable_task_queue()->set_name(options.task_queue);
  rpc->req.set_identity(options.identity);
  if (!begin_poll(rpc->ctx)) {
    give_back_slot();
    return poller_stopped();
  }
  stub->async()->PollActivityTaskQueue(&rpc->ctx, &rpc->req, &rpc->resp, [this, &p, rpc](grpc::Status status) {
    end_poll(rpc->ctx);
    if (stopping || !status.ok() || rpc->resp.task_token().empty()) {
      give_back_slot();
      if (stopping) return poller_stopped();
      if (!status.ok()) return poll_failed(p, status, "polling for activity tasks");
      return poll_again(p);
    }
    p.backoff.succeeded();
    execute_activity(std::move(rpc->resp));
    poll_again(p);
  });
}

void Worker::Impl::shutdown() {
  if (!running || stopping.exchange(true)) return;
  // Every poller ends: a parked long poll is cancelled, a retry wait cut short, a poller waiting
  // for an activity slot ended here; one answering a task ends when the answer is in.
  std::vector<Poller*> parked;
  {
    std::lock_guard lock(slots_mu);
    parked.swap(waiting_for_slot);
  }
  {
    std::unique_lock lock(polls_mu);
    pollers_running -= static_cast<int>(parked.size());
    for (auto* ctx : polls) ctx->TryCancel();
    for (auto& p : pollers)
      if (p->retry) p->retry->Cancel();
    pollers_cv.wait(lock, [&] { return pollers_running == 0; });
  }
  replay_pool->join();  // its last task has called poller_stopped(); let the thread finish it
  pollers.clear();

  // Running activities get the grace period to finish. Past it, each one still running is told to
  // stop (is_cancelled() turns true) and reported failed at once, so the server can retry it on
  // another worker now rather than after its timeout. C++ cannot stop a thread, so shutdown still
  // waits for the activity functions to return; what they return then is not reported.
  std::unique_lock lock(slots_mu);
  bool finished = slots_cv.wait_for(lock, options.graceful_shutdown_timeout, [&] { return running_activities == 0; });
  if (!finished) {
    spdlog::warn("{} activities still running after the shutdown grace period; reporting them as failed",
                 running_activities);
    std::vector<std::string> tokens;
    for (auto& [ctx, attempt] : running_attempts) {
      ctx->mark_worker_stopping();
      attempt.reported_by_shutdown = true;
      tokens.push_back(attempt.task_token);
    }
    lock.unlock();
    const auto reporting_began = std::chrono::steady_clock::now();
    for (const auto& token : tokens) report_worker_shutdown(token, reporting_began);
    lock.lock();
    slots_cv.wait(lock, [&] { return running_activities == 0; });
  }
  lock.unlock();
  activity_pool->join();
  // Tell the server this worker's sticky queue is gone, so the next workflow tasks of the runs it
  // cached go straight to the normal queue instead of waiting out the sticky timeout.
  if (options.max_cached_workflows > 0) {
    ws::ShutdownWorkerRequest req;
    req.set_namespace_(namespace_name);
    req.set_sticky_task_queue(sticky_queue);
    req.set_identity(options.identity);
    req.set_reason("graceful shutdown");
    req.set_task_queue(options.task_queue);
    ws::ShutdownWorkerResponse resp;
    if (auto status = call(&ws::WorkflowService::Stub::ShutdownWorker, req, resp); !status.ok())
      spdlog::info("ShutdownWorker: {} (the sticky timeout will move this worker's tasks instead)",
                   status.error_message());
  }
  cache.clear();
  running = false;
}

Worker::Worker(Client& client, WorkerOptions options) : impl_(std::make_unique<Impl>(client, std::move(options))) {
  if (impl_->options.task_queue.empty()) throw std::invalid_argument("WorkerOptions.task_queue is required");
}

Worker::~Worker() { shutdown(); }

void Worker::start() {
  if (impl_->running.exchange(true)) return;
  using Queue = Impl::Poller::Queue;
  auto add = [&](Queue queue, int count) {
    for (int i = 0; i < std::max(1, count); ++i)
      impl_->pollers.push_back(std::make_unique<Impl::Poller>(Impl::Poller{queue, {}, nullptr}));
  };
  add(Queue::Normal, impl_->options.workflow_pollers);
  if (impl_->options.max_cached_workflows > 0) add(Queue::Sticky, impl_->options.sticky_workflow_pollers);
  add(Queue::Activity, impl_->options.activity_pollers);
  impl_->pollers_running = static_cast<int>(impl_->pollers.size());
  for (auto& p : impl_->pollers) impl_->poll_again(*p);
  spdlog::info("worker {} polling task queue {}", impl_->options.identity, impl_->options.task_queue);
}

void Worker::run() {
  start();
  signal_received = false;
  auto previous_int = std::signal(SIGINT, [](int) { signal_received = true; });
  auto previous_term = std::signal(SIGTERM, [](int) { signal_received = true; });
  while (!signal_received && !impl_->stopping) std::this_thread::sleep_for(std::chrono::milliseconds(50));
  std::signal(SIGINT, previous_int);
  std::signal(SIGTERM, previous_term);
  shutdown();
}

void Worker::shutdown() { impl_->shutdown(); }

WorkerStats Worker::stats() const {
  return WorkerStats{impl_->workflow_tasks,    impl_->workflow_task_failures, impl_->cache_hits,
                     impl_->full_replays,      impl_->events_replayed,        impl_->activity_tasks,
                     impl_->activity_failures, impl_->eager_activity_tasks,   impl_->report_retries};
}
const WorkerOptions& Worker::options() const { return impl_->options; }
const std::string& Worker::sticky_queue() const { return impl_->sticky_queue; }
WorkflowRegistry& Worker::workflows() { return impl_->workflows; }
ActivityRegistry& Worker::activities() { return impl_->activities; }

}  // namespace reprise
