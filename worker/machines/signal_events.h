// SignalInbox: signals are events, not commands, so no state machine matches them; they are data
// handed to workflow code, in history order.
//
//   input                              | effect
//   -----------------------------------+-------------------------------------------------------------
//   WorkflowExecutionSignaled          | queued until workflow code next runs
//   a code run starts (WFT started)    | each queued signal goes to its handler, in history order, or
//                                      | is kept until a handler for its name is set
//   code: on_signal(name, handler)     | kept signals of that name go to the handler at once, in order
//   the workflow closes                | handlers are dropped (they may point into freed frames)
//
// Delivering at the start of a code run, not while events are applied, keeps handlers inside
// workflow code: they see the task's time and replay flag, and may start activities or timers.
// Exercised by tests/worker/signal_test.cpp.
#pragma once

#include <deque>
#include <functional>
#include <map>
#include <string>
#include <utility>

#include "temporal/api/common/v1/message.pb.h"
#include "temporal/api/history/v1/message.pb.h"

namespace reprise::detail {

class SignalInbox {
 public:
  using Handler = std::function<void(const temporal::api::common::v1::Payloads& input)>;

  void on_signaled(const temporal::api::history::v1::HistoryEvent& event);
  // Hands every queued signal to its handler, or keeps it. Handler exceptions propagate.
  void deliver();
  void set_handler(const std::string& signal_name, Handler handler);
  void clear_handlers() { handlers_.clear(); }

 private:
  void dispatch(const std::string& signal_name, const temporal::api::common::v1::Payloads& input);

  std::deque<std::pair<std::string, temporal::api::common::v1::Payloads>> arrived_;
  std::map<std::string, std::deque<temporal::api::common::v1::Payloads>> kept_;
  std::map<std::string, Handler> handlers_;
};

}  // namespace reprise::detail
