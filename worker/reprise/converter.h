// The data converter: how typed C++ values become Temporal Payloads and back.
//
// Everything a workflow passes through the server (workflow input and result, activity arguments
// and results, signal arguments, side-effect values, failure details) travels as a Payload: bytes
// plus a metadata map whose "encoding" key says how to read them (temporal-semantics.md §5). The
// conversion has three layers, and only the middle one knows about C++ types:
//
//   T  --(to_value, a template)-->  Value  --(PayloadConverter)-->  Payload  --(PayloadCodecs)--> wire
//
//   * Value is the neutral form: nothing (void, std::monostate), raw bytes (std::vector<uint8_t>,
//     alias reprise::Bytes), or a JSON document (every other T, through nlohmann-json's
//     to_json/from_json, so a user type needs NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE or the like).
//   * PayloadConverter maps a Value to a Payload with Temporal's encodings: nothing -> "binary/null"
//     (no data), bytes -> "binary/plain", JSON -> "json/plain" (UTF-8 JSON text). That is what the
//     TypeScript, Go and Python SDKs read and write, so their histories replay here. Subclass it to
//     change the wire form.
//   * PayloadCodecs transform whole payloads after conversion (compression, encryption) and undo it
//     before, in reverse order. A codec must be deterministic: replay re-encodes and must not change
//     anything the server compares (it compares no payloads, but markers must still decode).
//
// Exercised by tests/worker/converter_test.cpp.
#pragma once

#include <cstdint>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <stdexcept>
#include <string>
#include <type_traits>
#include <variant>
#include <vector>

#include "temporal/api/common/v1/message.pb.h"

// std::optional<T> as JSON null or a T (nlohmann-json 3.11.2, Debian 12's, has no support of its own).
namespace nlohmann {
template <class T>
struct adl_serializer<std::optional<T>> {
  static void to_json(json& j, const std::optional<T>& value) {
    if (value)
      j = *value;
    else
      j = nullptr;
  }
  static void from_json(const json& j, std::optional<T>& value) {
    if (j.is_null())
      value.reset();
    else
      value = j.get<T>();
  }
};
}  // namespace nlohmann

namespace reprise {

using Payload = temporal::api::common::v1::Payload;
using Payloads = temporal::api::common::v1::Payloads;
using Bytes = std::vector<std::uint8_t>;

// A payload that cannot become the requested type (wrong encoding, JSON of the wrong shape).
// Thrown inside workflow code it fails the workflow task, as a data-converter error does in Temporal.
class DataConversionError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// The neutral form between C++ types and payloads (see above).
using Value = std::variant<std::monostate, Bytes, nlohmann::json>;

class PayloadConverter {
 public:
  virtual ~PayloadConverter() = default;
  virtual Payload to_payload(const Value& value) const;
  // Throws DataConversionError for an encoding it does not know.
  virtual Value from_payload(const Payload& payload) const;
};

class PayloadCodec {
 public:
  virtual ~PayloadCodec() = default;
  virtual Payload encode(const Payload& payload) const = 0;
  virtual Payload decode(const Payload& payload) const = 0;
};

namespace detail {
template <class T>
inline constexpr bool is_nothing_v = std::is_void_v<T> || std::is_same_v<T, std::monostate>;
}

class DataConverter {
 public:
  // The default: Temporal's standard encodings, no codec.
  DataConverter();
  DataConverter(std::shared_ptr<const PayloadConverter> converter,
                std::vector<std::shared_ptr<const PayloadCodec>> codecs);

  // One value to one payload, and back. from_payload throws DataConversionError on mismatch.
  template <class T>
  Payload to_payload(const T& value) const {
    return encode(to_value(value));
  }
  template <class T>
  T from_payload(const Payload& payload) const {
    return from_value<T>(decode(payload));
  }

  // Positional arguments, as workflow input and activity input are sent.
  template <class... Args>
  Payloads to_payloads(const Args&... args) const {
    Payloads out;
    ((*out.add_payloads() = to_payload(args)), ...);
    return out;
  }
  // The i-th value of `payloads`; a missing one reads as "nothing" (an empty result is void).
  template <class T>
  T from_payloads(const Payloads& payloads, int index = 0) const {
    if (index >= payloads.payloads_size()) return from_value<T>(Value{});
    return from_payload<T>(payloads.payloads(index));
  }
  // A void result: one "binary/null" payload, as TypeScript sends for undefined.
  Payloads void_payloads() const { return to_payloads(std::monostate{}); }

  // The Value <-> Payload steps with the codecs applied, for code that is not typed.
  Payload encode(const Value& value) const;
  Value decode(const Payload& payload) const;

  template <class T>
  static Value to_value(const T& value) {
    if constexpr (detail::is_nothing_v<T>)
      return Value{};
    else if constexpr (std::is_same_v<T, Bytes>)
      return Value(std::in_place_type<Bytes>, value);
    else
      return Value(std::in_place_type<nlohmann::json>, nlohmann::json(value));
  }
  template <class T>
  static T from_value(const Value& value) {
    if constexpr (std::is_void_v<T>) {
      return;
    } else if constexpr (std::is_same_v<T, std::monostate>) {
      return T{};
    } else if constexpr (std::is_same_v<T, Bytes>) {
      if (const auto* bytes = std::get_if<Bytes>(&value)) return *bytes;
      throw DataConversionError("expected a binary/plain payload for a byte vector");
    } else {
      try {
        if (const auto* json = std::get_if<nlohmann::json>(&value)) return json->get<T>();
        if (std::holds_alternative<std::monostate>(value)) return nlohmann::json(nullptr).get<T>();
      } catch (const nlohmann::json::exception& e) {
        throw DataConversionError(std::string("payload JSON does not fit the requested type: ") + e.what());
      }
      throw DataConversionError("expected a json/plain payload, got binary/plain");
    }
  }

 private:
  std::shared_ptr<const PayloadConverter> converter_;
  std::vector<std::shared_ptr<const PayloadCodec>> codecs_;
};

}  // namespace reprise
