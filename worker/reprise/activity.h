// Activities on the worker side: plain C++ functions that do the real-world work (call a service,
// write a file) a workflow asks for. Unlike workflow code they may do anything, and they run at
// least once: the server retries a failed attempt under the activity's retry policy.
//
//   std::string compose_greeting(reprise::ActivityContext& ctx, std::string name) {
//     ctx.heartbeat(progress);                 // tells the server it is alive (heartbeat timeout)
//     if (ctx.is_cancelled()) ...              // learned from the heartbeat response, as in Temporal
//     throw reprise::ApplicationError("no such user", "UserNotFound", /*non_retryable=*/true);
//     return "Hello, " + name;
//   }
//   worker.register_activity("compose_greeting", compose_greeting);
//
// An activity is Blocking unless registered otherwise: it runs on a thread of the worker's
// activity pool, so it may sleep, wait on I/O and heartbeat for hours. One registered as
// ActivityKind::NonBlocking runs on the worker's network thread that received its task, with no
// hand-off to the pool (for a function that returns in microseconds that hand-off costs more than
// the work; bench/README.md, optimisation 28). It must not wait on anything, and it cannot
// heartbeat (a heartbeat is an RPC it would have to wait for): ctx.heartbeat() throws there.
// Worker::shutdown() waits for it to return, without the grace period's limit, and never marks
// it cancelled.
// Temporal's Python SDK draws the same line: `async def` activities run on its event loop, plain
// ones on a thread pool.
//   worker.register_activity("add_one", add_one, reprise::ActivityKind::NonBlocking);
//
// Arguments and result go through the worker's DataConverter. An ApplicationError becomes the
// attempt's Failure with its type and non_retryable flag; any other exception becomes an
// ApplicationError whose type is the exception's class name (retryable), as in Temporal's SDKs.
// Exercised by tests/worker/runtime_test.cpp.
#pragma once

#include <atomic>
#include <chrono>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <tuple>
#include <type_traits>

#include "reprise/converter.h"
#include "reprise/errors.h"

namespace reprise {

// Who this attempt is.
struct ActivityInfo {
  std::string activity_id;
  std::string activity_type;
  std::string workflow_id;
  std::string run_id;
  std::string workflow_type;
  std::string task_queue;
  int attempt = 1;
  Payloads heartbeat_details;  // what the previous attempt last reported, if anything
};

// Thrown by ActivityContext::throw_if_cancelled(); the worker answers RespondActivityTaskCanceled.
class ActivityCancelledError : public std::runtime_error {
 public:
  ActivityCancelledError() : std::runtime_error("activity cancelled") {}
};

class ActivityContext {
 public:
  // `heartbeat` sends details to the server and returns whether cancellation was requested.
  ActivityContext(ActivityInfo info, const DataConverter& converter, std::function<bool(const Payloads&)> heartbeat)
      : info_(std::move(info)), converter_(converter), heartbeat_(std::move(heartbeat)) {}

  const ActivityInfo& info() const { return info_; }
  const DataConverter& converter() const { return converter_; }

  // Records progress; the next attempt can read it back with last_heartbeat_details().
  template <class... T>
  void heartbeat(const T&... details) {
    if (heartbeat_(converter_.to_payloads(details...))) cancelled_ = true;
  }
  template <class T>
  std::optional<T> last_heartbeat_details() const {
    if (info_.heartbeat_details.payloads_size() == 0) return std::nullopt;
    return converter_.from_payloads<T>(info_.heartbeat_details);
  }
  // True once the workflow asked to cancel this activity (learned through heartbeats).
  bool is_cancelled() const { return cancelled_ || worker_stopping_; }
  void throw_if_cancelled() const {
    if (is_cancelled()) throw ActivityCancelledError();
  }

  // Set by the worker when it shuts down and the grace period has run out.
  void mark_worker_stopping() { worker_stopping_ = true; }

 private:
  ActivityInfo info_;
  const DataConverter& converter_;
  std::function<bool(const Payloads&)> heartbeat_;
  std::atomic<bool> cancelled_{false};
  std::atomic<bool> worker_stopping_{false};
};

// A registered activity with its types erased: input payloads in, result payloads out.
using ActivityFunction = std::function<Payloads(ActivityContext&, const Payloads& input)>;

// Where the worker runs an activity's attempts (see the top of this file).
enum class ActivityKind {
  Blocking,     // on a thread of the activity pool
  NonBlocking,  // on the network thread that received the task; never waits, never heartbeats
};

struct RegisteredActivity {
  ActivityFunction function;
  ActivityKind kind = ActivityKind::Blocking;
};

class ActivityRegistry {
 public:
  template <class R, class... Args>
  void register_activity(const std::string& type, R (*function)(ActivityContext&, Args...),
                         ActivityKind kind = ActivityKind::Blocking) {
    auto erased = [function](ActivityContext& ctx, const Payloads& input) -> Payloads {
      auto arguments = [&]<std::size_t... I>(std::index_sequence<I...>) {
        return std::tuple<std::decay_t<Args>...>(
            ctx.converter().template from_payloads<std::decay_t<Args>>(input, static_cast<int>(I))...);
      }
      (std::index_sequence_for<Args...>{});
      auto call = [&](auto&... args) { return function(ctx, std::move(args)...); };
      if constexpr (std::is_void_v<R>) {
        std::apply(call, arguments);
        return ctx.converter().void_payloads();
      } else {
        return ctx.converter().to_payloads(std::apply(call, arguments));
      }
    };
    register_erased(type, std::move(erased), kind);
  }
  void register_erased(const std::string& type, ActivityFunction function, ActivityKind kind = ActivityKind::Blocking) {
    activities_[type] = RegisteredActivity{std::move(function), kind};
  }
  // nullptr when the type is not registered.
  const RegisteredActivity* find(const std::string& type) const {
    auto it = activities_.find(type);
    return it == activities_.end() ? nullptr : &it->second;
  }

 private:
  std::map<std::string, RegisteredActivity> activities_;
};

}  // namespace reprise
