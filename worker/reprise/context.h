// WorkflowContext: everything workflow code may do, handed to the workflow function.
//
// Each call that makes the server do something (start an activity or a timer, record a marker)
// produces a *command*; the replay engine pairs commands, in order, with the events history recorded
// for them (see reprise/workflow.h). So every such call records the file:line it was written on
// (a defaulted std::source_location, or NameAt for calls with variable arguments): when history and
// code disagree, the error names that line.
//
// Nothing here reads a clock, a random device or the network: now() is the time of the workflow task
// being processed, random() and uuid() come from a generator seeded with the run id, side_effect()
// records its value in history. That is what makes the same code give the same commands on replay.
//
// Contract: call only from workflow code of the run that owns this context, on the thread running
// it. Exercised by tests/worker/context_test.cpp and most tests in tests/worker/.
#pragma once

#include <chrono>
#include <concepts>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <source_location>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>

#include "reprise/combinators.h"
#include "reprise/converter.h"
#include "reprise/errors.h"
#include "reprise/logger.h"
#include "reprise/operation.h"
#include "reprise/options.h"
#include "reprise/signals.h"
#include "reprise/workflow_coroutine.h"

namespace reprise {

namespace detail {
class WorkflowMachines;
}

// A name written in workflow code (an activity type) and the line it was written on. Calls taking
// a variable number of arguments use it to learn their caller's file:line, because a defaulted
// std::source_location parameter cannot follow a parameter pack.
struct NameAt {
  template <class S>
  requires std::convertible_to<const S&, std::string_view> NameAt(
      const S& name, std::source_location where = std::source_location::current())
      : name(std::string_view(name)), where(where) {}
  std::string name;
  std::source_location where;
};

// Facts about the run, from the first workflow task and WorkflowExecutionStarted.
struct WorkflowInfo {
  std::string namespace_name;
  std::string workflow_id;
  std::string run_id;
  std::string workflow_type;
  std::string task_queue;
  std::string original_execution_run_id;  // seeds random() and uuid()
  std::string first_execution_run_id;
  int attempt = 1;
};

// get_version()'s answer for code paths that existed before the change (Go's workflow.DefaultVersion).
inline constexpr int kDefaultVersion = -1;

class WorkflowContext {
 public:
  explicit WorkflowContext(detail::WorkflowMachines& machines);
  WorkflowContext(const WorkflowContext&) = delete;
  WorkflowContext& operator=(const WorkflowContext&) = delete;

  const WorkflowInfo& info() const;

  // ---- Activities: ScheduleActivityTask, replay compares activity id and type. ----
  // Starts an activity now and returns its handle; co_await the handle for the T result (or an
  // ActivityError). Arguments are converted with the run's DataConverter.
  template <class T = void, class... Args>
  ActivityHandle<T> start_activity(NameAt activity_type, const ActivityOptions& options, const Args&... args) {
    return ActivityHandle<T>(schedule_activity(activity_type, options, converter().to_payloads(args...)), &converter());
  }
  // The same call, named for the common case of awaiting it at once:
  //   auto greeting = co_await ctx.execute_activity<std::string>("compose_greeting", {...}, name);
  template <class T = void, class... Args>
  ActivityHandle<T> execute_activity(NameAt activity_type, const ActivityOptions& options, const Args&... args) {
    return start_activity<T>(std::move(activity_type), options, args...);
  }

  // ---- Durable timers: StartTimer / CancelTimer, replay compares the timer id. ----
  TimerHandle sleep(Duration duration, std::source_location where = std::source_location::current());
  TimerHandle start_timer(Duration duration, TimerOptions options,
                          std::source_location where = std::source_location::current());

  // ---- Deterministic time and randomness ----
  // The start time of the workflow task being processed (the WorkflowTaskStarted event's time).
  std::chrono::system_clock::time_point now() const;
  // Uniform in [0, 1), from a generator seeded with info().original_execution_run_id.
  double random();
  // A version-4 UUID drawn from the same generator.
  std::string uuid();

  // ---- Markers: RecordMarker, replay compares the marker name and its id. ----
  // Runs `produce` once, when the code first runs, and records its value in a "SideEffect" marker;
  // on replay returns the recorded value without calling `produce`.
  template <class F>
  std::invoke_result_t<F&> side_effect(F&& produce, std::source_location where = std::source_location::current()) {
    using T = std::invoke_result_t<F&>;
    Payloads recorded = side_effect_payloads([&] { return converter().to_payloads(std::invoke(produce)); }, where);
    return converter().from_payloads<T>(recorded);
  }
  // Go's GetVersion: on first run returns max_supported and records a "Version" marker; on replay
  // returns the recorded version, or kDefaultVersion if history has no marker for change_id.
  // Throws NondeterminismError if that version is outside [min_supported, max_supported].
  int get_version(std::string_view change_id, int min_supported, int max_supported,
                  std::source_location where = std::source_location::current());
  // Temporal core's patched(): true (and a "core_patch" marker) for runs that execute the new code;
  // false on replay of histories recorded before the patch.
  bool patched(std::string_view patch_id, std::source_location where = std::source_location::current());

  // ---- Conditions ----
  // co_await until predicate() is true (checked whenever the workflow's coroutines are all blocked).
  ConditionAwaiter wait_condition(std::function<bool()> predicate,
                                  std::source_location where = std::source_location::current());
  // The same with a durable timeout: true if the predicate held, false if the timer fired first.
  Workflow<bool> wait_condition(std::function<bool()> predicate, Duration timeout,
                                std::source_location where = std::source_location::current());

  // ---- Signals (see reprise/signals.h) ----
  template <class... Args, class F>
  void on_signal(const std::string& signal_name, F handler) {
    set_signal_handler(signal_name, [this, handler = std::move(handler)](const Payloads& input) mutable {
      call_with_decoded<std::decay_t<Args>...>(handler, input, std::index_sequence_for<Args...>{});
    });
  }
  template <class T>
  SignalChannel<T> signal_channel(const std::string& signal_name) {
    auto queue = std::make_shared<std::deque<T>>();
    on_signal<T>(signal_name, [queue](T value) { queue->push_back(std::move(value)); });
    return SignalChannel<T>(*this, queue);
  }

  // ---- Continue-as-new ----
  // The exception that, thrown out of the workflow function, ends this run and starts a new run of
  // the same workflow type on the same task queue with `args` as input:
  //   if (rounds_done == 100) throw ctx.continue_as_new(cursor);
  template <class... Args>
  [[nodiscard]] ContinueAsNewError continue_as_new(const Args&... args) const {
    return continue_as_new_error(converter().to_payloads(args...));
  }

  // ---- Cancellation of the workflow ----
  // True once somebody asked to cancel this workflow (RequestCancelWorkflowExecution, e.g.
  // `reprise workflow cancel`). The workflow decides what that means: typically it cleans up, then
  // throws reprise::CanceledError, which ends the run as Canceled (CancelWorkflowExecution). It can
  // wait for it like for anything else:
  //   co_await ctx.wait_condition([&] { return ctx.cancel_requested(); });
  // (Temporal's TypeScript SDK cancels the workflow's pending activities and timers by itself; here
  // that is left to the code, with handle.cancel().)
  bool cancel_requested() const;

  // ---- Replay awareness ----
  // True while the code is re-running a workflow task that history already records as completed.
  bool is_replaying() const;
  WorkflowLogger& logger() { return logger_; }
  const DataConverter& converter() const;

 private:
  detail::OperationRef schedule_activity(const NameAt& activity_type, const ActivityOptions& options, Payloads input);
  ContinueAsNewError continue_as_new_error(Payloads input) const;
  Payloads side_effect_payloads(const std::function<Payloads()>& produce, std::source_location where);
  void set_signal_handler(const std::string& signal_name, std::function<void(const Payloads&)> handler);

  template <class... Args, class F, std::size_t... I>
  void call_with_decoded(F& handler, const Payloads& input, std::index_sequence<I...>) {
    handler(converter().from_payloads<Args>(input, static_cast<int>(I))...);
  }

  friend class WorkflowLogger;  // reads the replay flag and the log sink
  detail::WorkflowMachines& machines_;
  WorkflowLogger logger_{*this};
};

template <class T>
Workflow<T> SignalChannel<T>::receive() {
  auto queue = queue_;
  // Named, not written inside the co_await: g++ 12 destroys a temporary lambda with non-trivial
  // captures twice when it appears in a co_await expression (see reprise/workflow.h, the rules).
  std::function<bool()> has_value = [queue] { return !queue->empty(); };
  co_await context_->wait_condition(has_value);
  T value = std::move(queue->front());
  queue->pop_front();
  co_return value;
}

}  // namespace reprise
