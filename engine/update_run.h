// HistoryEngine::update_run: the one read-modify-write loop every request on an existing run goes
// through (take the workflow id's turn, load mutable state, let the handler append, commit, retry
// on a store conflict), and update_run_async, the same loop without a thread waiting for the
// commit. Included only by engine/*.cpp.
#pragma once

#include <spdlog/spdlog.h>

#include <type_traits>

#include "history_engine.h"

namespace reprise::engine {

template <class Fn>
auto HistoryEngine::update_run(const ExecutionKey& key, Fn&& fn) {
  auto ctx = context_for(key.namespace_, key.workflow_id);
  AfterCommit after_commit(*this);  // destroyed after `lock`: see its comment in history_engine.h
  std::lock_guard lock(ctx->turn);
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

// The steps are update_run's, but the thread that runs the handler does not wait for the fsync:
//   the caller's thread   takes the turn (if another request has it, the rest runs on the io
//                         thread when it is passed on), runs `fn` on an ExecutionUpdate and hands
//                         the transaction to the store with commit_async, keeping the turn;
//   the store's thread    once the commit is durable: the run's new row, tasks to matching, timers
//                         armed (apply_commit); the turn passed on; claimed tasks and woken history
//                         polls answered (AfterCommit); then `then(fn's result, nullptr)`.
// `fn` returns the value `then` gets (a response). `then(R{}, error)` instead if `fn` threw (an
// EngineError: nothing was written) or the commit failed. A conflict runs `fn` again (on the io
// thread), so `fn` must only change the update it is given. With a store that commits in place (the memory
// store) everything runs on the caller's thread before update_run_async returns.
template <class Fn, class Then>
void HistoryEngine::update_run_async(const ExecutionKey& key, Fn fn, Then then) {
  using R = std::invoke_result_t<Fn&, ExecutionUpdate&>;
  auto result = std::make_shared<std::optional<R>>();
  run_update_async(
      key, [fn = std::move(fn), result](ExecutionUpdate& u) mutable { result->emplace(fn(u)); },
      [then = std::move(then), result](std::exception_ptr error) mutable {
        if (error || !*result)
          then(R{}, error);
        else
          then(std::move(**result), nullptr);
      });
}

}  // namespace reprise::engine
