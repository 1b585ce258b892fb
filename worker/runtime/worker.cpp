// The worker's threads: polling loops with reconnect backoff, start and graceful shutdown
// (see reprise/worker.h). Exercised by tests/worker/runtime_test.cpp and process_test.cpp.
#include <grpcpp/create_channel.h>
#include <spdlog/spdlog.h>

#include <boost/asio/post.hpp>
#include <csignal>

#include "worker_impl.h"

namespace reprise {

namespace {
std::atomic<bool> signal_received{false};

std::string fresh_id() {
  static std::atomic<std::uint64_t> counter{0};
  auto now = std::chrono::steady_clock::now().time_since_epoch().count();
  return std::to_string(now) + "-" + std::to_string(counter++);
}

// Waits before the next poll after an error: 100 ms, doubling, at most 5 s; 0 after a success.
class Backoff {
 public:
  void failed(const grpc::Status& status, const char* what) {
    if (delay_.count() == 0) {
      spdlog::warn("{} failed ({}); retrying with backoff until the server answers", what, status.error_message());
      delay_ = std::chrono::milliseconds(100);
    } else {
      delay_ = std::min(delay_ * 2, std::chrono::milliseconds(5000));
    }
  }
  void succeeded() {
    if (delay_.count() != 0) spdlog::info("reconnected to the server");
    delay_ = std::chrono::milliseconds(0);
  }
  void wait(const std::atomic<bool>& stopping) {
    auto until = std::chrono::steady_clock::now() + delay_;
    while (!stopping && std::chrono::steady_clock::now() < until)
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }

 private:
  std::chrono::milliseconds delay_{0};
};
}  // namespace

Worker::Impl::Impl(Client& client, WorkerOptions options)
    : client(client),
      options(std::move(options)),
      namespace_name(client.options().namespace_),
      stub(ws::WorkflowService::NewStub(client.channel())),
      workflows(this->options.converter),
      cache(this->options.max_cached_workflows) {
  if (this->options.identity.empty()) this->options.identity = client.options().identity;
  sticky_queue = this->options.identity + "-" + fresh_id();
  free_slots = std::max(1, this->options.max_concurrent_activities);
  activity_pool = std::make_unique<boost::asio::thread_pool>(free_slots);
}

void Worker::Impl::workflow_poll_loop(bool sticky) {
  Backoff backoff;
  while (!stopping) {
    ws::PollWorkflowTaskQueueRequest req;
    req.set_namespace_(namespace_name);
    req.mutable_task_queue()->set_name(sticky ? sticky_queue : options.task_queue);
    req.mutable_task_queue()->set_kind(sticky ? temporal::api::enums::v1::TASK_QUEUE_KIND_STICKY
                                              : temporal::api::enums::v1::TASK_QUEUE_KIND_NORMAL);
    if (sticky) req.mutable_task_queue()->set_normal_name(options.task_queue);
    req.set_identity(options.identity);
    ws::PollWorkflowTaskQueueResponse task;
    auto status = poll(&ws::WorkflowService::Stub::PollWorkflowTaskQueue, req, task);
    if (stopping) break;
    if (!status.ok()) {
      if (status.error_code() != grpc::StatusCode::DEADLINE_EXCEEDED) {
        backoff.failed(status, "polling for workflow tasks");
        backoff.wait(stopping);
      }
      continue;
    }
    backoff.succeeded();
    if (task.task_token().empty()) continue;  // the long poll ended with no task
    handle_workflow_task(std::move(task));
  }
}

bool Worker::Impl::take_slot() {
  std::lock_guard lock(slots_mu);
  if (free_slots == 0 || stopping) return false;
  --free_slots;
  return true;
}

void Worker::Impl::give_back_slot() {
  std::lock_guard lock(slots_mu);
  ++free_slots;
  slots_cv.notify_all();
}

void Worker::Impl::execute_activity(ws::PollActivityTaskQueueResponse task) {
  {
    std::lock_guard lock(slots_mu);
    ++running_activities;
  }
  // The slot taken for it guarantees a free pool thread: the attempt starts at once.
  boost::asio::post(*activity_pool, [this, task = std::move(task)] {
    run_activity_task(task);
    {
      std::lock_guard lock(slots_mu);
      --running_activities;
    }
    give_back_slot();
  });
}

void Worker::Impl::activity_poll_loop() {
  Backoff backoff;
  while (!stopping) {
    {
      std::unique_lock lock(slots_mu);
      slots_cv.wait(lock, [&] { return free_slots > 0 || stopping; });
      if (stopping) break;
      --free_slots;
    }
    ws::PollActivityTaskQueueRequest req;
    req.set_namespace_(namespace_name);
    req.mutable_task_queue()->set_name(options.task_queue);
    req.set_identity(options.identity);
    ws::PollActivityTaskQueueResponse task;
    auto status = poll(&ws::WorkflowService::Stub::PollActivityTaskQueue, req, task);
    if (stopping || !status.ok() || task.task_token().empty()) {
      give_back_slot();
      if (!stopping && !status.ok() && status.error_code() != grpc::StatusCode::DEADLINE_EXCEEDED) {
        backoff.failed(status, "polling for activity tasks");
        backoff.wait(stopping);
      }
      continue;
    }
    backoff.succeeded();
    execute_activity(std::move(task));
  }
}

void Worker::Impl::shutdown() {
  if (!running || stopping.exchange(true)) return;
  {
    std::lock_guard lock(polls_mu);
    for (auto* ctx : polls) ctx->TryCancel();
  }
  slots_cv.notify_all();
  for (auto& t : threads) t.join();
  threads.clear();

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
    for (const auto& token : tokens) report_worker_shutdown(token);
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
  for (int i = 0; i < std::max(1, impl_->options.workflow_pollers); ++i)
    impl_->threads.emplace_back([this] { impl_->workflow_poll_loop(false); });
  if (impl_->options.max_cached_workflows > 0)
    for (int i = 0; i < std::max(1, impl_->options.sticky_workflow_pollers); ++i)
      impl_->threads.emplace_back([this] { impl_->workflow_poll_loop(true); });
  for (int i = 0; i < std::max(1, impl_->options.activity_pollers); ++i)
    impl_->threads.emplace_back([this] { impl_->activity_poll_loop(); });
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
                     impl_->activity_failures, impl_->eager_activity_tasks};
}
const WorkerOptions& Worker::options() const { return impl_->options; }
const std::string& Worker::sticky_queue() const { return impl_->sticky_queue; }
WorkflowRegistry& Worker::workflows() { return impl_->workflows; }
ActivityRegistry& Worker::activities() { return impl_->activities; }

}  // namespace reprise
