// The data converter: Temporal's payload encodings for typed values, and a pluggable codec.
#include "reprise/converter.h"

#include <catch2/catch.hpp>
#include <optional>
#include <string>

using namespace reprise;

namespace {

struct Order {
  std::string item;
  int quantity = 0;
};
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE(Order, item, quantity)

std::string encoding(const Payload& payload) { return payload.metadata().at("encoding"); }

// A toy codec: the whole converted payload, serialized and reversed, under its own encoding.
class ReversingCodec : public PayloadCodec {
 public:
  Payload encode(const Payload& payload) const override {
    std::string bytes = payload.SerializeAsString();
    Payload out;
    (*out.mutable_metadata())["encoding"] = "binary/x-reversed";
    out.set_data(std::string(bytes.rbegin(), bytes.rend()));
    return out;
  }
  Payload decode(const Payload& payload) const override {
    if (encoding(payload) != "binary/x-reversed") return payload;
    Payload out;
    out.ParseFromString(std::string(payload.data().rbegin(), payload.data().rend()));
    return out;
  }
};

}  // namespace

TEST_CASE("values become json/plain payloads holding their JSON text") {
  DataConverter converter;
  Payload p = converter.to_payload(Order{"tea", 2});
  CHECK(encoding(p) == "json/plain");
  CHECK(p.data() == R"({"item":"tea","quantity":2})");
  CHECK(converter.from_payload<Order>(p).quantity == 2);
  CHECK(converter.to_payload(std::string("Temporal")).data() == "\"Temporal\"");
}

TEST_CASE("byte vectors become binary/plain payloads holding the raw bytes") {
  DataConverter converter;
  Bytes bytes{0x00, 0xff, 0x10};
  Payload p = converter.to_payload(bytes);
  CHECK(encoding(p) == "binary/plain");
  CHECK(p.data() == std::string("\x00\xff\x10", 3));
  CHECK(converter.from_payload<Bytes>(p) == bytes);
}

TEST_CASE("nothing (void, std::monostate) becomes one binary/null payload without data") {
  DataConverter converter;
  Payloads result = converter.void_payloads();
  REQUIRE(result.payloads_size() == 1);
  CHECK(encoding(result.payloads(0)) == "binary/null");
  CHECK(result.payloads(0).data().empty());
  CHECK(converter.from_payloads<std::optional<int>>(result) == std::nullopt);
  CHECK(converter.from_payloads<std::optional<int>>(Payloads{}) == std::nullopt);  // missing reads as nothing
}

TEST_CASE("a payload that does not fit the requested type throws DataConversionError") {
  DataConverter converter;
  CHECK_THROWS_AS(converter.from_payload<int>(converter.to_payload(std::string("x"))), DataConversionError);
  CHECK_THROWS_AS(converter.from_payload<Bytes>(converter.to_payload(3)), DataConversionError);
  Payload unknown;
  (*unknown.mutable_metadata())["encoding"] = "binary/protobuf";
  CHECK_THROWS_AS(converter.from_payload<int>(unknown), DataConversionError);
}

TEST_CASE("a codec transforms payloads after conversion and is undone before decoding") {
  DataConverter converter(nullptr, {std::make_shared<ReversingCodec>()});
  Payload p = converter.to_payload(Order{"coffee", 1});
  CHECK(encoding(p) == "binary/x-reversed");
  CHECK(p.data().find("coffee") == std::string::npos);  // the JSON is not readable on the wire
  CHECK(converter.from_payload<Order>(p).item == "coffee");
}

TEST_CASE("a custom payload converter replaces the standard encodings") {
  struct Shouting : PayloadConverter {
    Payload to_payload(const Value& value) const override {
      Payload p = PayloadConverter::to_payload(value);
      (*p.mutable_metadata())["shout"] = "yes";
      return p;
    }
  };
  DataConverter converter(std::make_shared<Shouting>(), {});
  CHECK(converter.to_payload(1).metadata().at("shout") == "yes");
}
