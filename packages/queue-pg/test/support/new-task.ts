import { newTaskId, RetryPolicy, type JsonValue, type NewTask } from "@underway/core";

/** A task ready to enqueue, with the defaults a queue would resolve, and `overrides` on top. */
export function newTask(input: JsonValue = {}, overrides: Partial<NewTask> = {}): NewTask {
  return {
    id: newTaskId(),
    input,
    priority: 0,
    delayMs: 0,
    timeoutMs: 60_000,
    ttlMs: 14 * 24 * 3_600_000,
    heartbeatMs: 30_000,
    retryPolicy: { ...RetryPolicy.defaults },
    concurrencyKey: null,
    dedupeKey: null,
    correlationId: null,
    ...overrides,
  };
}

/** Resolves once `condition` holds, polling; rejects with `message` after `timeoutMs`. */
export async function waitFor(condition: () => boolean | Promise<boolean>, message: string, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`Timed out waiting: ${message}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}
