// The live-frame counter behind reprise::live_workflow_frames() (see reprise/workflow_coroutine.h).
// Exercised by tests/worker/frames_test.cpp.
#include "reprise/workflow_coroutine.h"

namespace reprise {

namespace detail {
std::atomic<long> g_live_workflow_frames{0};
}

long live_workflow_frames() { return detail::g_live_workflow_frames.load(); }

}  // namespace reprise
