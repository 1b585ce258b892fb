// Task tokens. A worker gets one with every task and sends it back with the result; to the worker
// it is opaque bytes. Inside is a TaskToken message naming the run, the task's scheduled event id
// and attempt. The engine compares each field with mutable state before it accepts a result, so a
// token for an attempt that already timed out, a second completion, or a token from another run is
// answered NOT_FOUND and changes nothing (tests/engine/server_tokens_test.cpp).
// A production server would also sign tokens; Reprise trusts its loopback clients.
#include <string_view>

#include "errors.h"
#include "history_engine.h"

namespace reprise::engine {

namespace {
// A short prefix so that bytes from elsewhere are refused early with a clear message.
constexpr std::string_view kMagic = "rp1:";
}  // namespace

std::string encode_task_token(const TaskToken& token) {
  std::string out(kMagic);
  out += token.SerializeAsString();
  return out;
}

TaskToken decode_task_token(const std::string& bytes) {
  TaskToken token;
  if (bytes.empty()) throw invalid_argument("task token is not set on request");
  if (bytes.compare(0, kMagic.size(), kMagic) != 0 ||
      !token.ParseFromArray(bytes.data() + kMagic.size(), static_cast<int>(bytes.size() - kMagic.size())))
    throw invalid_argument("task token is malformed: it was not issued by this server");
  return token;
}

}  // namespace reprise::engine
