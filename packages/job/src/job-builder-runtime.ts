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
import { Job } from "./job.js";
import type { JobEnvelope } from "./job-envelope.js";
import { createJobTask } from "./job-task.js";
import type { StepDefinition, StepSettings } from "./step-definition.js";

/**
 * The one runtime object behind the builder's typed stages (`JobBuilderStart`,
 * `OpenJobBuilder`, `CompleteJobBuilder` in job-builder.ts, which document each method): it
 * records the state, the steps and their settings, checking each value as it is given, and
 * `build()` makes the job. Not exported from the package; `Job.builder()` returns it typed as
 * `JobBuilderStart`.
 */
export class JobBuilderImpl<State, Tx> {
  #state: State | undefined;
  readonly #steps: Array<StepDefinition<State, Tx>> = [];
  #name: string | undefined;
  #deadLetterQueueName: string | null | undefined;
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

  deadLetterQueue(name: string | null): this {
    this.#deadLetterQueueName = name === null ? null : validateQueueName(name, "dead-letter queue name");
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
