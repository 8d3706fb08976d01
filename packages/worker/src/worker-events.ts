import type { JsonValue } from "@underway/core";

/** Identifies the attempt an event is about. */
export interface AttemptEvent {
  /** The queue the task is on. */
  queueName: string;
  /** The task's id. */
  taskId: string;
  /** The attempt number, from 1. */
  attempt: number;
}

/**
 * The events of a {@link Worker}, by name, with their payloads.
 *
 * @example
 * ```ts
 * worker.on("task:retry", ({ taskId, delayMs, error }) => log.warn({ taskId, delayMs, error }, "retrying"));
 * await worker.once("task:succeeded", ({ taskId }) => taskId === id);
 * ```
 */
export type WorkerEvents = {
  /** A claim handed the task to this worker; the attempt starts now. */
  "task:claimed": AttemptEvent;
  /** The attempt's success is durable. `output` is what the task returned, when JSON. */
  "task:succeeded": AttemptEvent & { output: JsonValue | null };
  /** The attempt failed and another one is scheduled `delayMs` from now. */
  "task:retry": AttemptEvent & { delayMs: number; error: unknown };
  /** The task failed for good: a fatal error, or no attempts left. */
  "task:failed": AttemptEvent & { error: unknown };
  /** The failed task was moved to its queue's dead-letter queue. */
  "task:dead-lettered": AttemptEvent & { deadLetterQueueName: string };
  /** The attempt ran past its timeout; its signal fired and its transaction was discarded. */
  "task:timed-out": AttemptEvent & { timeoutMs: number };
  /** The attempt is no longer the task's live attempt (its lease expired); nothing of it was kept. */
  "task:lease-lost": AttemptEvent;
  /** The task ended `cancelled` (a cancel request reached it while it ran). */
  "task:cancelled": AttemptEvent;
  /** A storage or loop error the worker survived (it logs it and carries on with backoff). */
  "worker:error": { queueName: string; error: unknown };
  /** `run()` started. */
  "worker:started": { queueName: string };
  /** `run()` finished: nothing is executing any more and pending acknowledgements are written. */
  "worker:stopped": { queueName: string };
};
