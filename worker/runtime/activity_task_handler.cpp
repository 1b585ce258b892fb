// Running one activity attempt and telling the server how it ended (see reprise/activity.h).
//   returned a value           -> RespondActivityTaskCompleted{result}
//   threw ActivityCancelled... -> RespondActivityTaskCanceled (the workflow asked for it)
//   threw ApplicationError     -> RespondActivityTaskFailed{its Failure: type, non_retryable, details}
//   threw anything else        -> RespondActivityTaskFailed{type = the exception's class name}
// Retries are the server's business (engine/activities.cpp): the worker only reports.
// The report is sent again while the server cannot take it (report_retry.h).
// Exercised by tests/worker/runtime_test.cpp (failures, cancellation, heartbeats, shutdown) and
// report_retry_test.cpp.
#include <cxxabi.h>
#include <spdlog/spdlog.h>

#include <typeinfo>

#include "worker_impl.h"

namespace reprise {

namespace {
std::string class_name(const std::exception& e) {
  int status = 0;
  std::unique_ptr<char, void (*)(void*)> name(abi::__cxa_demangle(typeid(e).name(), nullptr, nullptr, &status),
                                              std::free);
  return status == 0 && name ? name.get() : typeid(e).name();
}

Failure application_failure(const std::string& message, const std::string& type, bool non_retryable) {
  Failure f;
  f.set_message(message);
  f.set_source(kFailureSource);
  f.mutable_application_failure_info()->set_type(type);
  f.mutable_application_failure_info()->set_non_retryable(non_retryable);
  return f;
}
}  // namespace

void Worker::Impl::run_activity_task(const ws::PollActivityTaskQueueResponse& task, const RegisteredActivity* activity,
                                     std::function<void()> reported) {
  ++activity_tasks;
  ActivityInfo info;
  info.activity_id = task.activity_id();
  info.activity_type = task.activity_type().name();
  info.workflow_id = task.workflow_execution().workflow_id();
  info.run_id = task.workflow_execution().run_id();
  info.workflow_type = task.workflow_type().name();
  info.task_queue = options.task_queue;
  info.attempt = task.attempt();
  info.heartbeat_details = task.heartbeat_details();

  const std::string& token = task.task_token();
  const bool non_blocking = activity && activity->kind == ActivityKind::NonBlocking;
  ActivityContext ctx(info, workflows.converter(), [this, &token, &info, non_blocking](const Payloads& details) {
    if (non_blocking)  // on a gRPC thread, which must not wait for an RPC of its own
      throw std::logic_error("activity " + info.activity_type +
                             " is registered as ActivityKind::NonBlocking and cannot heartbeat; register it as "
                             "ActivityKind::Blocking to heartbeat");
    ws::RecordActivityTaskHeartbeatRequest req;
    req.set_namespace_(namespace_name);
    req.set_task_token(token);
    *req.mutable_details() = details;
    req.set_identity(options.identity);
    ws::RecordActivityTaskHeartbeatResponse resp;
    auto status = call(&ws::WorkflowService::Stub::RecordActivityTaskHeartbeat, req, resp);
    // NOT_FOUND: the attempt is over for the server (timed out, workflow closed): stop working.
    return resp.cancel_requested() || status.error_code() == grpc::StatusCode::NOT_FOUND;
  });
  {
    std::lock_guard lock(slots_mu);
    running_attempts[&ctx].task_token = token;
  }

  enum class Outcome { Completed, Failed, Canceled } outcome = Outcome::Completed;
  Payloads result;
  Failure failure;
  if (activity) {
    try {
      result = activity->function(ctx, task.input());
    } catch (const ActivityCancelledError&) {
      outcome = Outcome::Canceled;
    } catch (const TemporalFailure& e) {
      outcome = Outcome::Failed;
      failure = e.to_failure();
    } catch (const std::exception& e) {
      outcome = Outcome::Failed;
      failure = application_failure(e.what(), class_name(e), false);
    }
  } else {
    outcome = Outcome::Failed;
    failure = application_failure("activity type " + info.activity_type + " is not registered on worker " +
                                      options.identity + " (task queue " + options.task_queue + ")",
                                  "NotFoundError", false);
  }
  bool reported_by_shutdown = false;
  {
    std::lock_guard lock(slots_mu);
    reported_by_shutdown = running_attempts.at(&ctx).reported_by_shutdown;
    running_attempts.erase(&ctx);
  }
  if (reported_by_shutdown) return reported();  // shutdown() already told the server this attempt failed

  // The report goes out through the callback API: this pool thread is free for the next attempt
  // while the server commits it.
  auto send = [&](auto report, auto start) {
    report->req.set_namespace_(namespace_name);
    report->req.set_task_token(token);
    report->req.set_identity(options.identity);
    send_report(
        std::move(report), start,
        [reported = std::move(reported), activity_id = info.activity_id, workflow_id = info.workflow_id](
            const grpc::Status& status, int retries) {
          if (status.error_code() == grpc::StatusCode::NOT_FOUND && retries > 0)
            spdlog::info(
                "activity {} of {}: on a retry of its report the server no longer has the attempt open (an earlier "
                "attempt may have landed, or the attempt timed out meanwhile)",
                activity_id, workflow_id);
          else if (!status.ok())
            spdlog::warn("reporting activity {} of {} failed: {}", activity_id, workflow_id, status.error_message());
          reported();
        },
        "reporting an activity's outcome");
  };
  if (outcome == Outcome::Completed) {
    auto report =
        std::make_shared<Report<ws::RespondActivityTaskCompletedRequest, ws::RespondActivityTaskCompletedResponse>>();
    *report->req.mutable_result() = std::move(result);
    send(report, [](auto& api, auto... args) { api.RespondActivityTaskCompleted(args...); });
  } else if (outcome == Outcome::Canceled) {
    auto report =
        std::make_shared<Report<ws::RespondActivityTaskCanceledRequest, ws::RespondActivityTaskCanceledResponse>>();
    send(report, [](auto& api, auto... args) { api.RespondActivityTaskCanceled(args...); });
  } else {
    ++activity_failures;
    auto report =
        std::make_shared<Report<ws::RespondActivityTaskFailedRequest, ws::RespondActivityTaskFailedResponse>>();
    *report->req.mutable_failure() = std::move(failure);
    send(report, [](auto& api, auto... args) { api.RespondActivityTaskFailed(args...); });
  }
}

grpc::Status Worker::Impl::report_worker_shutdown(const std::string& task_token,
                                                  std::chrono::steady_clock::time_point first_attempt) {
  ++activity_failures;
  ws::RespondActivityTaskFailedRequest req;
  req.set_namespace_(namespace_name);
  req.set_task_token(task_token);
  *req.mutable_failure() = application_failure(
      "worker " + options.identity + " shut down while the activity was running", "WorkerShutdown", false);
  req.set_identity(options.identity);
  ws::RespondActivityTaskFailedResponse resp;
  // A report like any other (report_retry.h), sent from shutdown's own thread, which may wait;
  // its 10 s count from `first_attempt`, shared by all of shutdown's reports, so that a server
  // that is gone holds shutdown ~10 s of retrying (plus each attempt's own deadline), not 10 s
  // per activity.
  detail::ReportRetry retry(first_attempt);
  for (;;) {
    auto status = call(&ws::WorkflowService::Stub::RespondActivityTaskFailed, req, resp);
    auto next_wait = retry.next_wait(status);
    if (!next_wait) {
      if (!status.ok()) spdlog::warn("reporting an activity stopped by shutdown failed: {}", status.error_message());
      return status;
    }
    ++report_retries;
    std::this_thread::sleep_for(*next_wait);
  }
}

}  // namespace reprise
