// MarkerMachine: one RecordMarker command, and the markers of versioning and side effects.
//
//   state          | input                                  | next           | effect
//   ---------------+----------------------------------------+----------------+---------------------------
//   (created)      | code: patched, get_version, side_effect | CommandCreated | emits RecordMarker
//   CommandCreated | MarkerRecorded (matched)               | Recorded       | checks marker name and id
//
// A marker stores SDK facts in history so that replay can return the same answer without redoing
// the work. The marker names and detail keys are those of Temporal's SDKs (temporal-semantics.md
// §1.11), each detail a json/plain Payloads:
//
//   patched(id)                   "core_patch"  patch-data = {"id": "<id>", "deprecated": false}
//   get_version(change, min, max) "Version"     change-id = "<change>", version = <n>
//   side_effect(fn)               "SideEffect"  side-effect-id = <n>, data = <the value's payloads>
//
// On replay the code must decide *before* history's marker event is applied (the call returns a
// value right away), so the engine looks ahead: when it replays a workflow task it first collects
// the markers among that task's command events (RecordedMarkers below); the calls read them there.
// Exercised by tests/worker/marker_test.cpp.
#pragma once

#include <cstddef>
#include <map>
#include <optional>
#include <source_location>
#include <string>
#include <utility>

#include "machines/machine.h"
#include "replay/command_queue.h"

namespace reprise::detail {

using MarkerDetails = google::protobuf::Map<std::string, temporal::api::common::v1::Payloads>;

inline constexpr const char* kPatchMarker = "core_patch";
inline constexpr const char* kVersionMarker = "Version";
inline constexpr const char* kSideEffectMarker = "SideEffect";

MarkerDetails patch_marker_details(const std::string& patch_id);
MarkerDetails version_marker_details(const std::string& change_id, int version);
MarkerDetails side_effect_marker_details(long long side_effect_id, const temporal::api::common::v1::Payloads& data);
// The "version" of a Version marker; throws std::runtime_error if it has none.
int version_from_details(const MarkerDetails& details);

class MarkerMachine final : public Machine {
 public:
  // Emits the RecordMarker command.
  MarkerMachine(CommandQueue& commands, std::string marker_name, MarkerDetails details, std::source_location where);

  std::string apply_command_event(const HistoryEvent& event, const Command& command) override;
  void apply_event(const HistoryEvent& event) override;
  bool done() const override { return state_ == State::Recorded; }

 private:
  enum class State { CommandCreated, Recorded };
  std::string marker_name_;
  std::string key_;
  State state_ = State::CommandCreated;
};

// Markers that history shows for the workflow tasks replayed so far, by (name, id).
class RecordedMarkers {
 public:
  // Notes a MarkerRecorded event (a copy of its details: the run keeps no events).
  void remember(const HistoryEvent& marker_recorded);
  // The marker's details, taken out: each marker answers one call (patched() and get_version()
  // remember their answer per id, and every side_effect() has its own id), so the run does not keep
  // what it has used. Empty if history has shown no such marker so far.
  std::optional<MarkerDetails> take(const std::string& marker_name, const std::string& key);

 private:
  std::map<std::pair<std::string, std::string>, MarkerDetails> markers_;
};

}  // namespace reprise::detail
