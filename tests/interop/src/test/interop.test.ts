// Interop suite: Temporal's own TypeScript SDK (client, worker with its Rust core, workflow sandbox)
// against a Reprise dev server. One server, one workflow bundle and one TypeScript worker serve the
// whole suite; each scenario asserts its result and the exact event sequence in history, and every
// history is replayed at the end by the SDK's replayer and by Reprise's C++ replayer.
//
//   REPRISE_BIN=build/client/reprise REPRISE_CPP_WORKER=build/tests/interop/interop_cpp_worker \
//     node --test lib/test/          (run.sh does this; ctest runs run.sh)
import assert from 'node:assert/strict';
import { execFile, spawn, ChildProcess } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { promisify } from 'node:util';

import {
  CancelledFailure,
  Client,
  Connection,
  TerminatedFailure,
  WorkflowExecutionAlreadyStartedError,
  WorkflowFailedError,
  WorkflowNotFoundError,
} from '@temporalio/client';
import { historyFromJSON, historyToJSON, type History } from '@temporalio/common/lib/proto-utils';
import { temporal } from '@temporalio/proto';
import {
  bundleWorkflowCode,
  DefaultLogger,
  NativeConnection,
  Runtime,
  Worker,
  type WorkflowBundleWithSourceMap,
} from '@temporalio/worker';

import { DeterminismViolationError } from '@temporalio/workflow';

import * as activities from '../activities';
import { DevServer } from '../server';
import { countInRuns, greet, greetInCpp, localGreet, proceed, sleepUntilCancelled, twoSteps } from '../workflows';

const run = promisify(execFile);
const reprise = requiredEnv('REPRISE_BIN');
const cppWorkerBin = requiredEnv('REPRISE_CPP_WORKER');
const taskQueue = 'interop-ts';
const cppTaskQueue = 'interop-cpp';

let server: DevServer;
let client: Client;
let nativeConnection: NativeConnection;
let workflowBundle: WorkflowBundleWithSourceMap;
let suiteWorker: RunningWorker;
let cppWorker: ChildProcess | undefined;
let failed = false;
// Every history the suite produced, replayed in the last scenario.
const histories: { name: string; history: History }[] = [];

function requiredEnv(name: string): string {
  const value = process.env[name];
  if (!value) throw new Error(`${name} is not set (run tests/interop/run.sh, or ctest)`);
  return value;
}

// A worker and the promise of its run loop; stop() shuts it down the way a deploy would.
interface RunningWorker {
  worker: Worker;
  done: Promise<void>;
  stop(): Promise<void>;
}

async function startWorker(queue: string, identity: string): Promise<RunningWorker> {
  const worker = await Worker.create({
    connection: nativeConnection,
    namespace: 'default',
    taskQueue: queue,
    identity,
    workflowBundle,
    activities,
  });
  const done = worker.run();
  return {
    worker,
    done,
    async stop() {
      if (worker.getState() === 'RUNNING') worker.shutdown();
      await done;
    },
  };
}

// "EVENT_TYPE_ACTIVITY_TASK_STARTED" -> "ActivityTaskStarted", as Temporal's UI and CLI print them.
function eventTypes(history: History): string[] {
  return (history.events ?? []).map((e) => {
    const full = temporal.api.enums.v1.EventType[e.eventType ?? 0];
    return full
      .replace(/^EVENT_TYPE_/, '')
      .toLowerCase()
      .replace(/(^|_)([a-z])/g, (_, __, c: string) => c.toUpperCase());
  });
}

// The attempts the TypeScript activity made for this name (each scenario uses its own name).
function attemptsOf(name: string): number[] {
  return activities.attempts.filter((a) => a.name === name).map((a) => a.attempt);
}

function keep(name: string, history: History): History {
  histories.push({ name, history });
  return history;
}

// Runs one scenario; a failure makes after() print the server's log. The time limit only turns a
// hang into a failure with that log; no scenario comes near it.
function scenario(name: string, fn: () => Promise<void>): void {
  test(name, async () => {
    let timer: NodeJS.Timeout | undefined;
    const limit = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error('no outcome within 120 s')), 120_000);
    });
    try {
      await Promise.race([fn(), limit]);
    } catch (err) {
      failed = true;
      throw err;
    } finally {
      clearTimeout(timer);
    }
  });
}

// Waits (without a time limit of its own; scenario() has one) until the history ends with the
// given event types.
async function waitForHistoryEnding(workflowId: string, ...tail: string[]): Promise<History> {
  for (;;) {
    const history = await client.workflow.getHandle(workflowId).fetchHistory();
    const types = eventTypes(history);
    if (types.slice(-tail.length).join() === tail.join()) return history;
    await new Promise((r) => setTimeout(r, 50));
  }
}

// Event sequences are built from these runs, as Temporal's docs draw them.
const started = ['WorkflowExecutionStarted', 'WorkflowTaskScheduled', 'WorkflowTaskStarted', 'WorkflowTaskCompleted'];
const workflowTask = ['WorkflowTaskScheduled', 'WorkflowTaskStarted', 'WorkflowTaskCompleted'];
const activity = ['ActivityTaskScheduled', 'ActivityTaskStarted', 'ActivityTaskCompleted'];
const activityThenTimer = [
  ...started,
  ...activity,
  ...workflowTask,
  'TimerStarted',
  'TimerFired',
  ...workflowTask,
  'WorkflowExecutionCompleted',
];

before(async () => {
  try {
    // ERROR: scenario 2's activity failures and scenario 5's nondeterministic replay are expected;
    // they are not worth a warning with a stack trace.
    Runtime.install({
      logger: new DefaultLogger('ERROR'),
      telemetryOptions: { logging: { filter: { core: 'ERROR', other: 'ERROR' } } },
    });
    // Long polls answer empty after 1 s, so the SDK's re-polling (core's task polls, the client's
    // wait for a result) is exercised within the suite, not only after a minute.
    server = await DevServer.start(reprise, ['--long-poll-timeout', '1']);
    const connection = await Connection.connect({ address: server.address });
    client = new Client({ connection, namespace: 'default' });
    nativeConnection = await NativeConnection.connect({ address: server.address });
    workflowBundle = await bundleWorkflowCode({
      workflowsPath: require.resolve('../workflows'),
      logger: new DefaultLogger('WARN'),
    });
    suiteWorker = await startWorker(taskQueue, 'ts-suite-worker');
  } catch (err) {
    failed = true; // after() prints the server's log
    throw err;
  }
});

after(async () => {
  await suiteWorker?.stop();
  if (cppWorker?.pid && cppWorker.exitCode === null) {
    const exited = new Promise((resolve) => cppWorker!.once('exit', resolve));
    process.kill(cppWorker.pid, 'SIGTERM');
    await exited;
  }
  await nativeConnection?.close();
  await client?.connection.close();
  if (failed && server) console.error(`--- Reprise server log ---\n${server.log.slice(-20000)}`);
  await server?.stop();
});

scenario('1. a TypeScript client runs a TypeScript workflow: an activity, then a timer', async () => {
  const handle = await client.workflow.start(greet, { taskQueue, workflowId: 'greet-1', args: ['Ada'] });
  assert.equal(await handle.result(), 'Hello, Ada!');

  const history = keep('greet-1', await handle.fetchHistory());
  assert.deepEqual(eventTypes(history), activityThenTimer);
  const scheduled = history.events![4].activityTaskScheduledEventAttributes!;
  assert.equal(scheduled.activityType!.name, 'composeGreeting');
  assert.equal(history.events![5].activityTaskStartedEventAttributes!.attempt, 1);
  assert.equal(Number(history.events![10].timerStartedEventAttributes!.startToFireTimeout!.seconds), 1);
  // What core sent as sdk_metadata comes back as sent; replay reads its flags.
  const metadata = history.events![3].workflowTaskCompletedEventAttributes!.sdkMetadata!;
  assert.equal(metadata.sdkName, 'temporal-typescript');
  assert.equal(metadata.sdkVersion, '1.24.0');
  assert.ok(metadata.coreUsedFlags!.length > 0);
  assert.deepEqual(attemptsOf('Ada'), [1]);
});

scenario('2. the activity fails twice and succeeds on attempt 3 under a retry policy', async () => {
  const handle = await client.workflow.start(greet, { taskQueue, workflowId: 'greet-2', args: ['Bo', 3] });
  assert.equal(await handle.result(), 'Hello, Bo!');

  const history = keep('greet-2', await handle.fetchHistory());
  // Retried attempts write nothing: one Scheduled/Started/Completed, Started says attempt 3.
  assert.deepEqual(eventTypes(history), activityThenTimer);
  const started = history.events![5].activityTaskStartedEventAttributes!;
  assert.equal(started.attempt, 3);
  assert.equal(started.lastFailure!.message, 'not yet (attempt 2)');
  assert.deepEqual(attemptsOf('Bo'), [1, 2, 3]);
});

scenario('3a. a TypeScript workflow runs an activity on a C++ Reprise worker', async () => {
  cppWorker = spawn(cppWorkerBin, ['--address', server.address, '--task-queue', cppTaskQueue], {
    stdio: ['ignore', 'inherit', 'inherit'],
  });
  const handle = await client.workflow.start(greetInCpp, {
    taskQueue,
    workflowId: 'greet-cpp-1',
    args: ['Cy', cppTaskQueue],
  });
  assert.equal(await handle.result(), 'Hello from C++, Cy! (via TypeScript)');

  const history = keep('greet-cpp-1', await handle.fetchHistory());
  assert.deepEqual(eventTypes(history), [...started, ...activity, ...workflowTask, 'WorkflowExecutionCompleted']);
  assert.equal(history.events![4].activityTaskScheduledEventAttributes!.taskQueue!.name, cppTaskQueue);
  assert.equal(history.events![5].activityTaskStartedEventAttributes!.identity, 'reprise-cpp-worker');
  assert.equal(history.events![2].workflowTaskStartedEventAttributes!.identity, 'ts-suite-worker');
});

scenario('3b. the C++ CLI (reprise workflow execute) starts a TypeScript workflow and gets its result', async () => {
  const { stdout } = await run(reprise, [
    'workflow',
    'execute',
    '--address',
    server.address,
    '--output',
    'json',
    '--type',
    'greet',
    '--task-queue',
    taskQueue,
    '--workflow-id',
    'greet-cli-1',
    '--input',
    '"Dee"',
  ]);
  const out = JSON.parse(stdout);
  assert.equal(out.status, 'Completed');
  assert.equal(out.result, 'Hello, Dee!');

  const history = keep('greet-cli-1', await client.workflow.getHandle('greet-cli-1').fetchHistory());
  assert.deepEqual(eventTypes(history), activityThenTimer);
});

scenario('4. a TypeScript worker is stopped mid-workflow and a new one finishes it (signal, replay)', async () => {
  const queue = 'interop-restart';
  const first = await startWorker(queue, 'ts-worker-a');
  const handle = await client.workflow.start(twoSteps, { taskQueue: queue, workflowId: 'two-steps-1', args: ['Eve'] });
  // The first step is done and the workflow waits for the signal: stop this worker here.
  await waitForHistoryEnding('two-steps-1', 'ActivityTaskCompleted', ...workflowTask);
  await first.stop();
  // Meanwhile the client waits for the result: its history long poll is answered with an empty
  // page and a token (after the server's 1 s long-poll timeout), and it polls again with the token.
  const result = handle.result();
  await new Promise((r) => setTimeout(r, 1500));

  const second = await startWorker(queue, 'ts-worker-b');
  try {
    await handle.signal(proceed, 'Fay');
    assert.deepEqual(await result, ['Hello, Eve!', 'Hello, Fay!']);
  } finally {
    await second.stop();
  }

  const history = keep('two-steps-1', await handle.fetchHistory());
  const types = eventTypes(history);
  // No WorkflowTaskTimedOut: after ShutdownWorker the signal's task skipped worker a's sticky queue.
  assert.deepEqual(types, [
    ...started,
    ...activity,
    ...workflowTask,
    'WorkflowExecutionSignaled',
    ...workflowTask,
    ...activity,
    ...workflowTask,
    'WorkflowExecutionCompleted',
  ]);
  const identities = history.events!
    .filter((e) => e.workflowTaskStartedEventAttributes)
    .map((e) => e.workflowTaskStartedEventAttributes!.identity);
  assert.deepEqual(identities, ['ts-worker-a', 'ts-worker-a', 'ts-worker-b', 'ts-worker-b']);
  // Worker b replayed the first step from history instead of running it again.
  assert.deepEqual(attemptsOf('Eve'), [1]);
});

scenario('markers: a local activity and a patch decision are recorded as markers', async () => {
  const handle = await client.workflow.start(localGreet, { taskQueue, workflowId: 'local-1', args: ['Gil'] });
  assert.equal(await handle.result(), 'HELLO, GIL!');

  const history = keep('local-1', await handle.fetchHistory());
  // The local activity ran inside the workflow task; the patch also upserts TemporalChangeVersion.
  assert.deepEqual(eventTypes(history), [
    ...started,
    'MarkerRecorded',
    'MarkerRecorded',
    'UpsertWorkflowSearchAttributes',
    'WorkflowExecutionCompleted',
  ]);
  const markers = history.events!.filter((e) => e.markerRecordedEventAttributes);
  assert.deepEqual(
    markers.map((e) => e.markerRecordedEventAttributes!.markerName),
    ['core_local_activity', 'core_patch'],
  );
  assert.deepEqual(attemptsOf('Gil'), [1]);
});

scenario('cancellation: a canceled workflow cancels its timer, runs cleanup, and reports canceled', async () => {
  const handle = await client.workflow.start(sleepUntilCancelled, { taskQueue, workflowId: 'cancel-1' });
  await waitForHistoryEnding('cancel-1', 'TimerStarted');
  await handle.cancel();
  const err = await handle.result().then(
    () => assert.fail('a canceled workflow has no result'),
    (e: unknown) => e,
  );
  assert.ok(err instanceof WorkflowFailedError, String(err));
  assert.ok(err.cause instanceof CancelledFailure, String(err.cause));

  const history = keep('cancel-1', await handle.fetchHistory());
  assert.deepEqual(eventTypes(history), [
    ...started,
    'TimerStarted',
    'WorkflowExecutionCancelRequested',
    ...workflowTask,
    'TimerCanceled',
    ...activity,
    ...workflowTask,
    'WorkflowExecutionCanceled',
  ]);
});

scenario('terminate, describe, and the typed errors of the TypeScript client', async () => {
  const handle = await client.workflow.start(sleepUntilCancelled, { taskQueue, workflowId: 'terminate-1' });
  await assert.rejects(
    client.workflow.start(sleepUntilCancelled, { taskQueue, workflowId: 'terminate-1' }),
    WorkflowExecutionAlreadyStartedError,
  );
  await waitForHistoryEnding('terminate-1', 'TimerStarted');
  await handle.terminate('enough');
  const err = await handle.result().then(
    () => assert.fail('a terminated workflow has no result'),
    (e: unknown) => e,
  );
  assert.ok(err instanceof WorkflowFailedError && err.cause instanceof TerminatedFailure, String(err));
  const history = keep('terminate-1', await handle.fetchHistory());
  assert.equal(eventTypes(history).at(-1), 'WorkflowExecutionTerminated');

  const description = await handle.describe();
  assert.equal(description.status.name, 'TERMINATED');
  assert.equal(description.type, 'sleepUntilCancelled');
  assert.equal(description.taskQueue, taskQueue);
  assert.ok(description.startTime instanceof Date && description.startTime.getTime() > 0);
  assert.ok(description.closeTime instanceof Date && description.closeTime >= description.startTime);
  assert.equal(description.historyLength, history.events!.length);

  await assert.rejects(client.workflow.getHandle('no-such-workflow').describe(), WorkflowNotFoundError);
  await assert.rejects(client.workflow.getHandle('no-such-workflow').result(), WorkflowNotFoundError);
});

scenario('continue-as-new: a chain of three runs, and the client gets the last run\'s result', async () => {
  const handle = await client.workflow.start(countInRuns, { taskQueue, workflowId: 'chain-1', args: [0, 3] });
  assert.equal(await handle.result(), 3);

  // Follow the chain from the first run: each closes with ContinuedAsNew naming the next.
  let runId = handle.firstExecutionRunId;
  for (let run = 1; run <= 3; ++run) {
    const history = keep(`chain-1-run-${run}`, await client.workflow.getHandle('chain-1', runId).fetchHistory());
    const first = history.events![0].workflowExecutionStartedEventAttributes!;
    assert.equal(first.firstExecutionRunId, handle.firstExecutionRunId);
    if (run === 1) {
      assert.ok(!first.continuedExecutionRunId);
    }
    const last = history.events!.at(-1)!;
    if (run < 3) {
      assert.deepEqual(eventTypes(history), [...started, ...activity, ...workflowTask, 'WorkflowExecutionContinuedAsNew']);
      const next = last.workflowExecutionContinuedAsNewEventAttributes!.newExecutionRunId!;
      const nextFirst = (await client.workflow.getHandle('chain-1', next).fetchHistory()).events![0];
      assert.equal(nextFirst.workflowExecutionStartedEventAttributes!.continuedExecutionRunId, runId);
      runId = next;
    } else {
      assert.deepEqual(eventTypes(history), [...started, ...activity, ...workflowTask, 'WorkflowExecutionCompleted']);
    }
  }
  assert.equal((await client.workflow.getHandle('chain-1').describe()).runId, runId);
});

scenario('5. every history replays in the SDK replayer; Reprise reads and replays what the SDK exports', async () => {
  assert.ok(histories.length >= 5, `only ${histories.length} histories were collected`);
  for (const { name, history } of histories) {
    await Worker.runReplayHistory({ workflowBundle }, history, name);
  }
  // The replayer can fail: the first history replayed as another workflow type is nondeterministic.
  const wrongType = historyFromJSON(JSON.parse(historyToJSON(histories[0].history)));
  wrongType.events![0].workflowExecutionStartedEventAttributes!.workflowType!.name = 'twoSteps';
  await assert.rejects(Worker.runReplayHistory({ workflowBundle }, wrongType, 'wrong-type'), DeterminismViolationError);

  // Reprise's side reads the JSON the SDK's historyToJSON writes. Its CLI loads every history and
  // writes back the same JSON, field for field; its replayer replays the greet histories against a C++
  // twin of greet, and reports a doctored one as nondeterministic.
  const files = new Map<string, string>();
  for (const { name, history } of histories) {
    const file = join(server.dir, `${name}.json`);
    writeFileSync(file, historyToJSON(history));
    files.set(name, file);
    const shown = await run(reprise, ['workflow', 'show', '--output', 'json', '--file', file]);
    const reread = historyFromJSON(JSON.parse(shown.stdout));
    assert.deepEqual(JSON.parse(historyToJSON(reread)), JSON.parse(historyToJSON(history)), name);
  }
  const greetFiles = ['greet-1', 'greet-2', 'greet-cli-1'].map((name) => files.get(name)!);
  const { stdout } = await run(cppWorkerBin, ['replay', ...greetFiles]);
  assert.deepEqual(
    stdout.trim().split('\n'),
    greetFiles.map((f) => `${f}: replayed`),
  );
  const doctored = join(server.dir, 'greet-doctored.json');
  writeFileSync(doctored, historyToJSON(histories[0].history).replace('"composeGreeting"', '"somethingElse"'));
  const replayed = await run(cppWorkerBin, ['replay', doctored]).then(
    () => assert.fail('a doctored history replayed'),
    (e: { code: number; stdout: string }) => e,
  );
  assert.equal(replayed.code, 1);
  assert.match(replayed.stdout, /Nondeterminism error.*activity type differs/s);

  const table = await run(reprise, ['workflow', 'show', '--file', files.get('greet-1')!]);
  const rows = table.stdout.split('\n').filter((l) => /^\s*\d+\s/.test(l)); // one per event
  assert.deepEqual(
    rows.map((l) => l.split(/\s+/).filter((w) => w && w !== '*')[2]),
    activityThenTimer,
    table.stdout,
  );
});
