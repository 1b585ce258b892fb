// Bad history JSON (history/history_json.h): every kind of malformed input ends in HistoryJsonError,
// whose message names the problem and where it is (event index, eventId, field), and never in a
// crash or another exception type, even for truncated or corrupted real histories.
#include <catch2/catch.hpp>
#include <filesystem>
#include <random>
#include <string>

#include "history/history_json.h"
#include "json_test_support.h"

namespace {

using Catch::Matchers::Contains;
using reprise::history::history_from_json;
using reprise::history::HistoryJsonError;

// The message history_from_json throws for `text` (fails the test if it does not throw).
std::string error_for(const std::string& text) {
  try {
    (void)history_from_json(text);
  } catch (const HistoryJsonError& e) {
    return e.what();
  }
  FAIL("no HistoryJsonError for: " << text);
  return {};
}

}  // namespace

TEST_CASE("text that is not JSON is rejected as not valid JSON", "[history][json]") {
  CHECK_THAT(error_for("this is not json"), Contains("not valid JSON"));
  CHECK_THAT(error_for(""), Contains("not valid JSON"));
  CHECK_THAT(error_for(R"({"events": [{"eventId": "1",)"), Contains("not valid JSON"));
}

TEST_CASE("events that are not an array are rejected by name", "[history][json]") {
  CHECK_THAT(error_for(R"({"events": {"eventId": "1"}})"), Contains("\"events\" must be an array"));
  CHECK_THAT(error_for(R"({"events": "none"})"), Contains("\"events\" must be an array"));
}

TEST_CASE("a document that is not a history says what it found instead", "[history][json]") {
  CHECK_THAT(error_for("42"), Contains("expected an object"));
  CHECK_THAT(error_for(R"({"eventId": "1", "eventType": "TimerFired"})"), Contains("single event"));
  CHECK_THAT(error_for(R"([1, 2])"), Contains("top-level array"));
  CHECK_THAT(error_for(R"({"events": [{"eventId": "1"}, 7]})"), Contains("events[1]"));
}

TEST_CASE("an unknown event type name is rejected with the event, the field and the name", "[history][json]") {
  const std::string message = error_for(R"({"events": [
    {"eventId": "1", "eventType": "WorkflowExecutionStarted"},
    {"eventId": "2", "eventType": "WorkflowExploded"}]})");
  CHECK_THAT(message, Contains("events[1]"));
  CHECK_THAT(message, Contains("eventId \"2\""));
  CHECK_THAT(message, Contains("eventType"));
  CHECK_THAT(message, Contains("WorkflowExploded"));
  CHECK_THAT(message, Contains("temporal.api.enums.v1.EventType"));
}

TEST_CASE("an unknown name in a nested enum field is rejected with its path", "[history][json]") {
  const std::string message = error_for(R"({"events": [{"eventId": "1", "eventType": "ActivityTaskFailed",
    "activityTaskFailedEventAttributes": {"failure": {"activityFailureInfo": {"retryState": "SometimesMaybe"}}}}]})");
  CHECK_THAT(message, Contains("events[0]"));
  CHECK_THAT(message, Contains("activityTaskFailedEventAttributes.failure.activityFailureInfo.retryState"));
  CHECK_THAT(message, Contains("SometimesMaybe"));
}

TEST_CASE("an eventId that is not a number is rejected with the event and the field", "[history][json]") {
  const std::string message = error_for(R"({"events": [{"eventId": "five", "eventType": "TimerFired"}]})");
  CHECK_THAT(message, Contains("events[0]"));
  CHECK_THAT(message, Contains("event_id"));  // protobuf's parser names fields by their proto names
  CHECK_THAT(message, Contains("invalid value \"five\""));
}

TEST_CASE("values of the wrong type are rejected with the parser's reason", "[history][json]") {
  CHECK_THAT(error_for(R"({"events": [{"eventId": "1", "eventTime": "yesterday"}]})"), Contains("Invalid time format"));
  CHECK_THAT(
      error_for(R"({"events": [{"eventId": "1", "timerStartedEventAttributes": {"startToFireTimeout": "soon"}}]})"),
      Contains("timer_started_event_attributes.start_to_fire_timeout"));
  CHECK_THAT(error_for(R"({"events": [{"eventId": "1", "workflowExecutionStartedEventAttributes": {
               "input": {"payloads": [{"data": "!!!"}]}}}]})"),
             Contains("payloads[0].data"));  // not base64
  CHECK_THAT(error_for(R"({"events": [{"eventId": {"nested": true}}]})"), Contains("event_id"));
}

TEST_CASE("absurdly deep nesting is refused instead of exhausting the stack", "[history][json]") {
  const std::string deep_array(100000, '[');
  CHECK_THAT(error_for(deep_array), Contains("deeper than"));
  std::string deep_unknown = R"({"events": [{"eventId": "1", "future": )";
  for (int i = 0; i < 100000; ++i) deep_unknown += R"({"a": )";
  deep_unknown += "1";
  deep_unknown += std::string(100000, '}');
  deep_unknown += "}]}";
  CHECK_THAT(error_for(deep_unknown), Contains("deeper than"));
}

#ifdef REPRISE_HISTORIES_DIR
TEST_CASE("a recorded history cut short or corrupted anywhere fails only with HistoryJsonError", "[history][json]") {
  const std::string text = reprise::history::testing::read_file(std::filesystem::path(REPRISE_HISTORIES_DIR) /
                                                                "sdk-java__testChildWorkflowRetryHistory.json");
  for (size_t cut = 0; cut < text.size(); cut += 7) {
    INFO("cut at byte " << cut);
    try {
      (void)history_from_json(std::string_view(text).substr(0, cut));
    } catch (const HistoryJsonError&) {
    }
  }
  std::mt19937 rng(20240611);
  for (int round = 0; round < 3000; ++round) {
    std::string mutated = text;
    for (int k = 0; k < 3; ++k) mutated[rng() % mutated.size()] = static_cast<char>(rng() % 256);
    INFO("mutation round " << round);
    try {
      (void)history_from_json(mutated);
    } catch (const HistoryJsonError&) {
    }
  }
  SUCCEED("no crash and no other exception type");
}
#endif
