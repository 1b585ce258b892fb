// Errors and Temporal's Failure message: what workflow code throws, what history delivers.
#include "reprise/errors.h"

#include <catch2/catch.hpp>
#include <stdexcept>

using namespace reprise;

TEST_CASE("an ApplicationError is an application failure with type, message, non-retryable flag and details") {
  ApplicationError error("card declined", "PaymentError", true, DataConverter().to_payloads(42));
  Failure f = error.to_failure();
  CHECK(f.message() == "card declined");
  CHECK(f.source() == kFailureSource);
  CHECK(f.application_failure_info().type() == "PaymentError");
  CHECK(f.application_failure_info().non_retryable());
  CHECK(DataConverter().from_payloads<int>(f.application_failure_info().details()) == 42);
  CHECK(std::string(error.what()) == "card declined");
}

TEST_CASE("a Failure from history becomes the matching typed exception, cause included") {
  Failure cause = ApplicationError("attempt 5 failed", "Boom").to_failure();
  Failure activity;
  activity.set_message("Activity task failed");
  activity.mutable_activity_failure_info()->set_activity_id("5");
  activity.mutable_activity_failure_info()->mutable_activity_type()->set_name("AlwaysFail");
  *activity.mutable_cause() = cause;
  try {
    std::rethrow_exception(failure_to_exception(activity));
  } catch (const ActivityError& e) {
    CHECK(e.activity_id() == "5");
    CHECK(e.activity_type() == "AlwaysFail");
    try {
      std::rethrow_exception(e.cause());
    } catch (const ApplicationError& inner) {
      CHECK(inner.type() == "Boom");
      CHECK(std::string(inner.what()) == "attempt 5 failed");
    }
  }
}

TEST_CASE("only Temporal failures fail the workflow, other exceptions fail the workflow task") {
  CHECK(fails_workflow(std::make_exception_ptr(ApplicationError("x"))));
  CHECK(fails_workflow(std::make_exception_ptr(CanceledError())));
  CHECK_FALSE(fails_workflow(std::make_exception_ptr(std::runtime_error("bug"))));
  CHECK_FALSE(fails_workflow(std::make_exception_ptr(NondeterminismError("x"))));
}

TEST_CASE("a plain C++ exception becomes an application failure named after its class") {
  Failure f = exception_to_failure(std::make_exception_ptr(std::out_of_range("index 7")));
  CHECK(f.message() == "index 7");
  CHECK(f.application_failure_info().type() == "std::out_of_range");
}

TEST_CASE("a nondeterminism error reads like Temporal's") {
  CHECK(std::string(NondeterminismError("details").what()) == "[TMPRL1100] Nondeterminism error: details");
}
