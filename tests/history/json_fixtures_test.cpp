// Real histories, recorded by Temporal servers and SDKs (shared/reference/histories), go through
// history/history_json.h: each loads with exactly the events its file lists, each survives
// load -> export -> load unchanged, and the export is proto3 canonical JSON like the CLI prints.
// The expected values are read from the files with nlohmann-json, independently of the loader.
#include <google/protobuf/descriptor.h>
#include <google/protobuf/util/message_differencer.h>

#include <algorithm>
#include <catch2/catch.hpp>
#include <cctype>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "history/history_json.h"
#include "json_test_support.h"

#ifdef REPRISE_HISTORIES_DIR

namespace {

namespace fs = std::filesystem;
using nlohmann::json;
using reprise::history::history_from_json;
using reprise::history::history_to_json;
using reprise::history::testing::read_file;
using temporal::api::enums::v1::EventType;
using temporal::api::enums::v1::EventType_Name;
using temporal::api::history::v1::History;
using temporal::api::history::v1::HistoryEvent;

std::vector<fs::path> fixture_files() {
  std::vector<fs::path> files;
  for (const auto& entry : fs::recursive_directory_iterator(REPRISE_HISTORIES_DIR))
    if (entry.is_regular_file() && entry.path().extension() == ".json") files.push_back(entry.path());
  std::sort(files.begin(), files.end());
  return files;
}

// The events array as the file holds it, found without the loader's help.
json raw_events(const std::string& text) {
  json doc = json::parse(text);
  if (doc.is_array()) doc = doc.at(0);
  return doc.at("events");
}

// "WorkflowExecutionStarted", "EVENT_TYPE_WORKFLOW_EXECUTION_STARTED" -> "workflowexecutionstarted".
std::string squashed_type(std::string name) {
  std::string out;
  for (char c : name)
    if (c != '_') out += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  if (out.starts_with("eventtype")) out.erase(0, 9);
  return out;
}

std::string squashed_type(EventType type) { return squashed_type(EventType_Name(type)); }

// The oneof member set on `event`, e.g. "activity_task_scheduled_event_attributes" (or "").
std::string attributes_field(const HistoryEvent& event) {
  const auto* oneof = HistoryEvent::descriptor()->FindOneofByName("attributes");
  const auto* set = event.GetReflection()->GetOneofFieldDescriptor(event, oneof);
  return set == nullptr ? "" : set->name();
}

// EVENT_TYPE_ACTIVITY_TASK_SCHEDULED -> "activity_task_scheduled_event_attributes".
std::string expected_attributes_field(EventType type) {
  std::string name = EventType_Name(type).substr(std::string("EVENT_TYPE_").size());
  std::transform(name.begin(), name.end(), name.begin(), [](unsigned char c) { return std::tolower(c); });
  return name + "_event_attributes";
}

}  // namespace

TEST_CASE("every recorded history loads with the events, ids and types its file lists", "[history][json]") {
  const auto files = fixture_files();
  REQUIRE(files.size() >= 9);
  REQUIRE(std::any_of(files.begin(), files.end(),
                      [](const fs::path& p) { return p.parent_path().filename() == "negative"; }));

  for (const auto& file : files) {
    INFO("file: " << file.string());
    const std::string text = read_file(file);
    const json events = raw_events(text);

    const History history = history_from_json(text);

    REQUIRE(history.events_size() == static_cast<int>(events.size()));
    REQUIRE(history.events_size() > 0);
    CHECK(squashed_type(history.events(0).event_type()) ==
          squashed_type(events.front().at("eventType").get<std::string>()));
    CHECK(squashed_type(history.events(history.events_size() - 1).event_type()) ==
          squashed_type(events.back().at("eventType").get<std::string>()));
    CHECK(history.events(0).event_type() == temporal::api::enums::v1::EVENT_TYPE_WORKFLOW_EXECUTION_STARTED);
    for (int i = 0; i < history.events_size(); ++i) {
      INFO("event index " << i);
      CHECK(squashed_type(history.events(i).event_type()) ==
            squashed_type(events[i].at("eventType").get<std::string>()));
      CHECK(std::to_string(history.events(i).event_id()) == events[i].at("eventId").get<std::string>());
      CHECK(history.events(i).event_id() == i + 1);
    }
  }
}

TEST_CASE("every recorded event keeps the attributes its type names (no attribute message is missing from our protos)",
          "[history][json]") {
  for (const auto& file : fixture_files()) {
    INFO("file: " << file.string());
    const History history = history_from_json(read_file(file));
    for (const HistoryEvent& event : history.events()) {
      INFO("eventId " << event.event_id() << ", " << EventType_Name(event.event_type()));
      CHECK(attributes_field(event) == expected_attributes_field(event.event_type()));
    }
  }
}

TEST_CASE("load, export, load gives back the same message for every recorded history", "[history][json]") {
  for (const auto& file : fixture_files()) {
    INFO("file: " << file.string());
    const History loaded = history_from_json(read_file(file));
    for (bool pretty : {true, false}) {
      INFO("pretty: " << pretty);
      const std::string exported = history_to_json(loaded, pretty);
      const History reloaded = history_from_json(exported);
      CHECK(google::protobuf::util::MessageDifferencer::Equals(loaded, reloaded));
      // And exporting again is stable, byte for byte.
      CHECK(history_to_json(reloaded, pretty) == exported);
    }
  }
}

TEST_CASE("the export of samples-go helloworld is canonical JSON: string int64s, full enum names, base64 bytes",
          "[history][json]") {
  const History history = history_from_json(read_file(fs::path(REPRISE_HISTORIES_DIR) / "samples-go__helloworld.json"));
  const json out = json::parse(history_to_json(history));

  REQUIRE(out.is_object());
  REQUIRE(out.size() == 1);
  REQUIRE(out.at("events").is_array());
  REQUIRE(out["events"].size() == 11);

  const json& started = out["events"][0];
  CHECK(started.at("eventId") == "1");  // int64 -> JSON string
  CHECK(started.at("eventType") == "EVENT_TYPE_WORKFLOW_EXECUTION_STARTED");
  CHECK(started.at("eventTime") == "2020-07-30T00:30:03.082421843Z");  // RFC 3339, nanoseconds kept
  CHECK(started.at("version") == "-24");
  CHECK(started.at("taskId") == "2097152");
  const json& attrs = started.at("workflowExecutionStartedEventAttributes");
  CHECK(attrs.at("workflowType").at("name") == "Workflow");
  CHECK(attrs.at("workflowRunTimeout") == "60s");  // Duration
  CHECK(attrs.at("workflowExecutionTimeout") == "315360000s");
  CHECK(attrs.at("header") == json::object());  // present-but-empty message stays {}
  const json& payload = attrs.at("input").at("payloads").at(0);
  CHECK(payload.at("metadata").at("encoding") == "anNvbi9wbGFpbg==");  // base64 of json/plain
  CHECK(payload.at("data") == "IlRlbXBvcmFsIg==");                     // base64 of "Temporal"
  // ...and in the message itself the bytes are decoded.
  const auto& input = history.events(0).workflow_execution_started_event_attributes().input().payloads(0);
  CHECK(input.metadata().at("encoding") == "json/plain");
  CHECK(input.data() == "\"Temporal\"");

  const json& wft_started = out["events"][2];
  CHECK(wft_started.at("eventType") == "EVENT_TYPE_WORKFLOW_TASK_STARTED");
  CHECK(wft_started.at("workflowTaskStartedEventAttributes").at("scheduledEventId") == "2");

  const json& activity = out["events"][4];
  CHECK(activity.at("eventType") == "EVENT_TYPE_ACTIVITY_TASK_SCHEDULED");
  CHECK(activity.at("activityTaskScheduledEventAttributes").at("activityId") == "5");
  CHECK(activity.at("activityTaskScheduledEventAttributes").at("startToCloseTimeout") == "60s");
  CHECK(activity.at("activityTaskScheduledEventAttributes").at("workflowTaskCompletedEventId") == "4");

  const json& completed = out["events"][10];
  CHECK(completed.at("eventId") == "11");
  CHECK(completed.at("eventType") == "EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED");
  CHECK(completed.at("workflowExecutionCompletedEventAttributes").at("result").at("payloads").at(0).at("data") ==
        "IkhlbGxvIFRlbXBvcmFsISI=");  // "Hello Temporal!"

  // Field names are lowerCamelCase everywhere (JSON keys; map keys such as "encoding" are data).
  std::vector<std::string> snake_keys;
  const auto visit = [&](const auto& self, const json& node) -> void {
    if (node.is_object()) {
      for (const auto& [key, value] : node.items()) {
        if (key.find('_') != std::string::npos) snake_keys.push_back(key);
        self(self, value);
      }
    } else if (node.is_array()) {
      for (const auto& value : node) self(self, value);
    }
  };
  visit(visit, out);
  CHECK(snake_keys.empty());
}

#else

TEST_CASE("history JSON fixture tests are skipped: shared/reference/histories was not found at configure time",
          "[history][json]") {
  WARN("REPRISE_HISTORIES_DIR is not set; the real-history tests did not run");
}

#endif
