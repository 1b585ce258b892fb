// MarkerMachine transitions and marker details (see marker_machine.h).
// Exercised by tests/worker/marker_test.cpp.
#include "machines/marker_machine.h"

#include <nlohmann/json.hpp>
#include <stdexcept>

#include "replay/describe.h"
#include "reprise/converter.h"

namespace reprise::detail {

namespace enums = temporal::api::enums::v1;
using temporal::api::common::v1::Payloads;

namespace {
// SDK-owned marker fields are plain json/plain, never passed through user codecs.
Payloads json_payloads(const nlohmann::json& value) {
  Payloads out;
  *out.add_payloads() = PayloadConverter().to_payload(Value(std::in_place_type<nlohmann::json>, value));
  return out;
}
}  // namespace

MarkerDetails patch_marker_details(const std::string& patch_id) {
  MarkerDetails details;
  details["patch-data"] = json_payloads({{"id", patch_id}, {"deprecated", false}});
  return details;
}

MarkerDetails version_marker_details(const std::string& change_id, int version) {
  MarkerDetails details;
  details["change-id"] = json_payloads(change_id);
  details["version"] = json_payloads(version);
  return details;
}

MarkerDetails side_effect_marker_details(long long side_effect_id, const Payloads& data) {
  MarkerDetails details;
  details["side-effect-id"] = json_payloads(side_effect_id);
  details["data"] = data;
  return details;
}

int version_from_details(const MarkerDetails& details) {
  auto it = details.find("version");
  if (it == details.end() || it->second.payloads_size() == 0)
    throw std::runtime_error("Version marker without a \"version\" detail");
  return nlohmann::json::parse(it->second.payloads(0).data()).get<int>();
}

MarkerMachine::MarkerMachine(CommandQueue& commands, std::string marker_name, MarkerDetails details,
                             std::source_location where)
    : marker_name_(std::move(marker_name)), key_(marker_key(marker_name_, details)) {
  Command command;
  command.set_command_type(enums::COMMAND_TYPE_RECORD_MARKER);
  auto* attributes = command.mutable_record_marker_command_attributes();
  attributes->set_marker_name(marker_name_);
  *attributes->mutable_details() = std::move(details);
  commands.push(std::move(command), this, where);
}

std::string MarkerMachine::apply_command_event(const HistoryEvent& event, const Command& command) {
  if (state_ != State::CommandCreated) throw std::logic_error("marker recorded twice");
  const auto& recorded = event.marker_recorded_event_attributes();
  if (recorded.marker_name() != marker_name_)
    return "marker name differs: history \"" + recorded.marker_name() + "\", code \"" + marker_name_ + "\"";
  std::string key = marker_key(recorded.marker_name(), recorded.details());
  if (key != key_) return "marker id differs: history \"" + key + "\", code \"" + key_ + "\"";
  state_ = State::Recorded;
  return "";
}

void MarkerMachine::apply_event(const HistoryEvent& event) {
  throw std::runtime_error("a marker takes no further events, got " + describe_event(event));
}

void RecordedMarkers::remember(const HistoryEvent& marker_recorded) {
  const auto& recorded = marker_recorded.marker_recorded_event_attributes();
  markers_[{recorded.marker_name(), marker_key(recorded.marker_name(), recorded.details())}] = recorded.details();
}

std::optional<MarkerDetails> RecordedMarkers::take(const std::string& marker_name, const std::string& key) {
  auto it = markers_.find({marker_name, key});
  if (it == markers_.end()) return std::nullopt;
  std::optional<MarkerDetails> details(std::move(it->second));
  markers_.erase(it);
  return details;
}

}  // namespace reprise::detail
