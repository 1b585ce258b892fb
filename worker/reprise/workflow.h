// reprise/workflow.h: write Temporal workflows as C++20 coroutines. Start here.
//
//   #include "reprise/workflow.h"
//   using namespace std::chrono_literals;
//
//   reprise::Workflow<std::string> greet(reprise::WorkflowContext& ctx, std::string name) {
//     auto greeting = co_await ctx.execute_activity<std::string>(
//         "compose_greeting", {.start_to_close_timeout = 10s}, name);
//     co_await ctx.sleep(5s);
//     co_return greeting;
//   }
//
// ---- Why this code survives crashes: replay --------------------------------------------------
//
// A workflow does not keep its state in memory; the server keeps a *history* of what happened to
// it, and the worker rebuilds the state by running the code again against that history. Each call
// that needs the outside world is not performed by the worker: it becomes a *command* (schedule
// this activity, start this timer) sent to the server, which records it as an *event* and reports
// the outcome as more events. Here is greet("Temporal") as the server records it:
//
//   id  event                       who wrote it and why
//   --  --------------------------  ---------------------------------------------------------
//    1  WorkflowExecutionStarted    client: start greet("Temporal")
//    2  WorkflowTaskScheduled       server: the code has something to decide
//    3  WorkflowTaskStarted         a worker took the task; the code ran up to the co_await ...
//    4  WorkflowTaskCompleted       ... and answered with one command, ScheduleActivityTask
//    5  ActivityTaskScheduled       that command, as an event
//    6  ActivityTaskStarted         an activity worker ran compose_greeting
//    7  ActivityTaskCompleted       result "Hello, Temporal"
//    8  WorkflowTaskScheduled
//    9  WorkflowTaskStarted         the code resumed with the result, ran to ctx.sleep(5s) ...
//   10  WorkflowTaskCompleted       ... and answered StartTimer
//   11  TimerStarted
//   12  TimerFired                  five seconds later
//   13  WorkflowTaskScheduled
//   14  WorkflowTaskStarted         the code resumed after the sleep and returned ...
//   15  WorkflowTaskCompleted       ... answering CompleteWorkflowExecution
//   16  WorkflowExecutionCompleted  result "Hello, Temporal"
//
// If the worker dies after event 12, another worker gets the whole history and runs greet from the
// first line. At event 3 the code asks for the activity again; the replay engine sees that event 5
// already records that command and does not send it; event 7 hands the co_await its result without
// running the activity. The code reaches ctx.sleep(5s), event 11 confirms it, event 12 fires it, and
// the code continues from exactly where the dead worker stopped.
//
// ---- Nondeterminism ---------------------------------------------------------------------------
//
// This works only if the code, run again, produces the same commands in the same order. The engine
// checks: each command event in history must match the next command the code produced, in kind
// (ScheduleActivityTask <-> ActivityTaskScheduled) and in identity (activity id and type, timer id,
// marker name and id). Any difference throws NondeterminismError, reported like Temporal's:
//
//   [TMPRL1100] Nondeterminism error: history event #5 ActivityTaskScheduled {activity_id: "1",
//   activity_type: "compose_greeting"} does not match the command the workflow code produced:
//   StartTimer {timer_id: "1", start_to_fire_timeout: 5s} at greet.cpp:14 (...)
//
// The workflow task then fails (it is not the workflow that fails): the run stays open, and the
// next attempt, on fixed code, carries on. To change a workflow's commands safely, branch on
// ctx.patched("my-change") or ctx.get_version(...), and test with reprise::Replayer.
//
// ---- The rules for workflow code ---------------------------------------------------------------
//
// Replay needs the same inputs to give the same commands. So, inside a workflow:
//   * No system clock: use ctx.now() (the time of the workflow task), never std::chrono::*_clock::now().
//   * No randomness of your own: use ctx.random() and ctx.uuid() (seeded from the run id), never
//     std::rand, std::random_device or an unseeded engine.
//   * No threads, no blocking, no sleeping: use ctx.sleep() and co_await; the workflow runs on one
//     thread, scheduled by history (reprise/scheduler.h).
//   * No I/O (files, network, databases, environment variables): do it in an activity, or record a
//     small value once with ctx.side_effect().
//   * No iteration over containers whose order is not fixed (std::unordered_map) when the order
//     decides which commands are produced.
//   * Throw a reprise::ApplicationError (or let an ActivityError escape) to fail the workflow; any
//     other exception fails the workflow task and is retried (reprise/errors.h).
//   * Do not catch(...) and carry on: a NondeterminismError must reach the engine.
//
// One rule comes from the compiler, not from Temporal. g++ 12 mishandles temporaries of aggregate
// or lambda type written *inside a co_await expression*: it hands the call a bitwise copy and later
// destroys both. Harmless when the temporary is trivially copyable (the option structs are made so,
// and lambdas capturing by reference, [&], are), fatal otherwise. So, inside a co_await expression,
// write no lambda capturing a std::string/shared_ptr/... by value and no struct temporary holding
// one; name it in a statement before:
//     auto ready = [queue] { return !queue->empty(); };        // not inside the co_await
//     co_await ctx.wait_condition(ready);
//     Order order{.item = "tea"};                               // likewise for activity arguments
//     co_await ctx.execute_activity<int>("price", {.start_to_close_timeout = 5s}, order);
// (The AddressSanitizer build, ninja check_worker_asan, catches a slip.)
//
// ---- Where things are ---------------------------------------------------------------------------
//
//   reprise/context.h            WorkflowContext: activities, timers, now/random, markers, signals
//   reprise/workflow_coroutine.h Workflow<T>, the coroutine type; live_workflow_frames()
//   reprise/combinators.h        wait conditions, all(...), any(...)
//   reprise/converter.h          payloads: json/plain, binary/plain, binary/null, codecs
//   reprise/errors.h             ApplicationError, ActivityError, CanceledError, NondeterminismError
//   reprise/registry.h           WorkflowRegistry: workflow types by name
//   reprise/workflow_run.h       WorkflowRun: the interface for the worker runtime
//   reprise/replayer.h           Replayer: replay recorded histories offline
//
// The whole replay cycle is shown by tests/worker/three_ways_test.cpp.
#pragma once

#include "reprise/combinators.h"
#include "reprise/context.h"
#include "reprise/converter.h"
#include "reprise/errors.h"
#include "reprise/operation.h"
#include "reprise/options.h"
#include "reprise/registry.h"
#include "reprise/signals.h"
#include "reprise/workflow_coroutine.h"
