// A long poll for a task: parked in matching until a task arrives or the deadline passes.
//
// When matching hands the poll a task, the engine tries to start it (a transaction that checks the
// task against mutable state). A stale task is dropped and the poll parks again, so one worker RPC
// may look at several tasks before it gets a live one. A workflow task the engine started for this
// poller in the transaction that scheduled it (Matching::claim) arrives instead as the finished
// response (answer()), built when that commit was durable. Shared by workflow_tasks.cpp and
// activities.cpp; exercised by every server test in tests/engine/.
#pragma once

#include <spdlog/spdlog.h>

#include <any>
#include <memory>
#include <mutex>

#include "history_engine.h"

namespace reprise::engine {

template <class Response>
class TaskLongPoll final : public PollHandle, public std::enable_shared_from_this<TaskLongPoll<Response>> {
 public:
  // Starts the task in a transaction; nullopt when the task turned out stale.
  using Dispatch = std::function<std::optional<Response>(const TaskRow&)>;

  TaskLongPoll(Matching& matching, QueueKey queue, SteadyTime deadline, std::string identity, Dispatch dispatch,
               std::function<void(Response)> done)
      : matching_(matching),
        queue_(std::move(queue)),
        deadline_(deadline),
        identity_(std::move(identity)),
        dispatch_(std::move(dispatch)),
        done_(std::move(done)) {}

  void park() {
    std::lock_guard lock(mu_);
    if (cancelled_ || std::chrono::steady_clock::now() >= deadline_) {
      finish_locked();
      return;
    }
    auto self = this->shared_from_this();
    poller_ = matching_.poll(
        queue_, deadline_, [self](std::optional<TaskRow> task) { self->on_task(task); }, identity_,
        [self](std::any response) { self->answer(std::any_cast<Response>(std::move(response))); });
  }

  void cancel() override {
    Matching::PollerId id;
    {
      std::lock_guard lock(mu_);
      cancelled_ = true;
      id = poller_;
    }
    matching_.cancel(id);
  }

 private:
  void on_task(std::optional<TaskRow> task) {
    if (!task) {
      std::lock_guard lock(mu_);
      finish_locked();
      return;
    }
    std::optional<Response> response;
    try {
      response = dispatch_(*task);
    } catch (const std::exception& e) {
      spdlog::warn("could not start task of {} ({}); polling again", task->execution.workflow_id, e.what());
    }
    if (response) return answer(std::move(*response));
    try {
      park();
    } catch (const std::exception& e) {
      // The poll must still be answered (gRPC's shutdown waits for every call): with no task.
      spdlog::error("could not park a poll again ({}); answering it empty", e.what());
      std::lock_guard lock(mu_);
      finish_locked();
    }
  }

  void answer(Response response) {
    std::lock_guard lock(mu_);
    if (!finished_) {
      finished_ = true;
      done_(std::move(response));
    }
  }

  void finish_locked() {
    if (finished_) return;
    finished_ = true;
    done_(Response{});
  }

  Matching& matching_;
  QueueKey queue_;
  SteadyTime deadline_;
  std::string identity_;
  Dispatch dispatch_;
  std::function<void(Response)> done_;
  std::mutex mu_;
  Matching::PollerId poller_ = 0;
  bool cancelled_ = false;
  bool finished_ = false;
};

// The moment a parked poll gives up: a little before the client's own deadline, at most the
// server's long-poll timeout.
inline SteadyTime poll_deadline(SteadyTime client_deadline, std::chrono::milliseconds long_poll_timeout) {
  auto now = std::chrono::steady_clock::now();
  auto ours = now + long_poll_timeout;
  if (client_deadline == SteadyTime::max()) return ours;
  auto theirs = client_deadline - std::chrono::seconds(1);
  return std::max(now, std::min(ours, theirs));
}

}  // namespace reprise::engine
