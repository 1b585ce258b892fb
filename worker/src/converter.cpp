// Temporal's standard payload encodings, and the codec chain (see reprise/converter.h).
// Exercised by tests/worker/converter_test.cpp.
#include "reprise/converter.h"

#include <string_view>

namespace reprise {

namespace {
constexpr const char* kEncoding = "encoding";
constexpr const char* kNull = "binary/null";
constexpr const char* kBinary = "binary/plain";
constexpr const char* kJson = "json/plain";
}  // namespace

Payload PayloadConverter::to_payload(const Value& value) const {
  Payload payload;
  auto& metadata = *payload.mutable_metadata();
  if (std::holds_alternative<std::monostate>(value)) {
    metadata[kEncoding] = kNull;
  } else if (const auto* bytes = std::get_if<Bytes>(&value)) {
    metadata[kEncoding] = kBinary;
    payload.set_data(std::string(bytes->begin(), bytes->end()));
  } else {
    metadata[kEncoding] = kJson;
    payload.set_data(std::get<nlohmann::json>(value).dump());
  }
  return payload;
}

Value PayloadConverter::from_payload(const Payload& payload) const {
  auto it = payload.metadata().find(kEncoding);
  const std::string_view encoding = it == payload.metadata().end() ? std::string_view() : std::string_view(it->second);
  if (encoding == kNull) return Value{};
  if (encoding == kBinary) return Value(std::in_place_type<Bytes>, payload.data().begin(), payload.data().end());
  if (encoding == kJson) {
    try {
      return Value(std::in_place_type<nlohmann::json>, nlohmann::json::parse(payload.data()));
    } catch (const nlohmann::json::exception& e) {
      throw DataConversionError(std::string("json/plain payload is not JSON: ") + e.what());
    }
  }
  throw DataConversionError("unknown payload encoding \"" + std::string(encoding) + "\"");
}

DataConverter::DataConverter() : converter_(std::make_shared<PayloadConverter>()) {}

DataConverter::DataConverter(std::shared_ptr<const PayloadConverter> converter,
                             std::vector<std::shared_ptr<const PayloadCodec>> codecs)
    : converter_(converter ? std::move(converter) : std::make_shared<PayloadConverter>()), codecs_(std::move(codecs)) {}

Payload DataConverter::encode(const Value& value) const {
  Payload payload = converter_->to_payload(value);
  for (const auto& codec : codecs_) payload = codec->encode(payload);
  return payload;
}

Value DataConverter::decode(const Payload& payload) const {
  if (codecs_.empty()) return converter_->from_payload(payload);  // nothing to undo: no copy
  Payload decoded = payload;
  for (auto it = codecs_.rbegin(); it != codecs_.rend(); ++it) decoded = (*it)->decode(decoded);
  return converter_->from_payload(decoded);
}

}  // namespace reprise
