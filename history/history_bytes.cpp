// History's wire form (see history_bytes.h).
#include "history/history_bytes.h"

#include <google/protobuf/io/coded_stream.h>

#include "history/history_store.h"
#include "temporal/api/history/v1/message.pb.h"

namespace reprise::history {

namespace {
// A field's tag is its number shifted left three bits, or'ed with its wire type: 2 for a
// length-delimited one (bytes, strings, messages). Field 1 fits in one byte.
constexpr int kLengthDelimited = 2;
constexpr char kEventTag = (temporal::api::history::v1::History::kEventsFieldNumber << 3) | kLengthDelimited;
static_assert(temporal::api::history::v1::History::kEventsFieldNumber < 16, "the tag must fit in one byte");
}  // namespace

void append_history_event(std::string& history, std::string_view event_bytes) {
  uint8_t length[5];  // a varint of at most five bytes
  const uint8_t* end =
      google::protobuf::io::CodedOutputStream::WriteVarint32ToArray(static_cast<uint32_t>(event_bytes.size()), length);
  history.push_back(kEventTag);
  history.append(reinterpret_cast<const char*>(length), static_cast<size_t>(end - length));
  history.append(event_bytes);
}

size_t framed_history_event_size(size_t event_size) {
  return 1 + google::protobuf::io::CodedOutputStream::VarintSize32(static_cast<uint32_t>(event_size)) + event_size;
}

std::string HistoryStore::read_history_bytes(const ExecutionKey& key, int64_t first_event_id, int64_t max_count) {
  std::string history;
  for (const HistoryEvent& e : read_events(key, first_event_id, max_count))
    append_history_event(history, e.SerializeAsString());
  return history;
}

}  // namespace reprise::history
