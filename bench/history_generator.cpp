// The bench histories and workflows (see history_generator.h).
#include "history_generator.h"

#include <google/protobuf/util/time_util.h>

#include <stdexcept>

#include "reprise/workflow.h"

namespace reprise::bench {

namespace enums = temporal::api::enums::v1;
using google::protobuf::util::TimeUtil;
using namespace std::chrono_literals;

// ---- The workflows -------------------------------------------------------------------------------

namespace {

const ActivityOptions kStep{.start_to_close_timeout = 10s};

Workflow<int> sequential(WorkflowContext& ctx, int n) {
  for (int i = 0; i < n; ++i) co_await ctx.execute_activity<int>("step", kStep, i);
  co_return n;
}

Workflow<int> timers(WorkflowContext& ctx, int n) {
  for (int i = 0; i < n; ++i) co_await ctx.sleep(1s);
  co_return n;
}

Workflow<int> fanout(WorkflowContext& ctx, int n) {
  std::vector<ActivityHandle<int>> handles;
  handles.reserve(n);
  for (int i = 0; i < n; ++i) handles.push_back(ctx.start_activity<int>("step", kStep, i));
  for (auto& handle : handles) co_await handle;
  co_return n;
}

Workflow<int> signals(WorkflowContext& ctx, int n) {
  int ticks = 0;
  ctx.on_signal<int>("tick", [&](int) { ++ticks; });
  for (int i = 0; i < n; ++i) co_await ctx.execute_activity<int>("step", kStep, i);
  co_await ctx.wait_condition([&] { return ticks >= n; });
  co_return ticks;
}

Workflow<int> mixed(WorkflowContext& ctx, int n) {
  for (int i = 0; i < n; ++i) {
    int version = ctx.get_version("change-" + std::to_string(i), kDefaultVersion, 1);
    int value = ctx.side_effect([i] { return i; });
    co_await ctx.execute_activity<int>("step", kStep, value + version);
  }
  co_return n;
}

}  // namespace

const std::vector<std::string>& shape_names() {
  static const std::vector<std::string> names{"sequential", "timers", "fanout", "signals", "mixed"};
  return names;
}

WorkflowRegistry make_registry() {
  WorkflowRegistry registry;
  registry.register_workflow("sequential", sequential);
  registry.register_workflow("timers", timers);
  registry.register_workflow("fanout", fanout);
  registry.register_workflow("signals", signals);
  registry.register_workflow("mixed", mixed);
  return registry;
}

StartInfo start_info(const std::string& shape) { return StartInfo{"default", "bench-1", "run-1", shape, "bench"}; }

// ---- The histories -------------------------------------------------------------------------------

namespace {

const DataConverter kConverter;
constexpr std::int64_t kStartMillis = 1704067200000;  // 2024-01-01T00:00:00Z

// Appends events as the server writes them: dense ids, one millisecond apart.
class Writer {
 public:
  Writer(const std::string& workflow_type, int n) {
    auto& a = *add(enums::EVENT_TYPE_WORKFLOW_EXECUTION_STARTED).mutable_workflow_execution_started_event_attributes();
    a.mutable_workflow_type()->set_name(workflow_type);
    a.mutable_task_queue()->set_name("bench");
    a.mutable_task_queue()->set_kind(enums::TASK_QUEUE_KIND_NORMAL);
    *a.mutable_input() = kConverter.to_payloads(n);
    *a.mutable_workflow_task_timeout() = TimeUtil::SecondsToDuration(10);
    a.set_original_execution_run_id("run-1");
    a.set_first_execution_run_id("run-1");
    a.set_attempt(1);
    a.set_identity("bench-client");
  }

  void task_scheduled() {
    auto& e = add(enums::EVENT_TYPE_WORKFLOW_TASK_SCHEDULED);
    auto& a = *e.mutable_workflow_task_scheduled_event_attributes();
    a.mutable_task_queue()->set_name("bench");
    a.mutable_task_queue()->set_kind(enums::TASK_QUEUE_KIND_NORMAL);
    *a.mutable_start_to_close_timeout() = TimeUtil::SecondsToDuration(10);
    a.set_attempt(1);
    scheduled_ = e.event_id();
  }
  void task_started() {
    auto& e = add(enums::EVENT_TYPE_WORKFLOW_TASK_STARTED);
    auto& a = *e.mutable_workflow_task_started_event_attributes();
    a.set_scheduled_event_id(scheduled_);
    a.set_identity("bench-worker");
    a.set_request_id("wft-" + std::to_string(e.event_id()));
    started_ = e.event_id();
  }
  void task_completed() {
    auto& e = add(enums::EVENT_TYPE_WORKFLOW_TASK_COMPLETED);
    auto& a = *e.mutable_workflow_task_completed_event_attributes();
    a.set_scheduled_event_id(scheduled_);
    a.set_started_event_id(started_);
    a.set_identity("bench-worker");
    completed_ = e.event_id();
  }
  // A whole workflow task: Scheduled, Started, Completed.
  void workflow_task() {
    task_scheduled();
    task_started();
    task_completed();
  }

  std::int64_t activity_scheduled(int seq, int input) {
    auto& e = add(enums::EVENT_TYPE_ACTIVITY_TASK_SCHEDULED);
    auto& a = *e.mutable_activity_task_scheduled_event_attributes();
    a.set_activity_id(std::to_string(seq));
    a.mutable_activity_type()->set_name("step");
    a.mutable_task_queue()->set_name("bench");
    a.mutable_task_queue()->set_kind(enums::TASK_QUEUE_KIND_NORMAL);
    *a.mutable_input() = kConverter.to_payloads(input);
    *a.mutable_schedule_to_close_timeout() = TimeUtil::SecondsToDuration(0);
    *a.mutable_schedule_to_start_timeout() = TimeUtil::SecondsToDuration(0);
    *a.mutable_start_to_close_timeout() = TimeUtil::SecondsToDuration(10);
    *a.mutable_heartbeat_timeout() = TimeUtil::SecondsToDuration(0);
    a.set_workflow_task_completed_event_id(completed_);
    a.mutable_retry_policy();
    return e.event_id();
  }
  void activity_done(std::int64_t scheduled, int result) {
    auto& s = add(enums::EVENT_TYPE_ACTIVITY_TASK_STARTED);
    auto& sa = *s.mutable_activity_task_started_event_attributes();
    sa.set_scheduled_event_id(scheduled);
    sa.set_identity("bench-worker");
    sa.set_request_id("act-" + std::to_string(scheduled));
    sa.set_attempt(1);
    const std::int64_t started = s.event_id();
    auto& c = add(enums::EVENT_TYPE_ACTIVITY_TASK_COMPLETED);
    auto& ca = *c.mutable_activity_task_completed_event_attributes();
    *ca.mutable_result() = kConverter.to_payloads(result);
    ca.set_scheduled_event_id(scheduled);
    ca.set_started_event_id(started);
    ca.set_identity("bench-worker");
  }
  std::int64_t timer_started(int seq) {
    auto& e = add(enums::EVENT_TYPE_TIMER_STARTED);
    auto& a = *e.mutable_timer_started_event_attributes();
    a.set_timer_id(std::to_string(seq));
    *a.mutable_start_to_fire_timeout() = TimeUtil::SecondsToDuration(1);
    a.set_workflow_task_completed_event_id(completed_);
    return e.event_id();
  }
  void timer_fired(std::int64_t started, int seq) {
    auto& a = *add(enums::EVENT_TYPE_TIMER_FIRED).mutable_timer_fired_event_attributes();
    a.set_timer_id(std::to_string(seq));
    a.set_started_event_id(started);
  }
  void signal(const std::string& name, int input) {
    auto& a = *add(enums::EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED).mutable_workflow_execution_signaled_event_attributes();
    a.set_signal_name(name);
    *a.mutable_input() = kConverter.to_payloads(input);
    a.set_identity("bench-client");
  }
  // The details are written as the worker's marker commands carry them (worker/machines/marker_machine.cpp).
  void version_marker(const std::string& change_id, int version) {
    auto& a = marker("Version");
    (*a.mutable_details())["change-id"] = kConverter.to_payloads(change_id);
    (*a.mutable_details())["version"] = kConverter.to_payloads(version);
  }
  void side_effect_marker(long long id, int value) {
    auto& a = marker("SideEffect");
    (*a.mutable_details())["side-effect-id"] = kConverter.to_payloads(id);
    (*a.mutable_details())["data"] = kConverter.to_payloads(value);
  }
  void workflow_completed(int result) {
    auto& a = *add(enums::EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED).mutable_workflow_execution_completed_event_attributes();
    *a.mutable_result() = kConverter.to_payloads(result);
    a.set_workflow_task_completed_event_id(completed_);
  }

  std::vector<HistoryEvent> take() { return std::move(events_); }

 private:
  temporal::api::history::v1::MarkerRecordedEventAttributes& marker(const std::string& name) {
    auto& a = *add(enums::EVENT_TYPE_MARKER_RECORDED).mutable_marker_recorded_event_attributes();
    a.set_marker_name(name);
    a.set_workflow_task_completed_event_id(completed_);
    return a;
  }
  HistoryEvent& add(enums::EventType type) {
    HistoryEvent& e = events_.emplace_back();
    e.set_event_id(static_cast<std::int64_t>(events_.size()));
    e.set_event_type(type);
    e.set_task_id(1048576 + e.event_id());
    *e.mutable_event_time() = TimeUtil::MillisecondsToTimestamp(kStartMillis + e.event_id());
    return e;
  }

  std::vector<HistoryEvent> events_;
  std::int64_t scheduled_ = 0, started_ = 0, completed_ = 0;
};

}  // namespace

std::vector<HistoryEvent> generate_history(const std::string& shape, int n) {
  Writer w(shape, n);
  w.workflow_task();  // the first task answers with the first step's commands
  if (shape == "sequential" || shape == "signals") {
    for (int i = 0; i < n; ++i) {
      w.activity_done(w.activity_scheduled(i + 1, i), i);
      if (shape == "signals") w.signal("tick", i);
      w.workflow_task();
    }
  } else if (shape == "timers") {
    for (int i = 0; i < n; ++i) {
      w.timer_fired(w.timer_started(i + 1), i + 1);
      w.workflow_task();
    }
  } else if (shape == "fanout") {
    std::vector<std::int64_t> scheduled;
    for (int i = 0; i < n; ++i) scheduled.push_back(w.activity_scheduled(i + 1, i));
    // The first result schedules a workflow task; the others land before a worker starts it.
    for (int i = 0; i < n; ++i) {
      w.activity_done(scheduled[i], i);
      if (i == 0) w.task_scheduled();
    }
    if (n > 0) {
      w.task_started();
      w.task_completed();
    }
  } else if (shape == "mixed") {
    for (int i = 0; i < n; ++i) {
      w.version_marker("change-" + std::to_string(i), 1);
      w.side_effect_marker(i + 1, i);
      w.activity_done(w.activity_scheduled(i + 1, i + 1), i);
      w.workflow_task();
    }
  } else {
    throw std::invalid_argument("unknown shape: " + shape);
  }
  w.workflow_completed(n);
  return w.take();
}

std::vector<std::size_t> task_points(const std::vector<HistoryEvent>& events) {
  std::vector<std::size_t> points;
  for (std::size_t i = 0; i < events.size(); ++i)
    if (events[i].event_type() == enums::EVENT_TYPE_WORKFLOW_TASK_STARTED) points.push_back(i);
  return points;
}

temporal::api::history::v1::History to_history(const std::vector<HistoryEvent>& events) {
  temporal::api::history::v1::History history;
  history.mutable_events()->Reserve(static_cast<int>(events.size()));
  for (const auto& e : events) *history.add_events() = e;
  return history;
}

std::string verify(const WorkflowRegistry& registry, const std::string& shape, int n,
                   const std::vector<HistoryEvent>& events) {
  const auto points = task_points(events);
  std::span<const HistoryEvent> all(events);
  {
    WorkflowRun run(registry, start_info(shape));
    Activation a = run.activate(all);
    if (!a.ok()) return "whole history: " + a.failure->failure.message();
  }
  WorkflowRun run(registry, start_info(shape));
  std::size_t from = 0;
  Activation last;
  for (std::size_t k = 0; k < points.size(); ++k) {
    last = run.activate(all.subspan(from, points[k] + 1 - from));
    if (!last.ok()) return "task " + std::to_string(k + 1) + ": " + last.failure->failure.message();
    from = points[k] + 1;
  }
  if (!last.workflow_closed || last.commands.size() != 1 ||
      last.commands[0].command_type() != enums::COMMAND_TYPE_COMPLETE_WORKFLOW_EXECUTION)
    return "the last task did not complete the workflow";
  const auto& result = last.commands[0].complete_workflow_execution_command_attributes().result();
  if (kConverter.from_payloads<int>(result) != n) return "the workflow returned the wrong result";
  return "";
}

}  // namespace reprise::bench
