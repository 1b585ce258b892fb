// History's wire form (see history_bytes.h).
#include "history/history_bytes.h"

#include <google/protobuf/io/coded_stream.h>
#include <google/protobuf/wire_format_lite.h>

#include "history/history_store.h"
#include "temporal/api/history/v1/message.pb.h"

namespace reprise::history {

void append_history_event(std::string& history, std::string_view event_bytes) {
  using google::protobuf::internal::WireFormatLite;
  uint8_t head[16];  // a one-byte tag and at most five bytes of length
  uint8_t* end = WireFormatLite::WriteTagToArray(temporal::api::history::v1::History::kEventsFieldNumber,
                                                 WireFormatLite::WIRETYPE_LENGTH_DELIMITED, head);
  end = google::protobuf::io::CodedOutputStream::WriteVarint32ToArray(static_cast<uint32_t>(event_bytes.size()), end);
  history.append(reinterpret_cast<const char*>(head), static_cast<size_t>(end - head));
  history.append(event_bytes);
}

std::string HistoryStore::read_history_bytes(const ExecutionKey& key, int64_t first_event_id, int64_t max_count) {
  std::string history;
  for (const HistoryEvent& e : read_events(key, first_event_id, max_count))
    append_history_event(history, e.SerializeAsString());
  return history;
}

}  // namespace reprise::history
