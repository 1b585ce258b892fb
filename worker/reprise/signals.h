// Signals as workflow code sees them: handlers, and channels to co_await.
//
// A signal reaches a run as a WorkflowExecutionSignaled event. It is not a command, so replay never
// checks it; it is data the code receives, in history order, at the start of the workflow task
// whose events include it (before any coroutine resumes). Two ways to take it:
//
//   ctx.on_signal<std::string>("approve", [&](std::string who) { approver = who; });
//   co_await ctx.wait_condition([&] { return !approver.empty(); });
//
//   auto approvals = ctx.signal_channel<std::string>("approve");
//   std::string who = co_await approvals.receive();
//
// Signals that arrive before a handler exists are kept and handed over, in order, when it is set.
// A handler runs as workflow code (same rules) and must not outlive what it captures: set handlers
// in the workflow function itself, whose frame lives as long as the run.
//
// Exercised by tests/worker/signal_test.cpp.
#pragma once

#include <deque>
#include <memory>
#include <string>

#include "reprise/workflow_coroutine.h"

namespace reprise {

class WorkflowContext;

// A queue of one signal's values, filled in history order.
template <class T>
class SignalChannel {
 public:
  SignalChannel(WorkflowContext& context, std::shared_ptr<std::deque<T>> queue)
      : context_(&context), queue_(std::move(queue)) {}

  // The next value, waiting for one if none has arrived yet.
  Workflow<T> receive();
  bool empty() const { return queue_->empty(); }

 private:
  WorkflowContext* context_;
  std::shared_ptr<std::deque<T>> queue_;
};

}  // namespace reprise
