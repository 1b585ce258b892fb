// The two history JSON dialects (history/history_json.h): the short enum names of old tctl/UI
// exports ("WorkflowExecutionStarted", "Normal", "MaximumAttemptsReached") load to the same message
// as proto3 canonical JSON; the ways a file may wrap its events all work; fields newer than our
// protos are skipped; strings that are not enums are left alone; single events print on their own.
#include <google/protobuf/util/message_differencer.h>

#include <catch2/catch.hpp>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <string>

#include "history/history_json.h"
#include "json_test_support.h"

namespace {

namespace fs = std::filesystem;
namespace enums = temporal::api::enums::v1;
using google::protobuf::util::MessageDifferencer;
using reprise::history::event_to_json;
using reprise::history::history_from_json;
using reprise::history::history_to_json;
using reprise::history::testing::read_file;
using temporal::api::history::v1::History;

// One event of each kind that carries an enum other than eventType, in the short dialect...
constexpr const char* kShortEnums = R"({"events": [
  {"eventId": "1", "eventType": "WorkflowExecutionStarted", "workflowExecutionStartedEventAttributes": {
     "taskQueue": {"name": "Normal", "kind": "Sticky"}, "initiator": "CronSchedule"}},
  {"eventId": "2", "eventType": "WorkflowTaskFailed", "workflowTaskFailedEventAttributes": {
     "cause": "UnhandledCommand", "failure": {"message": "m", "source": "GoSDK"}}},
  {"eventId": "3", "eventType": "ActivityTaskTimedOut", "activityTaskTimedOutEventAttributes": {
     "failure": {"message": "activity timeout", "timeoutFailureInfo": {"timeoutType": "ScheduleToClose"}},
     "retryState": "Timeout"}},
  {"eventId": "4", "eventType": "StartChildWorkflowExecutionInitiated",
   "startChildWorkflowExecutionInitiatedEventAttributes": {
     "parentClosePolicy": "RequestCancel", "workflowIdReusePolicy": "AllowDuplicateFailedOnly"}},
  {"eventId": "5", "eventType": "StartChildWorkflowExecutionFailed",
   "startChildWorkflowExecutionFailedEventAttributes": {"cause": "WorkflowAlreadyExists"}},
  {"eventId": "6", "eventType": "ChildWorkflowExecutionFailed", "childWorkflowExecutionFailedEventAttributes": {
     "retryState": "NonRetryableFailure",
     "failure": {"childWorkflowExecutionFailureInfo": {"retryState": "InProgress"}}}},
  {"eventId": "7", "eventType": "WorkflowExecutionContinuedAsNew",
   "workflowExecutionContinuedAsNewEventAttributes": {"initiator": "Retry"}}
]})";

// ...and the same events as proto3 canonical JSON, written out by hand.
constexpr const char* kFullEnums = R"({"events": [
  {"eventId": "1", "eventType": "EVENT_TYPE_WORKFLOW_EXECUTION_STARTED", "workflowExecutionStartedEventAttributes": {
     "taskQueue": {"name": "Normal", "kind": "TASK_QUEUE_KIND_STICKY"}, "initiator": "CONTINUE_AS_NEW_INITIATOR_CRON_SCHEDULE"}},
  {"eventId": "2", "eventType": "EVENT_TYPE_WORKFLOW_TASK_FAILED", "workflowTaskFailedEventAttributes": {
     "cause": "WORKFLOW_TASK_FAILED_CAUSE_UNHANDLED_COMMAND", "failure": {"message": "m", "source": "GoSDK"}}},
  {"eventId": "3", "eventType": "EVENT_TYPE_ACTIVITY_TASK_TIMED_OUT", "activityTaskTimedOutEventAttributes": {
     "failure": {"message": "activity timeout", "timeoutFailureInfo": {"timeoutType": "TIMEOUT_TYPE_SCHEDULE_TO_CLOSE"}},
     "retryState": "RETRY_STATE_TIMEOUT"}},
  {"eventId": "4", "eventType": "EVENT_TYPE_START_CHILD_WORKFLOW_EXECUTION_INITIATED",
   "startChildWorkflowExecutionInitiatedEventAttributes": {
     "parentClosePolicy": "PARENT_CLOSE_POLICY_REQUEST_CANCEL",
     "workflowIdReusePolicy": "WORKFLOW_ID_REUSE_POLICY_ALLOW_DUPLICATE_FAILED_ONLY"}},
  {"eventId": "5", "eventType": "EVENT_TYPE_START_CHILD_WORKFLOW_EXECUTION_FAILED",
   "startChildWorkflowExecutionFailedEventAttributes": {"cause": "START_CHILD_WORKFLOW_EXECUTION_FAILED_CAUSE_WORKFLOW_ALREADY_EXISTS"}},
  {"eventId": "6", "eventType": "EVENT_TYPE_CHILD_WORKFLOW_EXECUTION_FAILED", "childWorkflowExecutionFailedEventAttributes": {
     "retryState": "RETRY_STATE_NON_RETRYABLE_FAILURE",
     "failure": {"childWorkflowExecutionFailureInfo": {"retryState": "RETRY_STATE_IN_PROGRESS"}}}},
  {"eventId": "7", "eventType": "EVENT_TYPE_WORKFLOW_EXECUTION_CONTINUED_AS_NEW",
   "workflowExecutionContinuedAsNewEventAttributes": {"initiator": "CONTINUE_AS_NEW_INITIATOR_RETRY"}}
]})";

constexpr const char* kTwoEvents = R"({"events": [
  {"eventId": "1", "eventTime": "2024-01-02T03:04:05.5Z", "eventType": "EVENT_TYPE_WORKFLOW_EXECUTION_STARTED",
   "workflowExecutionStartedEventAttributes": {"workflowType": {"name": "Greet"}, "workflowRunTimeout": "0.5s"}},
  {"eventId": "2", "eventType": "EVENT_TYPE_TIMER_STARTED",
   "timerStartedEventAttributes": {"timerId": "t1", "startToFireTimeout": "10s"}}
]})";

}  // namespace

TEST_CASE("short enum names in every enum-typed field load to the full values", "[history][json]") {
  const History h = history_from_json(kShortEnums);
  REQUIRE(h.events_size() == 7);

  CHECK(h.events(0).event_type() == enums::EVENT_TYPE_WORKFLOW_EXECUTION_STARTED);
  CHECK(h.events(0).workflow_execution_started_event_attributes().task_queue().kind() == enums::TASK_QUEUE_KIND_STICKY);
  CHECK(h.events(0).workflow_execution_started_event_attributes().initiator() ==
        enums::CONTINUE_AS_NEW_INITIATOR_CRON_SCHEDULE);
  CHECK(h.events(1).workflow_task_failed_event_attributes().cause() ==
        enums::WORKFLOW_TASK_FAILED_CAUSE_UNHANDLED_COMMAND);
  CHECK(h.events(2).activity_task_timed_out_event_attributes().failure().timeout_failure_info().timeout_type() ==
        enums::TIMEOUT_TYPE_SCHEDULE_TO_CLOSE);
  CHECK(h.events(2).activity_task_timed_out_event_attributes().retry_state() == enums::RETRY_STATE_TIMEOUT);
  CHECK(h.events(3).start_child_workflow_execution_initiated_event_attributes().parent_close_policy() ==
        enums::PARENT_CLOSE_POLICY_REQUEST_CANCEL);
  CHECK(h.events(3).start_child_workflow_execution_initiated_event_attributes().workflow_id_reuse_policy() ==
        enums::WORKFLOW_ID_REUSE_POLICY_ALLOW_DUPLICATE_FAILED_ONLY);
  CHECK(h.events(4).start_child_workflow_execution_failed_event_attributes().cause() ==
        enums::START_CHILD_WORKFLOW_EXECUTION_FAILED_CAUSE_WORKFLOW_ALREADY_EXISTS);
  CHECK(h.events(5).child_workflow_execution_failed_event_attributes().retry_state() ==
        enums::RETRY_STATE_NON_RETRYABLE_FAILURE);
  CHECK(h.events(5)
            .child_workflow_execution_failed_event_attributes()
            .failure()
            .child_workflow_execution_failure_info()
            .retry_state() == enums::RETRY_STATE_IN_PROGRESS);
  CHECK(h.events(6).workflow_execution_continued_as_new_event_attributes().initiator() ==
        enums::CONTINUE_AS_NEW_INITIATOR_RETRY);
}

TEST_CASE("the short dialect and hand-written canonical JSON of the same events give equal messages",
          "[history][json]") {
  CHECK(MessageDifferencer::Equals(history_from_json(kShortEnums), history_from_json(kFullEnums)));
}

TEST_CASE("strings that are not enum fields are kept as written, even when they look like enum names",
          "[history][json]") {
  const History h = history_from_json(kShortEnums);
  // taskQueue.name is a string field: "Normal" is a queue name here, not TASK_QUEUE_KIND_NORMAL.
  CHECK(h.events(0).workflow_execution_started_event_attributes().task_queue().name() == "Normal");
  CHECK(h.events(1).workflow_task_failed_event_attributes().failure().source() == "GoSDK");
}

TEST_CASE("canonical names, short names and enum numbers may be mixed in one file", "[history][json]") {
  const History h = history_from_json(R"({"events": [
    {"eventId": "1", "eventType": 1},
    {"eventId": "2", "eventType": "WorkflowTaskScheduled"},
    {"eventId": "3", "eventType": "EVENT_TYPE_WORKFLOW_TASK_STARTED"}]})");
  REQUIRE(h.events_size() == 3);
  CHECK(h.events(0).event_type() == enums::EVENT_TYPE_WORKFLOW_EXECUTION_STARTED);
  CHECK(h.events(1).event_type() == enums::EVENT_TYPE_WORKFLOW_TASK_SCHEDULED);
  CHECK(h.events(2).event_type() == enums::EVENT_TYPE_WORKFLOW_TASK_STARTED);
}

TEST_CASE("a history loads the same bare, wrapped in an array, or as a plain array of events", "[history][json]") {
  const History bare = history_from_json(kTwoEvents);
  const auto events = nlohmann::json::parse(kTwoEvents).at("events");
  const History wrapped = history_from_json(nlohmann::json::array({nlohmann::json::parse(kTwoEvents)}).dump());
  const History plain_array = history_from_json(events.dump());

  REQUIRE(bare.events_size() == 2);
  CHECK(MessageDifferencer::Equals(bare, wrapped));
  CHECK(MessageDifferencer::Equals(bare, plain_array));
}

TEST_CASE("an empty history is {} and loads back empty", "[history][json]") {
  CHECK(history_from_json("{}").events_size() == 0);
  CHECK(history_from_json(R"({"events": []})").events_size() == 0);
  CHECK(history_from_json(history_to_json(History{})).events_size() == 0);
}

TEST_CASE("fields our protos do not know, at any depth, are skipped", "[history][json]") {
  const History with_unknown = history_from_json(R"({"events": [
    {"eventId": "1", "eventType": "EVENT_TYPE_WORKFLOW_EXECUTION_STARTED", "someFutureField": {"x": [1, 2]},
     "workflowExecutionStartedEventAttributes": {"workflowType": {"name": "Greet", "futureFlag": true},
       "versioningOverride": {"pinned": {"version": "v2", "behavior": "PINNED_BEHAVIOR_UNKNOWN_NAME"}}}},
    {"eventId": "2", "eventType": "EVENT_TYPE_TIMER_STARTED",
     "timerStartedEventAttributes": {"timerId": "t1", "startToFireTimeout": "10s"}}],
    "nextPageToken": "abc"})");
  const History without = history_from_json(R"({"events": [
    {"eventId": "1", "eventType": "EVENT_TYPE_WORKFLOW_EXECUTION_STARTED",
     "workflowExecutionStartedEventAttributes": {"workflowType": {"name": "Greet"}}},
    {"eventId": "2", "eventType": "EVENT_TYPE_TIMER_STARTED",
     "timerStartedEventAttributes": {"timerId": "t1", "startToFireTimeout": "10s"}}]})");
  CHECK(MessageDifferencer::Equals(with_unknown, without));
}

TEST_CASE("proto field names (snake_case) are accepted as well as JSON names", "[history][json]") {
  const History h = history_from_json(R"({"events": [{"event_id": "1", "event_type": "TimerFired",
    "timer_fired_event_attributes": {"timer_id": "t1", "started_event_id": "5"}}]})");
  REQUIRE(h.events_size() == 1);
  CHECK(h.events(0).event_type() == enums::EVENT_TYPE_TIMER_FIRED);
  CHECK(h.events(0).timer_fired_event_attributes().started_event_id() == 5);
}

TEST_CASE("durations and timestamps print as \"0.5s\" and RFC 3339", "[history][json]") {
  const auto out = nlohmann::json::parse(history_to_json(history_from_json(kTwoEvents)));
  CHECK(out["events"][0]["eventTime"] == "2024-01-02T03:04:05.500Z");
  CHECK(out["events"][0]["workflowExecutionStartedEventAttributes"]["workflowRunTimeout"] == "0.500s");
  CHECK(out["events"][1]["timerStartedEventAttributes"]["startToFireTimeout"] == "10s");
}

TEST_CASE("compact export is one line, pretty export is indented, and both hold the same JSON", "[history][json]") {
  const History h = history_from_json(kTwoEvents);
  const std::string compact = history_to_json(h, false);
  const std::string pretty = history_to_json(h);
  CHECK(compact.find('\n') == std::string::npos);
  CHECK(compact.starts_with(R"({"events":[{"eventId":"1",)"));
  // The CLI's layout: two-space indent, "key": value.
  CHECK(pretty.starts_with("{\n  \"events\": [\n    {\n      \"eventId\": \"1\",\n"));
  CHECK(nlohmann::json::parse(compact) == nlohmann::json::parse(pretty));
}

TEST_CASE("strings print as written, with <, > and & unescaped like the CLI prints them", "[history][json]") {
  const History h = history_from_json(R"({"events": [{"eventId": "1", "eventType": "WorkflowExecutionSignaled",
    "workflowExecutionSignaledEventAttributes": {"signalName": "<go & stop> \"now\" é"}}]})");
  const std::string out = history_to_json(h, false);
  CHECK(out.find(R"("signalName":"<go & stop> \"now\" é")") != std::string::npos);
  CHECK(h.events(0).workflow_execution_signaled_event_attributes().signal_name() == "<go & stop> \"now\" é");
}

TEST_CASE("a single event prints on its own, without the events wrapper", "[history][json]") {
  const History h = history_from_json(kTwoEvents);
  const auto event = nlohmann::json::parse(event_to_json(h.events(1)));
  CHECK_FALSE(event.contains("events"));
  CHECK(event.at("eventId") == "2");
  CHECK(event.at("eventType") == "EVENT_TYPE_TIMER_STARTED");
  CHECK(event.at("timerStartedEventAttributes").at("timerId") == "t1");
  CHECK(event_to_json(h.events(1), false).find('\n') == std::string::npos);
}

#ifdef REPRISE_HISTORIES_DIR
TEST_CASE("a short-dialect recorded history and its canonical conversion load to the same message", "[history][json]") {
  // features__activity_retry_on_error: short eventType/kind/retryState names, wrapped in an array.
  // json_retry_on_error.canonical.json is the same history rewritten (by a separate script, not by
  // this loader) with full enum names and without the array.
  const History short_form = history_from_json(
      read_file(fs::path(REPRISE_HISTORIES_DIR) / "features__activity_retry_on_error__history.go.v1.5.0.json"));
  const History canonical =
      history_from_json(read_file(fs::path(REPRISE_JSON_TEST_DATA_DIR) / "json_retry_on_error.canonical.json"));

  REQUIRE(short_form.events_size() == 11);
  CHECK(MessageDifferencer::Equals(short_form, canonical));
  CHECK(short_form.events(6).activity_task_failed_event_attributes().retry_state() ==
        enums::RETRY_STATE_MAXIMUM_ATTEMPTS_REACHED);
  CHECK(short_form.events(7).workflow_task_scheduled_event_attributes().task_queue().kind() ==
        enums::TASK_QUEUE_KIND_STICKY);
  CHECK(short_form.events(10).workflow_execution_failed_event_attributes().retry_state() ==
        enums::RETRY_STATE_RETRY_POLICY_NOT_SET);
}
#endif
