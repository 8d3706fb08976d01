import type { Queue, RetryPolicy, RetryPolicyOptions, StorageAdapter } from "@underway/core";
import type { Context } from "./context.js";
import type { Job } from "./job.js";
import type { JobEnvelope } from "./job-envelope.js";
import type { NextInputOf, ResultOf, Transition } from "./to.js";

type Promisable<T> = T | Promise<T>;

/** A step: an async function of the context and the step's input, returning a transition. */
export type StepFunction<State, Tx, Input, Output extends Transition<any, any>> = (cx: Context<State, Tx>, input: Input) => Promisable<Output>;

/** The first stage of the builder: optional `.state(...)`, then the first `.step(...)`. */
export interface JobBuilderStart<State, Tx> {
  /** Shared state handed to every step as `cx.state` (not persisted). */
  state<NewState>(state: NewState): JobBuilderStart<NewState, Tx>;
  /** The first step; its input type is the job's input type. */
  step<Input, Output extends Transition<any, any>>(
    run: StepFunction<State, Tx, Input, Output>,
  ): JobBuilderAfterStep<State, Tx, Input, NextInputOf<Output>, ResultOf<Output>, Input>;
}

/**
 * Per-step options; each applies to the step just added.
 * @typeParam Self - the builder type they return.
 * @typeParam StepInput - the input type of the step they apply to.
 */
export interface StepOptionMethods<Self, StepInput> {
  /** This step's retry policy. */
  retryPolicy(policy: RetryPolicy | Partial<RetryPolicyOptions>): Self;
  /** This step's per-attempt timeout in ms. */
  timeoutMs(timeoutMs: number): Self;
  /** Delay before this step runs, in ms (added to any `To.delayFor` delay). */
  delayMs(delayMs: number): Self;
  /** This step's heartbeat period in ms (the lease is three heartbeats). */
  heartbeatMs(heartbeatMs: number): Self;
  /** How long this step's task is kept after it finished, in ms. */
  ttlMs(ttlMs: number): Self;
  /** This step's priority (higher runs first). */
  priority(priority: number): Self;
  /** Steps with the same key never run at the same time; the others wait, in order. */
  concurrencyKey(key: string | ((input: StepInput) => string | null | undefined)): Self;
}

/** A builder whose last step may continue: it needs another `.step(...)`. */
export interface OpenJobBuilder<State, Tx, Input, Pending, Result, StepInput>
  extends StepOptionMethods<OpenJobBuilder<State, Tx, Input, Pending, Result, StepInput>, StepInput> {
  /** The next step; its input type is what the previous step passed to `To.next(...)`. */
  step<Output extends Transition<any, any>>(
    run: StepFunction<State, Tx, Pending, Output>,
  ): JobBuilderAfterStep<State, Tx, Input, NextInputOf<Output>, Result | ResultOf<Output>, Pending>;
}

/** A builder whose last step always finishes: it can be named and built. */
export interface CompleteJobBuilder<State, Tx, Input, Result, StepInput>
  extends StepOptionMethods<CompleteJobBuilder<State, Tx, Input, Result, StepInput>, StepInput> {
  /** The job's name, which is its queue's name. */
  name(name: string): CompleteJobBuilder<State, Tx, Input, Result, StepInput>;
  /**
   * One live run per key, for every run of the job: a fixed key (one run at a time) or a key
   * from the run's input (`null` or `undefined`: no key). Applies to `enqueue`, `enqueueAfter`
   * and `enqueueMany` when they are given no `dedupeKey` of their own, and to the runs the job's
   * schedule starts: an occurrence whose key a live run holds starts nothing. A run holds its
   * key from its first step to its last, as with the `dedupeKey` option of `Job.enqueue`.
   * @throws ConfigError when a fixed key is not a non-empty string of at most 512 characters.
   *
   * @example
   * ```ts
   * .dedupeKey(({ accountId }: Report) => `report:${accountId}`)
   * ```
   */
  dedupeKey(key: string | ((input: Input) => string | null | undefined)): CompleteJobBuilder<State, Tx, Input, Result, StepInput>;
  /**
   * Where steps that fail for good are moved; null: nowhere. Left out, the job's queue keeps the
   * dead-letter queue recorded for it (none for a new queue). With `.queue(...)`, it must be that
   * queue's own dead-letter queue (`build()` throws a `ConfigError` otherwise).
   */
  deadLetterQueue(name: string | null): CompleteJobBuilder<State, Tx, Input, Result, StepInput>;
  /**
   * The storage to create the job's queue in (with `.name(...)`). With `.queue(...)`, it must be
   * that queue's storage (`build()` throws a `ConfigError` otherwise).
   */
  storage(storage: StorageAdapter<Tx>): CompleteJobBuilder<State, Tx, Input, Result, StepInput>;
  /**
   * An existing queue to use instead of `.name(...)` + `.storage(...)` (+ `.deadLetterQueue(...)`).
   * Any of those given as well must agree with the queue.
   */
  queue(queue: Queue<JobEnvelope, Tx>): CompleteJobBuilder<State, Tx, Input, Result, StepInput>;
  /**
   * Registers the job's queue and returns the job.
   * @throws ConfigError when a step, the name or the storage is missing, or, with `.queue(...)`,
   * when `.name(...)`, `.deadLetterQueue(...)` or `.storage(...)` disagrees with that queue.
   */
  build(): Promise<Job<State, Tx, Input, Result>>;
}

/** The builder after a step: complete when that step can only finish, open otherwise. */
export type JobBuilderAfterStep<State, Tx, Input, Pending, Result, StepInput> = [Pending] extends [never]
  ? CompleteJobBuilder<State, Tx, Input, Result, StepInput>
  : OpenJobBuilder<State, Tx, Input, Pending, Result, StepInput>;
