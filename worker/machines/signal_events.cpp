// SignalInbox (see signal_events.h).
// Exercised by tests/worker/signal_test.cpp.
#include "machines/signal_events.h"

namespace reprise::detail {

void SignalInbox::on_signaled(const temporal::api::history::v1::HistoryEvent& event) {
  const auto& signaled = event.workflow_execution_signaled_event_attributes();
  arrived_.emplace_back(signaled.signal_name(), signaled.input());
}

void SignalInbox::deliver() {
  while (!arrived_.empty()) {
    auto [name, input] = std::move(arrived_.front());
    arrived_.pop_front();
    dispatch(name, input);
  }
}

void SignalInbox::set_handler(const std::string& signal_name, Handler handler) {
  handlers_[signal_name] = std::move(handler);
  auto kept = kept_.find(signal_name);
  if (kept == kept_.end()) return;
  std::deque<temporal::api::common::v1::Payloads> inputs = std::move(kept->second);
  kept_.erase(kept);
  for (const auto& input : inputs) dispatch(signal_name, input);
}

void SignalInbox::dispatch(const std::string& signal_name, const temporal::api::common::v1::Payloads& input) {
  auto it = handlers_.find(signal_name);
  if (it == handlers_.end()) {
    kept_[signal_name].push_back(input);
    return;
  }
  Handler handler = it->second;  // a copy: the handler may replace itself while running
  handler(input);
}

}  // namespace reprise::detail
