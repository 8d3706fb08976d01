import type { StandardSchemaV1 } from "@standard-schema/spec";
import type { Queue } from "./queue.js";
import type { RetryPolicy, RetryPolicyOptions } from "./retry-policy.js";

/** A setting given as a value, or as a function of the task's input. */
export type Configurable<T, Input> = T | ((input: Input) => T);

/**
 * Settings a task may resolve per input; each is snapshotted into the task's row at enqueue. A
 * function that returns `undefined` selects the default.
 */
export interface TaskSettings<Input> {
  /** How failures are retried. Default: 5 attempts, 1 s doubling to 60 s, jitter 0.5. */
  retryPolicy?: Configurable<RetryPolicy | Partial<RetryPolicyOptions> | undefined, Input>;
  /** Per-attempt timeout in ms. Default 15 minutes. */
  timeoutMs?: Configurable<number | undefined, Input>;
  /** How long the task is kept after it finished, in ms. Default 14 days. */
  ttlMs?: Configurable<number | undefined, Input>;
  /** Delay before the task may first run, in ms. Default 0. */
  delayMs?: Configurable<number | undefined, Input>;
  /** Heartbeat period in ms; the lease is three heartbeats. Default 30 s. */
  heartbeatMs?: Configurable<number | undefined, Input>;
  /** Tasks sharing a key never run at the same time in one queue; they wait, in order. */
  concurrencyKey?: Configurable<string | null | undefined, Input>;
  /** While a task with this key is pending or running, enqueueing another returns its id instead. */
  dedupeKey?: Configurable<string | null | undefined, Input>;
  /** Higher runs first. Default 0. */
  priority?: Configurable<number | undefined, Input>;
}

/**
 * A unit of work: what to do with an input, and how to run it.
 *
 * @typeParam Input - the task's input, stored as JSON.
 * @typeParam Output - what `execute` returns; stored as the task's output when it is JSON.
 * @typeParam Tx - the storage's transaction handle type (`cx.tx`).
 *
 * @example
 * ```ts
 * const sendEmail: Task<{ to: string }> = {
 *   async execute(cx, { to }) {
 *     await mailer.send(to, { signal: cx.signal });
 *   },
 *   timeoutMs: 30_000,
 *   retryPolicy: { maxAttempts: 10 },
 * };
 * ```
 */
export interface Task<Input, Output = unknown, Tx = unknown> extends TaskSettings<Input> {
  /**
   * Runs one attempt. Throw (or reject) to fail it: a {@link FatalError} ends the task, anything
   * else is retried per the retry policy. Writes through `cx.tx` commit only if the attempt
   * succeeds and is still current.
   */
  execute(cx: TaskContext<Tx>, input: Input): Promise<Output> | Output;
  /**
   * A Standard Schema (zod, valibot, arktype, ...) for the input: enqueue rejects invalid input
   * with a `ValidationError` and writes nothing; the worker passes the schema's output to
   * `execute`.
   */
  schema?: StandardSchemaV1<unknown, Input>;
}

/** Options of {@link TaskContext.enqueueOnSuccess}. */
export interface FollowUpOptions {
  /** Extra delay added to the task's own delay, in ms. */
  delayMs?: number;
  /** The follow-up's correlation id; by default the running task's own. */
  correlationId?: string | null;
}

/** What a task sees while it runs one attempt. */
export interface TaskContext<Tx = unknown> {
  /**
   * The worker's transaction for this attempt. Writes through it commit together with the
   * attempt's success, or not at all. It opens on first use; a task that never touches it pays for
   * no transaction.
   */
  readonly tx: Tx;
  /** Fires when the attempt must stop: timeout, cancel, lost lease or shutdown (see `reason`). */
  readonly signal: AbortSignal;
  /** The running task's id. */
  readonly taskId: string;
  /** This attempt's number, from 1. */
  readonly attempt: number;
  /** The queue the task was claimed from. */
  readonly queueName: string;
  /** The running task's correlation id (a job run's id), or null. */
  readonly correlationId: string | null;
  /**
   * Enqueues a task if, and only if, this attempt succeeds: it is written atomically with the
   * success (and dropped if the task is cancelled meanwhile). Resolves with the new task's id once
   * the input passed validation.
   *
   * Rejects with a ValidationError when the input fails validation, and with a ConfigError when
   * `queue` is not a Queue or `options` is not an object or names an option other than `delayMs`
   * and `correlationId`. Either fails the attempt, awaited or not: a success never drops a
   * follow-up it asked for.
   */
  enqueueOnSuccess<FollowUpInput>(
    queue: Queue<FollowUpInput, Tx>,
    task: Task<FollowUpInput, unknown, Tx>,
    input: FollowUpInput,
    options?: FollowUpOptions,
  ): Promise<string>;
}
