// Workflows written against Temporal's own TypeScript SDK, run by a TypeScript worker that talks to a
// Reprise server. The SDK bundles this file with webpack and runs it in its deterministic sandbox;
// nothing here knows it is not talking to Temporal. Exercised by src/test/interop.test.ts.
import {
  CancellationScope,
  condition,
  continueAsNew,
  defineSignal,
  isCancellation,
  patched,
  proxyActivities,
  proxyLocalActivities,
  setHandler,
  sleep,
} from '@temporalio/workflow';
import type * as activities from './activities';

const { composeGreeting } = proxyActivities<typeof activities>({
  startToCloseTimeout: '10s',
  // Short retries keep the suite quick; the server, not the SDK, runs this policy.
  retry: { initialInterval: '100ms', backoffCoefficient: 1, maximumAttempts: 5 },
});

// Scenarios 1 and 2: an activity, then a durable timer. failUntilAttempt > 1 makes the activity fail
// on its first attempts so the server retries it.
export async function greet(name: string, failUntilAttempt = 1): Promise<string> {
  const greeting = await composeGreeting(name, failUntilAttempt);
  await sleep('1s');
  return greeting;
}

// The activity type a C++ Reprise worker registers (tests/interop/cpp_activity_worker.cpp).
interface CppActivities {
  compose_greeting(name: string): Promise<string>;
}

// Scenario 3: the activity runs in C++, on the task queue the C++ worker polls.
export async function greetInCpp(name: string, cppTaskQueue: string): Promise<string> {
  const { compose_greeting } = proxyActivities<CppActivities>({
    taskQueue: cppTaskQueue,
    startToCloseTimeout: '10s',
  });
  return `${await compose_greeting(name)} (via TypeScript)`;
}

// Markers: a patch (versioning) decision and a local activity, both recorded as MarkerRecorded.
export async function localGreet(name: string): Promise<string> {
  const { composeGreeting: composeLocally } = proxyLocalActivities<typeof activities>({ startToCloseTimeout: '10s' });
  const greeting = await composeLocally(name, 1);
  return patched('louder') ? greeting.toUpperCase() : greeting;
}

export const proceed = defineSignal<[string]>('proceed');

// Scenario 4 and signals: one step, then wait for a signal (the test stops the worker here), then a
// second step. The new worker rebuilds the workflow's state by replaying its history.
export async function twoSteps(name: string): Promise<string[]> {
  const first = await composeGreeting(name, 1);
  let word: string | undefined;
  setHandler(proceed, (w) => {
    word = w;
  });
  await condition(() => word !== undefined);
  const second = await composeGreeting(word!, 1);
  return [first, second];
}

// Continue-as-new: one activity per run, then the next run carries the count on; the last run
// returns it. The client's result() follows the chain of runs.
export async function countInRuns(count: number, target: number): Promise<number> {
  await composeGreeting(`run ${count}`, 1);
  if (count + 1 < target) await continueAsNew<typeof countInRuns>(count + 1, target);
  return count + 1;
}

// Cancellation: a long timer that the client cancels; the workflow cleans up and reports canceled.
export async function sleepUntilCancelled(): Promise<string> {
  try {
    await sleep('1h');
    return 'slept';
  } catch (err) {
    if (!isCancellation(err)) throw err;
    await CancellationScope.nonCancellable(() => composeGreeting('cleanup', 1));
    throw err;
  }
}
