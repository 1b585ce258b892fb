// Activities for the interop workflows (src/workflows.ts), run by the TypeScript worker in the test
// process. They count their attempts so the test can check what ran, and how often.
import { Context } from '@temporalio/activity';

export const attempts: { name: string; attempt: number }[] = [];

export async function composeGreeting(name: string, failUntilAttempt: number): Promise<string> {
  const { attempt } = Context.current().info;
  attempts.push({ name, attempt });
  if (attempt < failUntilAttempt) throw new Error(`not yet (attempt ${attempt})`);
  return `Hello, ${name}!`;
}
