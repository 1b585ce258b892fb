// Answering one workflow task (see reprise/worker.h).
//
//   1. Find the run: in the sticky cache (apply only the new events) or not (replay from event 1;
//      if the server sent only the tail of the history, fetch the whole of it first).
//   2. WorkflowRun::activate runs the workflow code to its next blocking point and returns commands,
//      or a failure (nondeterminism, an exception in workflow code).
//   3. Answer: RespondWorkflowTaskCompleted with the commands and this worker's sticky queue (and
//      eager execution asked for the activities it has free slots for), or
//      RespondWorkflowTaskFailed. Like Temporal's core SDK, a failure is reported only for attempt 1;
//      later attempts are left to time out so a broken workflow does not flood its history.
//   4. Keep the run in the cache for next time, unless it closed or failed (it goes back before the
//      answer is sent: the next task may reach another poller as soon as the server has the answer).
//      Activity tasks the server handed back (eager) start at once (on the activity pool, or
//      on this thread for a non-blocking activity: reprise/activity.h); if it
//      handed back the next workflow task inline, answer that straight away.
// Steps 1-3 run on the gRPC thread that received the task (worker_impl.h), except a task that must
// fetch its history or replay a long one: that moves to the worker's replay pool. The answer goes
// out through gRPC's callback API once steps 1-4's first half are done (prepare_answer); step 4's
// second half runs in RespondWorkflowTaskCompleted's completion (answered), and `then` starts the
// poller's next poll.
// Exercised by tests/worker/runtime_test.cpp (cached, evicted, chains of runs) and process_test.cpp.
#include <spdlog/spdlog.h>

#include <algorithm>
#include <boost/asio/post.hpp>

#include "worker_impl.h"

namespace reprise {

namespace {
namespace enums = temporal::api::enums::v1;

TaskFailure unexpected_failure(const std::string& message) {
  TaskFailure f{enums::WORKFLOW_TASK_FAILED_CAUSE_WORKFLOW_WORKER_UNHANDLED_FAILURE, {}};
  f.failure.set_message(message);
  f.failure.set_source(kFailureSource);
  f.failure.mutable_application_failure_info()->set_type("WorkerError");
  return f;
}
}  // namespace

int Worker::Impl::request_eager_activities(ws::RespondWorkflowTaskCompletedRequest& req) {
  if (!options.eager_activity_execution) return 0;
  int reserved = 0;
  for (auto& c : *req.mutable_commands()) {
    if (c.command_type() != enums::COMMAND_TYPE_SCHEDULE_ACTIVITY_TASK) continue;
    auto* a = c.mutable_schedule_activity_task_command_attributes();
    const std::string& queue = a->task_queue().name();
    if (reserved == kMaxEagerActivitiesPerTask || !(queue.empty() || queue == options.task_queue) || !take_slot())
      continue;
    a->set_request_eager_execution(true);
    ++reserved;
  }
  return reserved;
}

// A task that would hold one of gRPC's few callback threads for long (fetching a history, or
// replaying thousands of events) moves to the worker's replay pool; the common sticky task, a few
// new events for a cached run, is answered on the thread that received it.
constexpr int kLongReplayEvents = 1000;

void Worker::Impl::handle_workflow_task(ws::PollWorkflowTaskQueueResponse task, std::function<void()> then,
                                        bool on_replay_pool) {
  std::function<void()> send;
  try {
    send = prepare_answer(task, then, on_replay_pool);
  } catch (const std::exception& e) {  // e.g. bad_alloc; the task times out and comes back
    spdlog::error("answering a workflow task of {} failed: {}", task.workflow_execution().workflow_id(), e.what());
  }
  // The run and its check-out are settled by now; `then` and the answer's completion may find the
  // worker shutting down, so nothing of this task is touched after either starts.
  if (send) return send();
  then();
}

std::function<void()> Worker::Impl::prepare_answer(ws::PollWorkflowTaskQueueResponse& task, std::function<void()>& then,
                                                   bool on_replay_pool) {
  const bool caching = options.max_cached_workflows > 0;
  const std::string run_id = task.workflow_execution().run_id();
  // The task's events, taken over by the run below.
  std::vector<HistoryEvent> batch(std::make_move_iterator(task.mutable_history()->mutable_events()->begin()),
                                  std::make_move_iterator(task.mutable_history()->mutable_events()->end()));
  task.mutable_history()->clear_events();
  std::unique_ptr<WorkflowRun> run = cache.take(run_id);
  // Whatever happens below, the run id is checked back in: with the run (put) or without it.
  struct CheckIn {
    detail::StickyCache& cache;
    const std::string& run_id;
    bool done = false;
    ~CheckIn() {
      if (!done) cache.release(run_id);
    }
  } check_in{cache, run_id};
  // A gap after the run's last event, or its last answer thrown away (the task failed or timed
  // out): the cached run cannot go on, a fresh one replays the whole history.
  if (run && run->must_start_over(batch)) run.reset();

  const std::int64_t first_event_id = batch.empty() ? 1 : batch.front().event_id();
  const bool needs_fetch = !run && first_event_id > 1;
  if (!on_replay_pool && !run && (needs_fetch || batch.size() > kLongReplayEvents)) {
    return [this, task = std::move(task), batch = std::move(batch), then = std::move(then)]() mutable {
      for (auto& e : batch) *task.mutable_history()->add_events() = std::move(e);  // the events go with the task
      boost::asio::post(*replay_pool, [this, task = std::move(task), then = std::move(then)]() mutable {
        handle_workflow_task(std::move(task), std::move(then), /*on_replay_pool=*/true);
      });
    };
  }

  if (run) {
    ++cache_hits;
  } else {
    ++full_replays;
    run = std::make_unique<WorkflowRun>(workflows, StartInfo::from_poll(task, namespace_name));
    if (needs_fetch) {
      // Only the tail came (a sticky task for a run this worker no longer has): fetch it all.
      try {
        auto full = client.fetch_history(task.workflow_execution().workflow_id(), run_id);
        std::vector<HistoryEvent> whole;
        for (auto& e : *full.mutable_events())
          if (e.event_id() < first_event_id) whole.push_back(std::move(e));
        whole.insert(whole.end(), std::make_move_iterator(batch.begin()), std::make_move_iterator(batch.end()));
        batch = std::move(whole);
      } catch (const std::exception& e) {
        spdlog::warn("could not fetch the history of {}: {}", task.workflow_execution().workflow_id(), e.what());
        return nullptr;  // the task times out and comes back
      }
    }
    events_replayed += batch.size();
    if (task.previous_started_event_id() > 0)
      spdlog::info(
          "workflow {}: not in this worker's cache, replaying {} events of history; new work resumes "
          "after event {}",
          task.workflow_execution().workflow_id(), batch.size(), task.previous_started_event_id());
  }

  Activation activation;
  try {
    activation = run->activate(batch);
  } catch (const std::exception& e) {
    activation.failure = unexpected_failure(e.what());
  }
  ++workflow_tasks;

  if (!activation.ok()) {
    ++workflow_task_failures;
    spdlog::warn("workflow task of {} failed: {}", task.workflow_execution().workflow_id(),
                 activation.failure->failure.message());
    // The run is dropped: the next attempt replays from event 1 (with fixed code, perhaps).
    if (task.attempt() > 1) return nullptr;
    auto report =
        std::make_shared<Report<ws::RespondWorkflowTaskFailedRequest, ws::RespondWorkflowTaskFailedResponse>>();
    report->req.set_namespace_(namespace_name);
    report->req.set_task_token(task.task_token());
    report->req.set_cause(activation.failure->cause);
    *report->req.mutable_failure() = std::move(activation.failure->failure);
    report->req.set_identity(options.identity);
    return [this, report, then = std::move(then)]() mutable {
      send_report(
          report, [](auto& api, auto... args) { api.RespondWorkflowTaskFailed(args...); },
          [then = std::move(then)](const grpc::Status&, int) mutable { then(); }, "failing a workflow task");
    };
  }

  auto report =
      std::make_shared<Report<ws::RespondWorkflowTaskCompletedRequest, ws::RespondWorkflowTaskCompletedResponse>>();
  auto& req = report->req;
  req.set_namespace_(namespace_name);
  req.set_task_token(task.task_token());
  req.set_identity(options.identity);
  for (auto& c : activation.commands) *req.add_commands() = std::move(c);
  if (caching) {
    auto* sticky = req.mutable_sticky_attributes();
    sticky->mutable_worker_task_queue()->set_name(sticky_queue);
    sticky->mutable_worker_task_queue()->set_kind(enums::TASK_QUEUE_KIND_STICKY);
    sticky->mutable_worker_task_queue()->set_normal_name(options.task_queue);
    auto ms = options.sticky_schedule_to_start_timeout.count();
    sticky->mutable_schedule_to_start_timeout()->set_seconds(ms / 1000);
    sticky->mutable_schedule_to_start_timeout()->set_nanos(static_cast<int32_t>(ms % 1000) * 1'000'000);
    req.set_return_new_workflow_task(true);
  }
  // Back into the cache before the answer goes out: once the server has it, it may hand the run's
  // next task to another sticky poller of this worker, which must find the run there.
  const bool keep = caching && !activation.workflow_closed;
  if (keep) {
    cache.put(run_id, std::move(run));
    check_in.done = true;
  }
  int eager_slots = activation.workflow_closed ? 0 : request_eager_activities(req);
  return [this, report, eager_slots, keep, run_id, workflow_id = task.workflow_execution().workflow_id(),
          then = std::move(then)]() mutable {
    send_report(
        report, [](auto& api, auto... args) { api.RespondWorkflowTaskCompleted(args...); },
        [this, report, eager_slots, keep, run_id, workflow_id, then = std::move(then)](const grpc::Status& status,
                                                                                       int retries) mutable {
          answered(*report, status, retries, eager_slots, keep, run_id, workflow_id, std::move(then));
        },
        "completing a workflow task");
  };
}

// RespondWorkflowTaskCompleted's completion: start the eager activities, and answer the next task
// if the server handed one back inline.
void Worker::Impl::answered(
    Report<ws::RespondWorkflowTaskCompletedRequest, ws::RespondWorkflowTaskCompletedResponse>& report,
    const grpc::Status& status, int retries, int eager_slots, bool keep, const std::string& run_id,
    const std::string& workflow_id, std::function<void()> then) {
  auto& resp = report.resp;
  // Each eager activity task uses one reserved slot; the server may grant fewer than asked. The
  // slots it did not use go back first: a non-blocking attempt runs on this thread, below.
  const int granted = std::min(resp.activity_tasks_size(), eager_slots);
  for (int i = granted; i < eager_slots; ++i) give_back_slot();
  for (int i = granted; i < resp.activity_tasks_size(); ++i)
    spdlog::warn("the server handed back more eager activity tasks than were asked for; ignoring {}",
                 resp.activity_tasks(i).activity_id());
  for (int i = 0; i < granted; ++i) {
    ++eager_activity_tasks;
    execute_activity(std::move(*resp.mutable_activity_tasks(i)));
  }
  if (status.error_code() == grpc::StatusCode::NOT_FOUND && retries > 0) {
    // The task is no longer open: either an earlier attempt landed and only its response was lost
    // (the cached run is then the server's), or the task timed out meanwhile, which the run's next
    // task tells (must_start_over). Either way the cached run may stay.
    spdlog::info(
        "workflow {}: on a retry of a workflow task's answer the server no longer has the task open (an earlier "
        "attempt may have landed, or the task timed out meanwhile)",
        workflow_id);
    return then();
  }
  if (!status.ok()) {
    spdlog::warn("completing a workflow task of {} failed: {}", workflow_id, status.error_message());
    if (keep) {  // drop the run: whatever the server kept, a replay will catch up
      (void)cache.take(run_id);
      cache.release(run_id);
    }
    return then();
  }
  if (!resp.has_workflow_task() || resp.workflow_task().task_token().empty()) return then();
  // The next task, handed back inline: answered at once, on this thread.
  handle_workflow_task(std::move(*resp.mutable_workflow_task()), std::move(then));
}

}  // namespace reprise
