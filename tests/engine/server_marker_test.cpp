// RecordMarker (temporal-semantics.md 1.11): the server writes MarkerRecorded with the details the
// worker sent, byte for byte, tied to the workflow task that recorded it; a marker without a name
// fails the workflow task. Engine code: engine/commands.cpp.
#include "test_server.h"

using namespace reprise::testing;
using Lines = std::vector<std::string>;

namespace {
Command record_marker(const std::string& name, const std::string& key, const std::string& json) {
  Command c;
  c.set_command_type(enums::COMMAND_TYPE_RECORD_MARKER);
  auto* a = c.mutable_record_marker_command_attributes();
  a->set_marker_name(name);
  auto* p = (*a->mutable_details())[key].add_payloads();
  (*p->mutable_metadata())["encoding"] = "json/plain";
  p->set_data(json);
  return c;
}
}  // namespace

TEST_CASE("a RecordMarker command writes MarkerRecorded with its details", "[server][marker]") {
  TestServer s;
  RawWorker w(s, "markers");
  w.start_and_complete_first_task("wf-marker",
                                  {record_marker("core_patch", "patch-data", R"({"id":"use-v2","deprecated":false})"),
                                   complete_workflow("\"done\"")});
  auto events = history_of(s, "wf-marker");
  REQUIRE(event_lines(events) == Lines{"1 WorkflowExecutionStarted", "2 WorkflowTaskScheduled", "3 WorkflowTaskStarted",
                                       "4 WorkflowTaskCompleted", "5 MarkerRecorded", "6 WorkflowExecutionCompleted"});
  const auto& marker = events[4].marker_recorded_event_attributes();
  CHECK(marker.marker_name() == "core_patch");
  CHECK(marker.workflow_task_completed_event_id() == 4);
  REQUIRE(marker.details().contains("patch-data"));
  CHECK(marker.details().at("patch-data").payloads(0).data() == R"({"id":"use-v2","deprecated":false})");
}

TEST_CASE("a RecordMarker command without a name fails the workflow task", "[server][marker][errors]") {
  TestServer s;
  RawWorker w(s, "markers");
  w.start("wf-nameless");
  auto wt = w.next_workflow_task();
  auto st = w.complete_workflow_task(wt.task_token(), {record_marker("", "data", "1")});
  CHECK(st.error_code() == grpc::StatusCode::INVALID_ARGUMENT);
  CHECK_THAT(st.error_message(), Catch::Contains("MarkerName is not set"));
  auto events = history_of(s, "wf-nameless");
  REQUIRE(events.size() >= 4);
  CHECK(events[3].workflow_task_failed_event_attributes().cause() ==
        enums::WORKFLOW_TASK_FAILED_CAUSE_BAD_RECORD_MARKER_ATTRIBUTES);
}
