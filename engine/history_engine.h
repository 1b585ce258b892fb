// The history engine: where every workflow RPC turns into events.
//
// The gRPC layer (workflow_service.cpp) hands each request to one method here. Each method:
//   1. takes the workflow id's turn (workflow_turn.h), so two requests on one workflow never
//      interleave their read-modify-write (different workflows run in parallel);
//   2. loads the run's mutable state (cached in memory, else read from the store);
//   3. checks the request against it (a stale task token is NOT_FOUND and changes nothing);
//   4. appends events, tasks and timers to an ExecutionUpdate (execution_update.h);
//   5. commits them as one Transaction (history/history_store.h), then hands new tasks to matching
//      (matching.h), new timers to the timer service (timer_service.h), and wakes history long polls.
// The RPCs every workflow makes (StartWorkflowExecution, RespondWorkflowTaskCompleted,
// RespondActivityTask*) do the same without blocking a thread: their answer comes through a Reply
// once the commit is durable (update_run_async, update_run.h). The others block their engine
// thread until it is.
//
// Methods are split by concept over several files:
//   workflow_lifecycle.cpp   start, signal, cancel request, terminate, run timeouts, describe, list
//   workflow_tasks.cpp       scheduling, handing out, completing, failing and timing out workflow tasks
//   commands.cpp             what each command of a completed workflow task writes
//   activities.cpp           activity tasks: hand-out, heartbeat, completion, retry, timeouts
//   history_reads.cpp        GetWorkflowExecutionHistory, paging and long polls
//   history_engine.cpp       locking, loading, committing, timers, start-up
// The walk-through in ARCHITECTURE.md follows one workflow through these files.
#pragma once

#include <atomic>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/thread_pool.hpp>
#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "clock.h"
#include "errors.h"
#include "execution_update.h"
#include "history/history_store.h"
#include "matching.h"
#include "proto_names.h"
#include "temporal/api/workflowservice/v1/request_response.pb.h"
#include "timer_service.h"
#include "workflow_turn.h"

namespace reprise::engine {

namespace ws = temporal::api::workflowservice::v1;
using history::ExecutionKey;
using SteadyTime = std::chrono::steady_clock::time_point;

struct EngineOptions {
  std::vector<std::string> namespaces{"default"};
  int64_t default_workflow_task_timeout_ms = 10'000;
  int64_t max_workflow_task_timeout_ms = 120'000;
  int64_t default_sticky_schedule_to_start_ms = 10'000;
  // Longest time a poll is parked before it answers "no task" (kept under the client deadline).
  std::chrono::milliseconds long_poll_timeout{60'000};
  int pool_threads = 8;
  // Honour request_eager_execution on ScheduleActivityTask (Temporal's
  // system.enableActivityEagerExecution): the activity starts in the workflow task's own commit and
  // its task goes back in the RespondWorkflowTaskCompleted response instead of through a queue.
  bool eager_activity_execution = true;
  // The most activities one run may have pending (scheduled, not yet closed); a workflow task
  // scheduling more fails with PENDING_ACTIVITIES_LIMIT_EXCEEDED. Temporal's
  // limit.numPendingActivities.error, with its default. 0 or less: no limit.
  int max_pending_activities = 2000;
};

// A parked long poll; cancel() ends it early (the client went away).
class PollHandle {
 public:
  virtual ~PollHandle() = default;
  virtual void cancel() = 0;
};

// What a worker needs to hear about a workflow task it was just given; captured during the turn,
// turned into a response after it (build_workflow_task_response, workflow_tasks.cpp).
struct StartedWorkflowTask {
  ExecutionKey key;
  std::string workflow_type;
  std::string normal_queue;
  WorkflowTaskInfo task;
  int64_t previous_started_event_id = 0;
  bool sticky = false;
};

// How an asynchronous engine method answers: exactly once, with its response or with the error it
// would have thrown (an EngineError, or anything else for INTERNAL), on whichever thread finished
// the work: the caller's, an engine thread, or the store's thread that answers commits.
template <class Response>
using Reply = std::function<void(Response, std::exception_ptr)>;

// Why a workflow task's commands were refused (commands.cpp).
struct BadCommand {
  enums::WorkflowTaskFailedCause cause;
  std::string message;
  // "BadScheduleActivityAttributes: <message>": Temporal's wording, in the WorkflowTaskFailed
  // event's failure and in the worker's INVALID_ARGUMENT.
  std::string describe() const;
};
// A close command (complete, fail, cancel, continue-as-new) must come last. A sequence that breaks
// this is a malformed request, refused before anything else (as in Temporal): returns why, or nullopt.
std::optional<std::string> validate_command_sequence(const google::protobuf::RepeatedPtrField<Command>& commands);
// Checks every command before any is applied, so a refused completion changes nothing.
// max_pending_activities: EngineOptions' (0: no limit).
std::optional<BadCommand> validate_commands(const MutableState& state,
                                            const google::protobuf::RepeatedPtrField<Command>& commands,
                                            int max_pending_activities);
bool has_close_command(const google::protobuf::RepeatedPtrField<Command>& commands);

class HistoryEngine {
 public:
  HistoryEngine(history::HistoryStore& store, Clock& clock, EngineOptions options = {});
  ~HistoryEngine();
  HistoryEngine(const HistoryEngine&) = delete;
  HistoryEngine& operator=(const HistoryEngine&) = delete;

  // Loads the persisted tasks and timers and starts the timer and pool threads.
  void start();
  // First half of a shutdown: answers every parked long poll at once, and any that arrive later
  // without waiting. The engine's threads keep running, so the gRPC server can drain its calls.
  void begin_shutdown();
  // Answers parked polls, stops timers and threads. Idempotent.
  void stop();

  const EngineOptions& options() const { return options_; }
  bool namespace_exists(const std::string& ns) const;

  // --- workflow_lifecycle.cpp ---
  // Asynchronous, as respond_workflow_task_completed below.
  void start_workflow_execution(const ws::StartWorkflowExecutionRequest& req,
                                Reply<ws::StartWorkflowExecutionResponse> reply);
  ws::SignalWorkflowExecutionResponse signal_workflow_execution(const ws::SignalWorkflowExecutionRequest& req);
  ws::RequestCancelWorkflowExecutionResponse request_cancel_workflow_execution(
      const ws::RequestCancelWorkflowExecutionRequest& req);
  ws::TerminateWorkflowExecutionResponse terminate_workflow_execution(const ws::TerminateWorkflowExecutionRequest& req);
  ws::DescribeWorkflowExecutionResponse describe_workflow_execution(const ws::DescribeWorkflowExecutionRequest& req);
  ws::ListWorkflowExecutionsResponse list_workflow_executions(const ws::ListWorkflowExecutionsRequest& req);
  ws::CountWorkflowExecutionsResponse count_workflow_executions(const ws::CountWorkflowExecutionsRequest& req);

  // --- workflow_tasks.cpp ---
  // `done` is called exactly once, with a task or an empty response: on an engine thread, or on the
  // thread whose commit started the task for this poll (AfterCommit).
  std::shared_ptr<PollHandle> poll_workflow_task_queue(const ws::PollWorkflowTaskQueueRequest& req,
                                                       SteadyTime client_deadline,
                                                       std::function<void(ws::PollWorkflowTaskQueueResponse)> done);
  // Asynchronous (see Reply): checks that fail at once are thrown, later errors come through `reply`.
  // `req` must stay alive until `reply` has run.
  void respond_workflow_task_completed(const ws::RespondWorkflowTaskCompletedRequest& req,
                                       Reply<ws::RespondWorkflowTaskCompletedResponse> reply);
  ws::RespondWorkflowTaskFailedResponse respond_workflow_task_failed(const ws::RespondWorkflowTaskFailedRequest& req);
  // A worker going away names its sticky queue (Temporal's ShutdownWorker): workflow tasks scheduled
  // from then on go to the normal queue at once instead of waiting out the sticky schedule-to-start
  // timeout there. Kept in memory only: sticky queue names are unique per worker, and after a
  // restart (or for a task already waiting on the queue) the timeout still moves the task.
  void shutdown_worker(const ws::ShutdownWorkerRequest& req);

  // --- activities.cpp ---
  std::shared_ptr<PollHandle> poll_activity_task_queue(const ws::PollActivityTaskQueueRequest& req,
                                                       SteadyTime client_deadline,
                                                       std::function<void(ws::PollActivityTaskQueueResponse)> done);
  ws::RecordActivityTaskHeartbeatResponse record_activity_task_heartbeat(
      const ws::RecordActivityTaskHeartbeatRequest& req);
  // Asynchronous, as respond_workflow_task_completed.
  void respond_activity_task_completed(const ws::RespondActivityTaskCompletedRequest& req,
                                       Reply<ws::RespondActivityTaskCompletedResponse> reply);
  void respond_activity_task_failed(const ws::RespondActivityTaskFailedRequest& req,
                                    Reply<ws::RespondActivityTaskFailedResponse> reply);
  void respond_activity_task_canceled(const ws::RespondActivityTaskCanceledRequest& req,
                                      Reply<ws::RespondActivityTaskCanceledResponse> reply);

  // --- history_reads.cpp ---
  // Answers at once unless wait_new_event asks to wait; then `done` runs when there is news or at
  // the deadline (an empty page plus a token to poll again). Errors are thrown before any waiting.
  std::shared_ptr<PollHandle> get_workflow_execution_history(
      const ws::GetWorkflowExecutionHistoryRequest& req, SteadyTime client_deadline,
      std::function<void(ws::GetWorkflowExecutionHistoryResponse)> done);

  // For tests and benchmarks.
  Matching& matching() { return *matching_; }
  TimerService& timers() { return *timer_service_; }
  size_t workflow_contexts();  // workflow ids the engine holds state for now

 private:
  struct LoadedRun {
    history::ExecutionRow row;  // versions as stored; row.state is not kept (see `state`)
    MutableState state;
  };
  // Everything the engine holds for one workflow id; its turn serializes all requests on it.
  struct WorkflowContext {
    explicit WorkflowContext(boost::asio::io_context& io) : turn(io) {}
    WorkflowTurn turn;
    std::optional<LoadedRun> cached;  // the run touched last
    std::string current_run_id;       // newest run, once known
  };
  // A workflow id's context, held for the length of one request. When the last holder lets go of
  // a context without a running run cached (the run closed, or the id names no workflow), the entry
  // leaves contexts_: the engine holds memory for running workflows only, not for every id it saw.
  class ContextLease {
   public:
    ContextLease(HistoryEngine& engine, std::string key, std::shared_ptr<WorkflowContext> ctx)
        : engine_(engine), key_(std::move(key)), ctx_(std::move(ctx)) {}
    ~ContextLease();
    ContextLease(const ContextLease&) = delete;
    ContextLease& operator=(const ContextLease&) = delete;
    WorkflowContext* operator->() const { return ctx_.get(); }
    WorkflowContext& operator*() const { return *ctx_; }

   private:
    HistoryEngine& engine_;
    std::string key_;
    std::shared_ptr<WorkflowContext> ctx_;
  };

  // --- history_engine.cpp ---
  ContextLease context_for(const std::string& ns, const std::string& workflow_id);
  // Resolves an empty run id to the current run. Throws NOT_FOUND. Caller holds ctx->turn.
  LoadedRun& load_run(WorkflowContext& ctx, const ExecutionKey& key);
  // The same, or nullptr when there is no such run (a new workflow id, for a start).
  LoadedRun* find_run(WorkflowContext& ctx, const ExecutionKey& key);
  // Runs `fn` on the run's state and commits what it appended; retries on a store conflict.
  // `fn` returns a value or throws EngineError (then the cached state is discarded: nothing happened).
  template <class Fn>
  auto update_run(const ExecutionKey& key, Fn&& fn);
  // The same without blocking: `then(result, error)` runs once the commit is durable (update_run.h).
  template <class Fn, class Then>
  void update_run_async(const ExecutionKey& key, Fn fn, Then then);
  struct AsyncUpdate;  // one update_run_async in flight (history_engine.cpp)
  void run_update_async(const ExecutionKey& key, std::function<void(ExecutionUpdate&)> apply,
                        std::function<void(std::exception_ptr)> finished);

  struct HistoryWaiter;
  // What a reader of a run needs to know of it: as a committer saw it, or the store has it.
  struct RunView {
    ExecutionKey key;
    int64_t next_event_id = 1;
    bool running = true;
  };
  // What committed updates hand on, done when this goes out of scope, on the committing thread:
  // the workflow tasks they started for waiting pollers (ExecutionUpdate::claimed_tasks) are
  // answered, and the history polls their new events answer (a client waiting for a result) are
  // answered. What each needs of the run is seen while the committer still has the turn, so
  // neither takes it again: a caller declares this BEFORE taking the turn, so it is destroyed after
  // the turn is passed on, and the store's answering thread (update_run_async), which must not wait
  // for a turn, can run it too. A task or a result goes from the commit to its answer with no
  // hand-off to another thread.
  class AfterCommit {
   public:
    explicit AfterCommit(HistoryEngine& engine) : engine_(engine) {}
    AfterCommit(const AfterCommit&) = delete;
    AfterCommit& operator=(const AfterCommit&) = delete;
    ~AfterCommit();
    // Takes the update's (and its successor's) claimed tasks; only once its commit is durable.
    void take(ExecutionUpdate& update);
    void answer(std::vector<std::shared_ptr<HistoryWaiter>> waiters, const RunView& view);

   private:
    struct StartedForPoller {
      std::unique_ptr<Matching::Claim> poller;
      StartedWorkflowTask started;
    };
    HistoryEngine& engine_;
    std::vector<StartedForPoller> tasks_;
    std::vector<std::pair<std::shared_ptr<HistoryWaiter>, RunView>> waiters_;
  };
  // The same three steps for a run that does not exist yet (a start): the transaction that
  // creates it, and, once committed, the run as the context's cached one.
  history::Transaction prepare_new_run(ExecutionUpdate& update);
  void apply_new_run(WorkflowContext& ctx, ExecutionUpdate& update, history::Transaction& tx,
                     AfterCommit& after_commit);
  // The store's commit_async, plus step 2 when the store fails (asked on the io thread, not the
  // store's). `done(result, error)` runs once; `ctx` and `tx` must stay alive until it has.
  void commit_async(WorkflowContext& ctx, history::Transaction& tx,
                    std::function<void(history::CommitResult, std::exception_ptr)> done);
  // Commits an update of an existing run; on Ok, its claimed tasks go to `after_commit`. In three
  // steps that update_run_async takes too, with commit_async between the first and the others:
  history::CommitResult commit(WorkflowContext& ctx, LoadedRun& run, ExecutionUpdate& update,
                               AfterCommit& after_commit);
  //   1. the transaction: events, tasks and timers of the update, the run's new row;
  history::Transaction prepare_commit(LoadedRun& run, ExecutionUpdate& update);
  //   2. after the store threw: whether the write landed all the same (then Ok, with the ids of its
  //      task and timer rows read back); throws UNAVAILABLE if it did not;
  history::CommitResult landed_despite(WorkflowContext& ctx, history::Transaction& tx, std::exception_ptr error);
  //   3. on Ok: the run's new row cached, tasks to matching, timers armed, claims and polls handed on.
  void apply_commit(WorkflowContext& ctx, LoadedRun& run, ExecutionUpdate& update, history::Transaction& tx,
                    AfterCommit& after_commit);
  // The end of an async commit that landed, with the turn still held: `take_in(after_commit)` (step
  // 3, or apply_new_run), then `release()` (drop what refers to the cached state), then the turn
  // passed on, then the after-commit work. If `take_in` throws, the write is durable but was not
  // taken in (out of memory): the cached state is forgotten, so the next request reads the store,
  // and the error is returned.
  std::exception_ptr take_in_landed(WorkflowContext& ctx, const std::function<void(AfterCommit&)>& take_in,
                                    const std::function<void()>& release);
  // A closed run is rarely touched again: drop its cached state so memory stays bounded.
  static void forget_if_closed(WorkflowContext& ctx);
  void on_timer(const TimerRow& timer);
  void retry_later(const TimerRow& timer);
  // Arms a start-to-close timeout (an activity attempt's or a workflow task's) unless a timer row
  // of the same kind of this run fires no later; that row arms the next deadline when it fires
  // (rearm_activity_start_to_close, arm_workflow_task_start_to_close). See timer_service.h.
  void arm_start_to_close(ExecutionUpdate& u, history::TimerKind kind, int64_t due_ms, int64_t event_id,
                          int32_t attempt);
  void enqueue_task(const TaskRow& task);

  // --- workflow_tasks.cpp ---
  // Schedules the next workflow task (on the sticky queue when the worker asked for one). If a
  // worker is already polling that queue (and `to_waiting_poller`), the task starts for it in this
  // same update and is handed over after the commit (see Matching::claim).
  void schedule_workflow_task(ExecutionUpdate& u, int32_t attempt, bool to_waiting_poller = true);
  // After a workflow task failed or timed out: next attempt, transient if attempt >= 2.
  void schedule_workflow_task_retry(ExecutionUpdate& u, int32_t failed_attempt, bool was_sticky);
  // Schedules a workflow task if the update needs one and none is pending.
  void schedule_workflow_task_if_needed(ExecutionUpdate& u);
  // Marks a scheduled workflow task as started (writes WorkflowTaskStarted unless transient).
  void start_workflow_task(ExecutionUpdate& u, const std::string& identity, const std::string& request_id);
  // Its history travels as bytes in an unknown field (see workflow_tasks.cpp): on the server,
  // resp.history() of it reads empty, and events added through mutable_history() would go out
  // before the stored ones. Add to the bytes instead (history/history_bytes.h).
  ws::PollWorkflowTaskQueueResponse build_workflow_task_response(const StartedWorkflowTask& task);
  // RespondWorkflowTaskCompleted's update: the completion, its commands' events, the next task.
  struct Completion;  // what is left to answer once that is committed
  Completion complete_workflow_task(ExecutionUpdate& u, const ws::RespondWorkflowTaskCompletedRequest& req,
                                    const TaskToken& token);
  // What the poller a task was claimed for gets (AfterCommit): nullopt if the update went on to
  // end that task (the run closed), and then the claim answers "no task".
  static std::optional<StartedWorkflowTask> started_for_claim(const ExecutionKey& key, const MutableState& state,
                                                              const history::TaskRow& task);
  // Fails the in-flight workflow task (WorkflowTaskFailed unless transient).
  void fail_workflow_task(ExecutionUpdate& u, enums::WorkflowTaskFailedCause cause, const Failure& failure,
                          const std::string& identity);
  void on_workflow_task_timer(const TimerRow& timer);
  void apply_workflow_task_timer(ExecutionUpdate& u, const TimerRow& timer);
  // Arms the started workflow task's start-to-close deadline, if a task is started: when it starts,
  // and after a WorkflowTaskStartToClose row fired (that row may have stood for this deadline).
  void arm_workflow_task_start_to_close(ExecutionUpdate& u);

  // --- commands.cpp ---
  void apply_commands(ExecutionUpdate& u, const google::protobuf::RepeatedPtrField<Command>& commands,
                      int64_t completed_event_id, const std::string& identity);

  // --- activities.cpp ---
  std::optional<ws::PollActivityTaskQueueResponse> start_activity_task(const TaskRow& task,
                                                                       const ws::PollActivityTaskQueueRequest& req);
  // Marks an attempt as started by `identity` and arms its start-to-close and heartbeat timers:
  // for a polled task (start_activity_task) and for an eager one (commands.cpp).
  void start_activity_attempt(ExecutionUpdate& u, ActivityInfo& activity, const std::string& identity);
  // Writes ActivityTaskStarted for the attempt that is closing; returns its id (0 when buffered).
  int64_t write_activity_started(ExecutionUpdate& u, const ActivityInfo& activity);
  // Makes the activity's next attempt (or first) pollable: a task row and its schedule-to-start timer.
  void make_activity_dispatchable(ExecutionUpdate& u, const ActivityInfo& activity);
  void on_activity_timer(const TimerRow& timer);
  void apply_activity_timer(ExecutionUpdate& u, const TimerRow& timer);
  // After an ActivityStartToClose row fired: arms the earliest deadline of the started attempts.
  void rearm_activity_start_to_close(ExecutionUpdate& u);
  // Closes an activity attempt that failed or timed out: retry (no event) or write the final events.
  void fail_activity_attempt(ExecutionUpdate& u, ActivityInfo& activity, const Failure& failure,
                             const std::string& identity, const Payloads* last_heartbeat_details, bool timed_out);

  // --- workflow_lifecycle.cpp ---
  struct StartPlan;   // a start request, checked and normalised
  struct AsyncStart;  // one start_workflow_execution in flight
  // Writes a new run's WorkflowExecutionStarted (given) and first WorkflowTaskScheduled, and arms
  // its run and execution timeouts: the one way a run begins (start and continue-as-new).
  void begin_run(ExecutionUpdate& u, HistoryEvent started);
  // Closes the run with WorkflowExecutionContinuedAsNew and starts its successor in the same
  // transaction.
  void continue_as_new(ExecutionUpdate& u, const ContinueAsNewAttributes& attributes, int64_t completed_event_id,
                       const std::string& identity);
  void on_workflow_timeout_timer(const TimerRow& timer);
  // Before the run closes from outside (terminate, timeout): fails a workflow task in flight
  // (FORCE_CLOSE_COMMAND) and writes what waited in the buffer.
  void force_close_workflow_task(ExecutionUpdate& u);
  void terminate_run(ExecutionUpdate& u, const std::string& reason, const Payloads& details,
                     const std::string& identity);

  // --- history_reads.cpp ---
  // The GetWorkflowExecutionHistory long polls parked on `key` that new events may answer. Polls
  // for the close event only are left parked while the run is still running (`closed` false).
  std::vector<std::shared_ptr<HistoryWaiter>> history_waiters_to_wake(const ExecutionKey& key, bool closed);
  void cancel_history_waiters();  // answers every parked history poll (shutdown)
  void park_history_waiter(const std::shared_ptr<HistoryWaiter>& waiter);
  void unpark_history_waiter(const std::shared_ptr<HistoryWaiter>& waiter);
  // Answers the waiter if there is something to answer now, and unparks it then; with what a
  // committer saw of the run, or (no view) what the store has.
  void answer_history_waiter(const std::shared_ptr<HistoryWaiter>& waiter, const RunView* view = nullptr);
  void arm_history_wake();        // io thread only
  void expire_history_waiters();  // io thread only: answers the waiters whose deadline passed

  history::HistoryStore& store_;
  Clock& clock_;
  EngineOptions options_;

  // Before io_, so that they outlive it: handlers still queued on io_ when it is destroyed (work
  // cut short by a shutdown) hold contexts.
  std::mutex contexts_mu_;
  std::unordered_map<std::string, std::shared_ptr<WorkflowContext>> contexts_;

  boost::asio::io_context io_;
  std::optional<boost::asio::executor_work_guard<boost::asio::io_context::executor_type>> io_work_;
  std::thread io_thread_;
  std::unique_ptr<boost::asio::thread_pool> pool_;
  std::unique_ptr<Matching> matching_;
  std::unique_ptr<TimerService> timer_service_;

  std::mutex shut_down_sticky_mu_;
  std::unordered_set<std::string> shut_down_sticky_queues_;  // namespace + '/' + queue name
  bool sticky_queue_shut_down(const std::string& ns, const std::string& queue);

  // Parked history polls, by run and by deadline; history_wake_ sleeps until the earliest deadline
  // (it is armed for history_armed_for_, max when not armed).
  std::mutex waiters_mu_;
  std::unordered_multimap<ExecutionKey, std::shared_ptr<HistoryWaiter>, history::ExecutionKeyHash> history_waiters_;
  std::multimap<SteadyTime, std::shared_ptr<HistoryWaiter>> history_deadlines_;
  SteadyTime history_armed_for_ = SteadyTime::max();
  boost::asio::steady_timer history_wake_{io_};

  std::atomic<bool> started_{false};
  std::atomic<bool> shutting_down_{false};
  std::atomic<bool> stopped_{false};
};

// The task a worker gets for a started activity attempt, polled or eager (activities.cpp).
ws::PollActivityTaskQueueResponse activity_task_response(const ExecutionKey& key, const MutableState& state,
                                                         const ActivityInfo& activity,
                                                         const ActivityTaskScheduledEventAttributes& scheduled);

// Task tokens: opaque bytes for workers, a TaskToken message inside (task_token.cpp).
std::string encode_task_token(const TaskToken& token);
// Throws INVALID_ARGUMENT when the bytes are not a task token of this server.
TaskToken decode_task_token(const std::string& bytes);

}  // namespace reprise::engine
