// Appending, buffering and flushing events of one transaction (see execution_update.h).
#include "execution_update.h"

#include <atomic>

#include "time_util.h"

namespace reprise::engine {

namespace {
// Temporal's task_id orders events across a shard; ours only has to grow, also across restarts.
std::atomic<int64_t> next_task_id{0};
int64_t take_task_id(int64_t now_ms) {
  int64_t expected = next_task_id.load();
  while (true) {
    int64_t next = std::max(expected + 1, now_ms * 1000);
    if (next_task_id.compare_exchange_weak(expected, next)) return next;
  }
}

bool needs_attention(EventType type) {
  switch (type) {
    case enums::EVENT_TYPE_ACTIVITY_TASK_STARTED:
      return false;  // always followed by its close event, which does need attention
    default:
      return is_bufferable_type(type);
  }
}
}  // namespace

int64_t ExecutionUpdate::append(HistoryEvent event) {
  if (!event.has_event_time()) *event.mutable_event_time() = timestamp_from_ms(now_ms_);
  event.set_task_id(take_task_id(now_ms_));
  if (needs_attention(event.event_type())) needs_workflow_task = true;
  if (is_bufferable(event) && workflow_task_in_flight(state_)) {
    event.set_event_id(0);
    apply_event(state_, event);  // its effect counts now; its id comes at flush
    *state_.add_buffered_events() = std::move(event);
    ++buffered_;
    return 0;
  }
  event.set_event_id(state_.next_event_id());
  apply_event(state_, event);
  int64_t id = event.event_id();
  events_.push_back(std::move(event));
  return id;
}

void ExecutionUpdate::flush_buffer() {
  if (state_.buffered_events_size() == 0) return;
  for (auto& e : flush_buffered_events(state_)) events_.push_back(std::move(e));
  touched_ = true;
}

bool ExecutionUpdate::drop_buffered_timer_fired(const std::string& timer_id) {
  auto* buffered = state_.mutable_buffered_events();
  for (int i = 0; i < buffered->size(); ++i) {
    const auto& e = buffered->Get(i);
    if (e.event_type() == enums::EVENT_TYPE_TIMER_FIRED && e.timer_fired_event_attributes().timer_id() == timer_id) {
      buffered->DeleteSubrange(i, 1);
      touched_ = true;
      return true;
    }
  }
  return false;
}

ExecutionUpdate::~ExecutionUpdate() = default;

NewRun& ExecutionUpdate::start_successor(history::ExecutionKey key) {
  successor_ = std::make_unique<NewRun>(now_ms_);
  auto* info = successor_->state.mutable_execution();
  info->set_namespace_(key.namespace_);
  info->set_workflow_id(key.workflow_id);
  info->set_run_id(key.run_id);
  successor_->state.set_next_event_id(1);
  successor_->update.set_key(std::move(key));
  return *successor_;
}

void ExecutionUpdate::add_timer(history::TimerKind kind, int64_t fire_time_ms, int64_t event_id, int32_t attempt,
                                std::string timer_id) {
  history::TimerRow row;
  row.fire_time_ms = fire_time_ms;
  row.execution = key_;
  row.kind = kind;
  row.event_id = event_id;
  row.attempt = attempt;
  row.timer_id = std::move(timer_id);
  timers_.push_back(std::move(row));
}

}  // namespace reprise::engine
