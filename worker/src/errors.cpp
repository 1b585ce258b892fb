// Failure <-> exception mapping (see reprise/errors.h).
// Exercised by tests/worker/errors_test.cpp.
#include "reprise/errors.h"

#include <cxxabi.h>

#include <cstdlib>
#include <memory>
#include <typeinfo>

namespace reprise {

namespace {

Failure application_failure(std::string message, std::string type, bool non_retryable, Payloads details) {
  Failure failure;
  failure.set_message(std::move(message));
  failure.set_source(kFailureSource);
  auto* info = failure.mutable_application_failure_info();
  info->set_type(std::move(type));
  info->set_non_retryable(non_retryable);
  if (details.payloads_size() > 0) *info->mutable_details() = std::move(details);
  return failure;
}

// "std::runtime_error" rather than "St13runtime_error".
std::string class_name(const std::type_info& type) {
  int status = 0;
  std::unique_ptr<char, void (*)(void*)> name(abi::__cxa_demangle(type.name(), nullptr, nullptr, &status), std::free);
  return status == 0 && name ? name.get() : type.name();
}

}  // namespace

TemporalFailure::TemporalFailure(Failure failure)
    : std::runtime_error(failure.message()), failure_(std::move(failure)) {}

ApplicationError::ApplicationError(std::string message, std::string type, bool non_retryable, Payloads details)
    : TemporalFailure(application_failure(std::move(message), std::move(type), non_retryable, std::move(details))) {}

CanceledError::CanceledError(std::string message)
    : TemporalFailure([&] {
        Failure failure;
        failure.set_message(std::move(message));
        failure.set_source(kFailureSource);
        failure.mutable_canceled_failure_info();
        return failure;
      }()) {}

ActivityError::ActivityError(Failure failure) : TemporalFailure(std::move(failure)) {}

std::exception_ptr ActivityError::cause() const {
  if (!failure_.has_cause()) return nullptr;
  return failure_to_exception(failure_.cause());
}

NondeterminismError::NondeterminismError(const std::string& detail)
    : std::runtime_error("[TMPRL1100] Nondeterminism error: " + detail) {}

std::exception_ptr failure_to_exception(const Failure& failure) {
  switch (failure.failure_info_case()) {
    case Failure::kApplicationFailureInfo:
      return std::make_exception_ptr(ApplicationError(failure));
    case Failure::kCanceledFailureInfo:
      return std::make_exception_ptr(CanceledError(failure));
    case Failure::kTimeoutFailureInfo:
      return std::make_exception_ptr(TimeoutError(failure));
    case Failure::kActivityFailureInfo:
      return std::make_exception_ptr(ActivityError(failure));
    default:  // server, terminated, child workflow, ...: the generic form keeps everything
      return std::make_exception_ptr(TemporalFailure(failure));
  }
}

Failure exception_to_failure(std::exception_ptr error) {
  try {
    std::rethrow_exception(error);
  } catch (const TemporalFailure& e) {
    return e.to_failure();
  } catch (const std::exception& e) {
    return application_failure(e.what(), class_name(typeid(e)), false, {});
  } catch (...) {
    return application_failure("unknown exception (not derived from std::exception)", "unknown", false, {});
  }
}

bool fails_workflow(std::exception_ptr error) {
  try {
    std::rethrow_exception(error);
  } catch (const TemporalFailure&) {
    return true;
  } catch (...) {
    return false;
  }
}

}  // namespace reprise
