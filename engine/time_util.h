// Conversions between the engine's clock values and protobuf Timestamp/Duration, and fresh ids.
// Small helpers used all over engine/; kept in one place so every file converts time the same way.
#pragma once

#include <google/protobuf/duration.pb.h>
#include <google/protobuf/timestamp.pb.h>

#include <cstdint>
#include <string>

namespace reprise::engine {

inline google::protobuf::Timestamp timestamp_from_ms(int64_t ms) {
  google::protobuf::Timestamp t;
  t.set_seconds(ms / 1000);
  t.set_nanos(static_cast<int32_t>((ms % 1000) * 1'000'000));
  return t;
}
inline int64_t ms_from_timestamp(const google::protobuf::Timestamp& t) {
  return t.seconds() * 1000 + t.nanos() / 1'000'000;
}
inline google::protobuf::Duration duration_from_ms(int64_t ms) {
  google::protobuf::Duration d;
  d.set_seconds(ms / 1000);
  d.set_nanos(static_cast<int32_t>((ms % 1000) * 1'000'000));
  return d;
}
inline int64_t ms_from_duration(const google::protobuf::Duration& d) {
  return d.seconds() * 1000 + d.nanos() / 1'000'000;
}

// A random UUID (version 4) in its canonical text form; used for run ids and request ids.
std::string new_uuid();

}  // namespace reprise::engine
