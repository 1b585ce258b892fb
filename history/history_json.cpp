// Temporal's history JSON, both ways (see history_json.h for the two dialects).
//
// Loading is three steps:
//   1. nlohmann-json parses the text (after a quick scan has refused nesting deeper than kMaxDepth,
//      so that no later recursive step can run out of stack on hostile input);
//   2. normalize_message() walks each event next to the HistoryEvent Descriptor: for every field it
//      recognises it looks at the FieldDescriptor, and where the field's type is an enum and the value
//      is a short name ("Normal"), it writes the full name ("TASK_QUEUE_KIND_NORMAL") in its place;
//   3. protobuf's JsonStringToMessage parses the now-canonical document (ignore_unknown_fields, so
//      fields newer than our proto subset are skipped, as an old client skips them on the wire).
// When protobuf refuses the result, the events are parsed again one by one to name the bad one.
//
// Exercised by tests/history/json_fixtures_test.cpp, json_dialect_test.cpp and json_errors_test.cpp.
#include "history/history_json.h"

#include <google/protobuf/descriptor.h>
#include <google/protobuf/util/json_util.h>

#include <algorithm>
#include <cctype>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>

namespace reprise::history {

namespace {

namespace pb = google::protobuf;
using Json = nlohmann::json;
using temporal::api::history::v1::History;
using temporal::api::history::v1::HistoryEvent;

// JSON nesting deeper than this is refused before anything recursive touches it. Real histories
// nest about 15 deep (failure causes inside failures); protobuf's own parser stops at 100.
constexpr int kMaxDepth = 100;

[[noreturn]] void fail(const std::string& what) { throw HistoryJsonError("history JSON: " + what); }

// A bad value inside an event; history_from_json adds which event it is in.
struct BadField : std::runtime_error {
  using std::runtime_error::runtime_error;
};

// "MaximumAttemptsReached" -> "MAXIMUM_ATTEMPTS_REACHED"; an underscore goes before an upper-case
// letter that ends a lower-case/digit run or starts a word after an acronym ("HTTPServer" ->
// "HTTP_SERVER").
std::string camel_to_upper_snake(std::string_view camel) {
  std::string out;
  for (size_t i = 0; i < camel.size(); ++i) {
    const unsigned char c = static_cast<unsigned char>(camel[i]);
    if (i > 0 && std::isupper(c)) {
      const unsigned char prev = static_cast<unsigned char>(camel[i - 1]);
      const bool next_lower = i + 1 < camel.size() && std::islower(static_cast<unsigned char>(camel[i + 1]));
      if (std::islower(prev) || std::isdigit(prev) || (std::isupper(prev) && next_lower)) out += '_';
    }
    out += static_cast<char>(std::toupper(c));
  }
  return out;
}

// The prefix every value name of an enum carries: "EVENT_TYPE_" for EventType (the values' common
// prefix, cut after its last underscore).
std::string enum_value_prefix(const pb::EnumDescriptor* e) {
  std::string prefix = e->value(0)->name();
  for (int i = 1; i < e->value_count(); ++i) {
    const std::string& name = e->value(i)->name();
    size_t n = 0;
    while (n < prefix.size() && n < name.size() && prefix[n] == name[n]) ++n;
    prefix.resize(n);
  }
  return prefix.substr(0, prefix.rfind('_') + 1);  // npos + 1 == 0: no underscore, no prefix
}

// The full value name for `value`: itself if it is one, else the short form converted
// ("MaximumAttemptsReached" in RetryState -> "RETRY_STATE_MAXIMUM_ATTEMPTS_REACHED"); nullopt if neither.
std::optional<std::string> full_enum_name(const pb::EnumDescriptor* e, const std::string& value) {
  if (e->FindValueByName(value) != nullptr) return value;
  std::string candidate = enum_value_prefix(e) + camel_to_upper_snake(value);
  if (e->FindValueByName(candidate) != nullptr) return candidate;
  return std::nullopt;
}

// The field a JSON key names: its json_name ("eventId") or, as protobuf also accepts, its proto name.
const pb::FieldDescriptor* field_for_key(const pb::Descriptor* d, const std::string& key) {
  // Hashed lookups first: json_name is the camelCase name unless a .proto sets json_name itself.
  if (const auto* f = d->FindFieldByCamelcaseName(key); f != nullptr && f->json_name() == key) return f;
  if (const auto* f = d->FindFieldByName(key); f != nullptr) return f;
  for (int i = 0; i < d->field_count(); ++i) {
    const pb::FieldDescriptor* f = d->field(i);
    if (f->json_name() == key || f->name() == key) return f;
  }
  return nullptr;
}

void normalize_message(Json& obj, const pb::Descriptor* d, const std::string& path);

// One value of field `f` (an element, for repeated fields; the map value, for maps).
void normalize_value(Json& v, const pb::FieldDescriptor* f, const std::string& path) {
  if (const pb::EnumDescriptor* e = f->enum_type(); e != nullptr && v.is_string()) {
    const std::string& s = v.get_ref<const std::string&>();
    std::optional<std::string> full = full_enum_name(e, s);
    if (!full)
      throw BadField(path + ": \"" + s + "\" is not a value of " + e->full_name() +
                     " (neither its full name nor its short form)");
    if (*full != s) v = *full;
    return;
  }
  const pb::Descriptor* m = f->message_type();
  if (m == nullptr || !v.is_object()) return;  // scalars and type mismatches: protobuf judges them
  // Well-known types (Duration "10s", Timestamp, ...) have JSON forms of their own without enum names.
  if (m->file()->package() != "google.protobuf") normalize_message(v, m, path);
}

void normalize_message(Json& obj, const pb::Descriptor* d, const std::string& path) {
  for (auto& [key, value] : obj.items()) {
    const pb::FieldDescriptor* f = field_for_key(d, key);
    if (f == nullptr) continue;  // unknown (newer upstream) field: the parser will skip it
    const std::string here = path.empty() ? key : path + "." + key;
    if (f->is_map()) {
      if (!value.is_object()) continue;
      const pb::FieldDescriptor* map_value = f->message_type()->map_value();
      for (auto& [map_key, element] : value.items())
        normalize_value(element, map_value, here + "[\"" + map_key + "\"]");
    } else if (f->is_repeated()) {
      if (!value.is_array()) continue;
      for (size_t i = 0; i < value.size(); ++i) normalize_value(value[i], f, here + "[" + std::to_string(i) + "]");
    } else {
      normalize_value(value, f, here);
    }
  }
}

// How an event introduces itself in error messages: events[3] (eventId "4").
std::string event_label(size_t index, const Json& event) {
  std::string label = "events[" + std::to_string(index) + "]";
  if (event.is_object())
    if (auto id = event.find("eventId"); id != event.end() && (id->is_string() || id->is_number()))
      label += " (eventId " + id->dump() + ")";
  return label;
}

// How deeply arrays and objects nest in `text`. Exact for every prefix of the text that is valid JSON,
// which is all the parser gets to build before it stops.
int nesting_depth(std::string_view text) {
  int depth = 0, deepest = 0;
  bool in_string = false, escaped = false;
  for (char c : text) {
    if (in_string) {
      if (escaped)
        escaped = false;
      else if (c == '\\')
        escaped = true;
      else if (c == '"')
        in_string = false;
    } else if (c == '"') {
      in_string = true;
    } else if (c == '[' || c == '{') {
      deepest = std::max(deepest, ++depth);
    } else if (c == ']' || c == '}') {
      --depth;
    }
  }
  return deepest;
}

Json parse_text(std::string_view text) {
  // Refusing deep input up front keeps dump() and our recursive walk within the stack.
  if (nesting_depth(text) > kMaxDepth) fail("nested deeper than " + std::to_string(kMaxDepth) + " levels");
  try {
    return Json::parse(text.begin(), text.end());
  } catch (const Json::parse_error& e) {
    fail(std::string("not valid JSON: ") + e.what());
  }
}

// Takes the events array out of wherever the file keeps it: {"events":[...]}, [{"events":[...]}], or
// a plain array of events.
Json take_events(Json& root) {
  Json* history = &root;
  if (root.is_array()) {
    if (root.size() == 1 && root[0].is_object() && root[0].contains("events")) {
      history = &root[0];
    } else {
      for (const Json& e : root)
        if (!e.is_object() || !(e.contains("eventId") || e.contains("eventType")))
          fail("a top-level array must hold one history ({\"events\": [...]}) or the events themselves; found " +
               std::to_string(root.size()) + " elements that are neither");
      return std::move(root);
    }
  }
  if (!history->is_object()) fail(std::string("expected an object {\"events\": [...]}, found ") + history->type_name());
  auto events = history->find("events");
  if (events == history->end() || events->is_null()) {
    if (history->contains("eventType") || history->contains("eventId"))
      fail("this is a single event, not a history; wrap it as {\"events\": [...]}");
    return Json::array();  // {} is the canonical JSON of an empty History
  }
  if (!events->is_array()) fail(std::string("\"events\" must be an array, found ") + events->type_name());
  return std::move(*events);
}

// protobuf says "(<proto field path>): invalid value ..." (the path is empty for some errors).
std::string parser_reason(const pb::util::Status& status) {
  std::string reason(status.message());
  if (reason.starts_with(": ")) reason.erase(0, 2);
  return reason;
}

// protobuf prints the canonical JSON; nlohmann then lays it out the way the Temporal CLI does (Go:
// two-space indent, "key": value, no \u003c-style escaping of <, > and &). Re-parsing keeps key order
// (ordered_json) and every value, so only whitespace and string escapes change.
std::string to_json(const pb::Message& message, bool pretty) {
  pb::util::JsonPrintOptions options;
  options.add_whitespace = false;
  options.always_print_primitive_fields = false;  // proto3: default values are left out
  options.always_print_enums_as_ints = false;     // enums by full value name
  options.preserve_proto_field_names = false;     // lowerCamelCase
  std::string out;
  if (auto status = pb::util::MessageToJsonString(message, &out, options); !status.ok())
    throw HistoryJsonError("history JSON: cannot print " + message.GetTypeName() + ": " + status.ToString());
  try {
    return nlohmann::ordered_json::parse(out).dump(pretty ? 2 : -1);
  } catch (const nlohmann::ordered_json::exception&) {
    return out;  // e.g. a string field holding invalid UTF-8: keep protobuf's text as it is
  }
}

}  // namespace

std::string history_to_json(const History& history, bool pretty) { return to_json(history, pretty); }

std::string event_to_json(const HistoryEvent& event, bool pretty) { return to_json(event, pretty); }

History history_from_json(std::string_view text) {
  try {
    Json root = parse_text(text);
    Json events = take_events(root);
    for (size_t i = 0; i < events.size(); ++i) {
      if (!events[i].is_object())
        fail(event_label(i, events[i]) + ": an event must be an object, found " + events[i].type_name());
      try {
        normalize_message(events[i], HistoryEvent::descriptor(), "");
      } catch (const BadField& e) {
        fail(event_label(i, events[i]) + ": " + e.what());
      }
    }

    pb::util::JsonParseOptions options;
    options.ignore_unknown_fields = true;  // fields newer than our proto subset
    Json canonical = Json::object();
    canonical["events"] = std::move(events);
    History history;
    const auto status = pb::util::JsonStringToMessage(canonical.dump(), &history, options);
    if (status.ok()) return history;

    // Slow path, for the message only: parse event by event to name the one protobuf refuses.
    const Json& normalized = canonical["events"];
    for (size_t i = 0; i < normalized.size(); ++i) {
      HistoryEvent event;
      if (auto s = pb::util::JsonStringToMessage(normalized[i].dump(), &event, options); !s.ok())
        fail(event_label(i, normalized[i]) + ": " + parser_reason(s));
    }
    fail(parser_reason(status));
  } catch (const HistoryJsonError&) {
    throw;
  } catch (const Json::exception& e) {  // e.g. invalid UTF-8 met by dump(); nothing should get here
    fail(std::string("malformed input: ") + e.what());
  }
}

}  // namespace reprise::history
