// The errors workflow code sees and throws, and how they map to Temporal's Failure message.
//
// Two families, kept apart on purpose (STYLE.md: a small, closed set of errors):
//
//   * TemporalFailure and its subclasses stand for a Temporal `Failure` message. History delivers
//     them (an activity failed: ActivityError wrapping the ApplicationError the activity threw) and
//     workflow code throws them. A TemporalFailure that escapes the workflow function FAILS THE
//     WORKFLOW: the run closes with FailWorkflowExecution carrying to_failure().
//   * ContinueAsNewError (made by ctx.continue_as_new(args...)) is not a failure: thrown out of the
//     workflow function it closes the run with ContinueAsNewWorkflowExecution, and the server starts
//     a fresh run of the same workflow with an empty history.
//   * Anything else escaping workflow code (std::runtime_error, a DataConversionError, a bug) FAILS
//     THE WORKFLOW TASK instead (WORKFLOW_WORKER_UNHANDLED_FAILURE): the run stays open and the task
//     is retried, so a fixed deployment can carry on. That is the TypeScript SDK's rule: a bug must
//     not close a workflow that may have run for months. NondeterminismError is the one error the
//     replay engine raises itself; it too fails the task (cause NON_DETERMINISTIC_ERROR).
//
// Exercised by tests/worker/errors_test.cpp and tests/worker/completion_test.cpp.
#pragma once

#include <exception>
#include <stdexcept>
#include <string>

#include "reprise/converter.h"
#include "temporal/api/command/v1/message.pb.h"
#include "temporal/api/failure/v1/message.pb.h"

namespace reprise {

using Failure = temporal::api::failure::v1::Failure;

// `source` of the failures this library creates (TypeScript writes "TypeScriptSDK").
inline constexpr const char* kFailureSource = "RepriseCppSDK";

class TemporalFailure : public std::runtime_error {
 public:
  // A failure read from history (or built by a subclass); what() is its message.
  explicit TemporalFailure(Failure failure);
  // The Failure message this exception stands for, cause chain included.
  const Failure& to_failure() const { return failure_; }

 protected:
  Failure failure_;
};

// An error raised by workflow or activity code: a type (matched by retry policies'
// non_retryable_error_types), a message, a non-retryable flag and optional details.
class ApplicationError : public TemporalFailure {
 public:
  explicit ApplicationError(std::string message, std::string type = {}, bool non_retryable = false,
                            Payloads details = {});
  explicit ApplicationError(Failure failure) : TemporalFailure(std::move(failure)) {}
  static ApplicationError non_retryable_error(std::string message, std::string type = {}) {
    return ApplicationError(std::move(message), std::move(type), true);
  }

  const std::string& type() const { return failure_.application_failure_info().type(); }
  bool non_retryable() const { return failure_.application_failure_info().non_retryable(); }
  const Payloads& details() const { return failure_.application_failure_info().details(); }
};

// Something was cancelled: a timer or an activity the workflow cancelled (CanceledFailureInfo).
class CanceledError : public TemporalFailure {
 public:
  explicit CanceledError(std::string message = "Canceled");
  explicit CanceledError(Failure failure) : TemporalFailure(std::move(failure)) {}
};

// A timeout reported by the server (start-to-close, schedule-to-close, heartbeat, ...).
class TimeoutError : public TemporalFailure {
 public:
  explicit TimeoutError(Failure failure) : TemporalFailure(std::move(failure)) {}
  temporal::api::enums::v1::TimeoutType timeout_type() const { return failure_.timeout_failure_info().timeout_type(); }
};

// An activity ended without a result: message "Activity task failed" (or "... timed out",
// "... canceled"), its identity in ActivityFailureInfo and the reason in cause().
class ActivityError : public TemporalFailure {
 public:
  explicit ActivityError(Failure failure);
  const std::string& activity_type() const { return failure_.activity_failure_info().activity_type().name(); }
  const std::string& activity_id() const { return failure_.activity_failure_info().activity_id(); }
  temporal::api::enums::v1::RetryState retry_state() const { return failure_.activity_failure_info().retry_state(); }
  // The typed cause (ApplicationError, TimeoutError, CanceledError, ...), or nullptr.
  std::exception_ptr cause() const;
};

// The workflow code no longer produces the commands its history records. what() starts with
// Temporal's "[TMPRL1100] Nondeterminism error: " and names the history event, the command the code
// produced instead, and the file:line of the workflow code that produced it.
class NondeterminismError : public std::runtime_error {
 public:
  explicit NondeterminismError(const std::string& detail);
};

// Thrown out of a workflow function: close this run and continue as a new one (see the top).
class ContinueAsNewError : public std::exception {
 public:
  explicit ContinueAsNewError(temporal::api::command::v1::ContinueAsNewWorkflowExecutionCommandAttributes attributes)
      : attributes_(std::move(attributes)) {}
  const char* what() const noexcept override { return "continue as new"; }
  const temporal::api::command::v1::ContinueAsNewWorkflowExecutionCommandAttributes& attributes() const {
    return attributes_;
  }

 private:
  temporal::api::command::v1::ContinueAsNewWorkflowExecutionCommandAttributes attributes_;
};

// The typed exception for a Failure found in history (the cause chain stays in to_failure()).
std::exception_ptr failure_to_exception(const Failure& failure);

// Any exception as a Failure: a TemporalFailure gives its own; anything else an application
// failure whose type is the C++ class name and whose message is what().
Failure exception_to_failure(std::exception_ptr error);

// True for the exceptions that fail a workflow rather than its task (see the top of this file).
bool fails_workflow(std::exception_ptr error);

}  // namespace reprise
