import {
  ConfigError,
  MAX_TIMER_MS,
  Queue,
  RetryPolicy,
  validateDurationMs,
  validateOptionalKey,
  validatePriority,
  validateQueueName,
  type RetryPolicyOptions,
  type StorageAdapter,
} from "@underway/core";
import type { Context } from "./context.js";
import { Job } from "./job.js";
import type { JobEnvelope } from "./job-envelope.js";
import { createJobTask } from "./job-task.js";
import type { StepDefinition, StepSettings } from "./step-definition.js";
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
   * Where steps that fail for good are moved. With `.queue(...)`, it must be that queue's own
   * dead-letter queue (`build()` throws a `ConfigError` otherwise).
   */
  deadLetterQueue(name: string): CompleteJobBuilder<State, Tx, Input, Result, StepInput>;
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

/** @internal The single runtime class behind the builder's typed stages. */
export class JobBuilderImpl<State, Tx> {
  #state: State | undefined;
  readonly #steps: Array<StepDefinition<State, Tx>> = [];
  #name: string | undefined;
  #deadLetterQueueName: string | undefined;
  #storage: StorageAdapter<Tx> | undefined;
  #queue: Queue<JobEnvelope, Tx> | undefined;
  #dedupeKeyOf: ((input: unknown) => string | null | undefined) | undefined;

  state(state: State): this {
    if (this.#steps.length > 0) throw new ConfigError("Call .state(...) before the first .step(...)");
    this.#state = state;
    return this;
  }

  step(run: StepDefinition<State, Tx>["run"]): this {
    if (typeof run !== "function") throw new ConfigError(`Step ${this.#steps.length} must be a function (cx, input) => To...`);
    this.#steps.push({ run, settings: {} });
    return this;
  }

  retryPolicy(policy: RetryPolicy | Partial<RetryPolicyOptions>): this {
    return this.#setting("retryPolicy", RetryPolicy.from(policy).toJSON());
  }

  timeoutMs(timeoutMs: number): this {
    return this.#setting("timeoutMs", validateDurationMs(timeoutMs, "timeoutMs", { min: 1, max: MAX_TIMER_MS }));
  }

  delayMs(delayMs: number): this {
    return this.#setting("delayMs", validateDurationMs(delayMs, "delayMs"));
  }

  heartbeatMs(heartbeatMs: number): this {
    return this.#setting("heartbeatMs", validateDurationMs(heartbeatMs, "heartbeatMs", { min: 10, max: Math.floor(MAX_TIMER_MS / 3) }));
  }

  ttlMs(ttlMs: number): this {
    return this.#setting("ttlMs", validateDurationMs(ttlMs, "ttlMs"));
  }

  priority(priority: number): this {
    return this.#setting("priority", validatePriority(priority));
  }

  concurrencyKey(key: string | ((input: unknown) => string | null | undefined)): this {
    if (typeof key !== "function") validateOptionalKey(key, "concurrencyKey");
    return this.#setting("concurrencyKey", key);
  }

  name(name: string): this {
    this.#name = validateQueueName(name, "job name");
    return this;
  }

  dedupeKey(key: string | ((input: unknown) => string | null | undefined)): this {
    if (typeof key === "function") {
      this.#dedupeKeyOf = key;
      return this;
    }
    const fixed = validateOptionalKey(key, "dedupeKey");
    if (fixed === null) throw new ConfigError("dedupeKey expects a non-empty string or a function of the run's input");
    this.#dedupeKeyOf = () => fixed;
    return this;
  }

  deadLetterQueue(name: string): this {
    this.#deadLetterQueueName = validateQueueName(name, "dead-letter queue name");
    return this;
  }

  storage(storage: StorageAdapter<Tx>): this {
    if (typeof storage !== "object" || storage === null || typeof storage.taskEnqueue !== "function") {
      throw new ConfigError("storage() expects a storage adapter such as new PgStorage(pool)");
    }
    this.#storage = storage;
    return this;
  }

  queue(queue: Queue<JobEnvelope, Tx>): this {
    if (!(queue instanceof Queue)) throw new ConfigError("queue() expects a Queue built with Queue.builder()");
    this.#queue = queue;
    return this;
  }

  async build(): Promise<Job<State, Tx, unknown, unknown>> {
    if (this.#steps.length === 0) throw new ConfigError("A job needs at least one .step(...)");
    let queue = this.#queue;
    if (queue) {
      if (this.#name !== undefined && this.#name !== queue.name) {
        throw new ConfigError(`The job is named ${JSON.stringify(this.#name)} but its queue is ${JSON.stringify(queue.name)}; give one or the other`);
      }
      if (this.#deadLetterQueueName !== undefined && this.#deadLetterQueueName !== queue.deadLetterQueueName) {
        const queueDlq = queue.deadLetterQueueName === null ? "has none" : `is ${JSON.stringify(queue.deadLetterQueueName)}`;
        throw new ConfigError(
          `The job's dead-letter queue is ${JSON.stringify(this.#deadLetterQueueName)} but its queue's ${queueDlq}; give the dead-letter queue when building the queue`,
        );
      }
      if (this.#storage !== undefined && this.#storage !== queue.storage) {
        throw new ConfigError("The job's .storage(...) is not its queue's storage; give one or the other");
      }
    } else {
      if (this.#name === undefined) throw new ConfigError("A job needs a name: call .name(...) (or .queue(...)) before .build()");
      if (this.#storage === undefined) throw new ConfigError("A job needs a storage: call .storage(...) (or .queue(...)) before .build()");
      const builder = Queue.builder<JobEnvelope>().name(this.#name).storage(this.#storage);
      if (this.#deadLetterQueueName !== undefined) builder.deadLetterQueue(this.#deadLetterQueueName);
      queue = await builder.build();
    }
    const queueRef: { queue: Queue<JobEnvelope, Tx> | undefined } = { queue };
    const task = createJobTask(this.#steps, this.#state as State, queueRef);
    return new Job<State, Tx, unknown, unknown>(queue, task, this.#steps.length, this.#dedupeKeyOf);
  }

  #setting<K extends keyof StepSettings>(key: K, value: StepSettings[K]): this {
    const step = this.#steps[this.#steps.length - 1];
    if (!step) throw new ConfigError(`.${key}(...) applies to the step before it: call .step(...) first`);
    step.settings[key] = value;
    return this;
  }
}
