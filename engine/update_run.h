// HistoryEngine::update_run: the one read-modify-write loop every request on an existing run goes
// through (lock the workflow id, load mutable state, let the handler append, commit, retry on a
// store conflict). Included only by engine/*.cpp.
#pragma once

#include <spdlog/spdlog.h>

#include <type_traits>

#include "history_engine.h"

namespace reprise::engine {

template <class Fn>
auto HistoryEngine::update_run(const ExecutionKey& key, Fn&& fn) {
  auto ctx = context_for(key.namespace_, key.workflow_id);
  AfterCommit after_commit(*this);  // destroyed after `lock`: see its comment in history_engine.h
  std::lock_guard lock(ctx->mu);
  constexpr int kMaxConflicts = 5;
  for (int conflicts = 0;; ++conflicts) {
    LoadedRun& run = load_run(*ctx, key);
    ExecutionUpdate update(run.state, clock_.now_ms());
    update.set_key(run.row.key);
    try {
      if constexpr (std::is_void_v<std::invoke_result_t<Fn&, ExecutionUpdate&>>) {
        fn(update);
        if (update.empty() || commit(*ctx, run, update, after_commit) == history::CommitResult::Ok)
          return forget_if_closed(*ctx);
      } else {
        auto result = fn(update);
        if (update.empty() || commit(*ctx, run, update, after_commit) == history::CommitResult::Ok) {
          forget_if_closed(*ctx);
          return result;
        }
      }
    } catch (...) {
      ctx->cached.reset();  // the handler may have changed the cached state half-way: forget it
      throw;
    }
    // Conflict: somebody else changed the run since we loaded it. Reload and run the handler again.
    ctx->cached.reset();
    spdlog::debug("conflict on {}/{}, retrying", key.workflow_id, key.run_id);
    if (conflicts == kMaxConflicts)
      throw EngineError(grpc::StatusCode::ABORTED, "too many concurrent changes to workflow " + key.workflow_id);
  }
}

}  // namespace reprise::engine
