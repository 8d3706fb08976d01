import {
  ConfigError,
  describeArgument,
  isTaskId,
  newTaskId,
  optionsObject,
  txOption,
  type OptionNames,
  validateOptionalKey,
  type JsonValue,
  type NewTask,
  type Queue,
  type RegisteredTx,
  type ScheduleDefinition,
  type Task,
} from "@underway/core";
import { Scheduler } from "@underway/scheduler";
import { Worker, type WorkerOptions } from "@underway/worker";
import { EnqueuedJob } from "./enqueued-job.js";
import type { JobEnqueueManyOptions, JobEnqueueOptions } from "./job-enqueue-options.js";
import type { JobBuilderStart } from "./job-builder.js";
import { JobBuilderImpl } from "./job-builder-runtime.js";
import { createJobEnvelope, type JobEnvelope } from "./job-envelope.js";
import type { JobHandle } from "./job-handle.js";
import type { JobStepOutput } from "./job-task.js";

/** Options of the scheduler a job starts (see `@underway/scheduler`). */
export type JobSchedulerOptions = Omit<NonNullable<ConstructorParameters<typeof Scheduler>[2]>, "fireInput">;

const JOB_ENQUEUE_OPTION_NAMES: OptionNames<JobEnqueueOptions<unknown>> = { tx: true, dedupeKey: true };
const JOB_START_OPTION_NAMES: OptionNames<JobStartOptions> = { worker: true, scheduler: true };
const JOB_SCHEDULER_OPTION_NAMES: OptionNames<JobSchedulerOptions> = { logger: true, missedFires: true, standbyRetryMs: true, refreshIntervalMs: true };

/** Options of {@link Job.start} and {@link Job.run}. */
export interface JobStartOptions {
  /** Options of the job's worker (concurrency, poll interval, group commit, ...). */
  worker?: WorkerOptions;
  /** Options of the job's scheduler (missed fires, logger, ...). */
  scheduler?: JobSchedulerOptions;
}

/**
 * A typed multi-step job: a queue whose tasks are the job's steps. Each step is its own task
 * row with its own attempts and settings; a failing step retries alone.
 *
 * @typeParam Input - the first step's input (what `enqueue` takes).
 * @typeParam Result - what `To.done(result)` returns.
 *
 * @example
 * ```ts
 * const job = await Job.builder()
 *   .step(async (_cx, { orderId }: GenerateReceipt) => To.next({ receiptKey: `receipts/${orderId}.pdf` }))
 *   .step(async (_cx, { receiptKey }: EmailReceipt) => To.done())
 *   .name("order-receipt")
 *   .storage(new PgStorage(pool))
 *   .build();
 * await job.enqueue({ orderId: 42 });
 * const handle = job.start();
 * ```
 */
export class Job<State, Tx, Input, Result> {
  /** The job's queue: every step of every run is a task in it. */
  readonly queue: Queue<JobEnvelope, Tx>;
  /** The task that runs the steps (for custom workers). */
  readonly task: Task<JobEnvelope, JobStepOutput | undefined, Tx>;
  /** How many steps the job has. */
  readonly stepCount: number;

  /** The run's dedupe key from its input, when the builder set one (`.dedupeKey(...)`). */
  readonly #dedupeKeyOf: ((input: Input) => string | null | undefined) | undefined;

  /** @internal Built by the builder. */
  constructor(
    queue: Queue<JobEnvelope, Tx>,
    task: Task<JobEnvelope, JobStepOutput | undefined, Tx>,
    stepCount: number,
    dedupeKeyOf?: (input: Input) => string | null | undefined,
  ) {
    this.queue = queue;
    this.task = task;
    this.stepCount = stepCount;
    this.#dedupeKeyOf = dedupeKeyOf;
  }

  /** Starts building a job. `Tx` defaults to the installed storage's transaction type. */
  static builder<Tx = RegisteredTx>(): JobBuilderStart<undefined, Tx> {
    return new JobBuilderImpl() as unknown as JobBuilderStart<undefined, Tx>;
  }

  /** The job's name (its queue's name). */
  get name(): string {
    return this.queue.name;
  }

  /**
   * Enqueues a new run. With `tx` the run is created inside the caller's transaction. With
   * `dedupeKey`, a live run holding the same key is returned instead (`deduplicated: true`).
   * @throws ValidationError when the input cannot be stored as JSON; nothing is written.
   * @throws ConfigError when `options` is not an object, or `dedupeKey` is not a non-empty string
   * of at most 512 characters; nothing is written.
   *
   * @example
   * ```ts
   * const run = await job.enqueue({ orderId: 42 }, { dedupeKey: "order-42" });
   * const again = await job.enqueue({ orderId: 42 }, { dedupeKey: "order-42" });
   * again.id === run.id; // while the run is pending or running
   * ```
   */
  async enqueue(input: Input, options: JobEnqueueOptions<Tx> = {}): Promise<EnqueuedJob<Result, Tx>> {
    optionsObject(options, "enqueue()", JOB_ENQUEUE_OPTION_NAMES);
    const [run] = await this.#enqueueRuns([input], 0, txOption(options.tx, "enqueue()"), this.#keyOption(options));
    return run!;
  }

  /**
   * Enqueues a new run whose first step starts `delayMs` from now (options as {@link enqueue}).
   * @throws ConfigError when `delayMs` or an option is invalid; nothing is written.
   */
  async enqueueAfter(input: Input, delayMs: number, options: JobEnqueueOptions<Tx> = {}): Promise<EnqueuedJob<Result, Tx>> {
    optionsObject(options, "enqueueAfter()", JOB_ENQUEUE_OPTION_NAMES);
    const [run] = await this.#enqueueRuns([input], delayMs, txOption(options.tx, "enqueueAfter()"), this.#keyOption(options));
    return run!;
  }

  /**
   * Enqueues many runs at once, all or nothing; one handle per input, in input order. Each run's
   * dedupe key comes from `options.dedupeKey`, or else from the job's (`.dedupeKey(...)`).
   * @throws ValidationError when an input cannot be stored as JSON; nothing is written.
   * @throws ConfigError when `inputs` is not an array, `options` is not an object, `dedupeKey` is
   * not a function, or a key it gives is invalid; nothing is written.
   */
  async enqueueMany(inputs: ReadonlyArray<Input>, options: JobEnqueueManyOptions<Input, Tx> = {}): Promise<Array<EnqueuedJob<Result, Tx>>> {
    optionsObject(options, "enqueueMany()", JOB_ENQUEUE_OPTION_NAMES);
    if (!Array.isArray(inputs)) throw new ConfigError(`enqueueMany expects an array of inputs, got ${describeArgument(inputs)}`);
    if (options.dedupeKey !== undefined && typeof options.dedupeKey !== "function") {
      throw new ConfigError(`enqueueMany's dedupeKey option must be a function of each input, got ${describeArgument(options.dedupeKey)}`);
    }
    return this.#enqueueRuns(inputs, 0, txOption(options.tx, "enqueueMany()"), options.dedupeKey ?? this.#dedupeKeyOf);
  }

  /**
   * A handle on an existing run, by id (the `id` of an {@link EnqueuedJob}, a UUID; upper-case
   * hex digits are read as lower-case, as job ids are written). Nothing is read here: a
   * well-formed id that no run has gives a handle whose `status()` is `{ state: "pending", steps: [] }`
   * (see `docs/jobs.md`, "A run without rows").
   * @throws ConfigError when `jobId` is not a UUID string (`null`, a number, `""`, any other text).
   */
  get(jobId: string): EnqueuedJob<Result, Tx> {
    const given: unknown = jobId;
    if (!isTaskId(given)) {
      // Only a UUID can name a run; anything else would give a handle that waits forever.
      const got = typeof given === "string" && given.length > 64 ? `a string of ${given.length} characters` : describeArgument(given);
      throw new ConfigError(`get(jobId) expects a job run's id, a UUID such as "0192f1c4-7d3a-7c01-9a8e-3f1b2c4d5e6f", got ${got}`);
    }
    return new EnqueuedJob<Result, Tx>(given.toLowerCase(), this.queue);
  }

  /**
   * Sets the job's recurring schedule (one per job; replaces the previous one). Each occurrence
   * starts a new run, with a fresh id, from `input`.
   */
  async schedule(schedule: ScheduleDefinition, input: Input, options: { tx?: Tx } = {}): Promise<void> {
    const { tx } = optionsObject(options, "schedule()", { tx: true });
    // The stored input is the first step's input; each fire wraps it into a new run's envelope.
    await this.queue.prepare(this.task, this.#firstStepEnvelope(newTaskId(), input));
    await this.queue.schedule(schedule, input as unknown as JobEnvelope, txOption(tx, "schedule()"));
  }

  /** Removes the job's schedule. @returns whether there was one. */
  unschedule(options: { tx?: Tx } = {}): Promise<boolean> {
    return this.queue.unschedule(options);
  }

  /** A worker for this job's steps, for custom set-ups. */
  worker(options: WorkerOptions = {}): Worker<JobEnvelope, Tx> {
    return new Worker(this.queue, this.task, options);
  }

  /**
   * A scheduler for this job's schedule, for custom set-ups. Each fire starts a fresh run.
   * @throws ConfigError when `options` is not an object (`null` included), names an option the
   * scheduler does not have (`fireInput` too: the job sets it), or has an invalid value.
   */
  scheduler(options: JobSchedulerOptions = {}): Scheduler<JobEnvelope, Tx> {
    // Checked before the spread below, which would turn null, an array or a string into options.
    optionsObject(options, "scheduler()", JOB_SCHEDULER_OPTION_NAMES);
    return new Scheduler(this.queue, this.task, {
      ...options,
      fireInput: (storedInput: JsonValue) => {
        const jobId = newTaskId();
        return { input: this.#firstStepEnvelope(jobId, storedInput as Input), correlationId: jobId };
      },
    });
  }

  /**
   * Starts a worker and a scheduler sharing one abort signal. A scheduler on standby or without a
   * schedule never stops the worker.
   * @throws ConfigError when `options`, its `worker` or its `scheduler` options are invalid;
   * nothing is started.
   */
  start(options: JobStartOptions = {}): JobHandle {
    optionsObject(options, "start()", JOB_START_OPTION_NAMES);
    if (options.worker !== undefined) optionsObject(options.worker, "start()'s worker option");
    if (options.scheduler !== undefined) optionsObject(options.scheduler, "start()'s scheduler option");
    const controller = new AbortController();
    const worker = this.worker(options.worker);
    const scheduler = this.scheduler(options.scheduler);
    const done = Promise.all([worker.run(controller.signal), scheduler.run(controller.signal)]).then(() => undefined);
    let stopping: Promise<void> | undefined;
    return {
      done,
      signal: controller.signal,
      shutdown: () => {
        stopping ??= (async () => {
          controller.abort();
          await done;
        })();
        return stopping;
      },
    };
  }

  /**
   * Runs the worker and the scheduler until they are shut down (e.g. by `gracefulShutdown`).
   * @throws ConfigError (as a rejection) when an option is invalid, as {@link start}; nothing is started.
   */
  async run(options: JobStartOptions = {}): Promise<void> {
    await this.start(options).done;
  }

  /** The `dedupeKey` of single-run options: the option when given (even `null`), else the job's. */
  #keyOption(options: JobEnqueueOptions<Tx>): ((input: Input) => string | null | undefined) | undefined {
    return options.dedupeKey === undefined ? this.#dedupeKeyOf : () => options.dedupeKey;
  }

  /** The envelope of a run's first step, with the key `dedupeKeyOf` gives `input` (the job's by default). */
  #firstStepEnvelope(jobId: string, input: Input, dedupeKeyOf = this.#dedupeKeyOf): JobEnvelope {
    const dedupeKey = dedupeKeyOf === undefined ? null : validateOptionalKey(dedupeKeyOf(input), "dedupeKey");
    return createJobEnvelope(jobId, 0, input, dedupeKey);
  }

  async #enqueueRuns(
    inputs: ReadonlyArray<Input>,
    delayMs: number,
    tx: { tx?: Tx },
    dedupeKeyOf: ((input: Input) => string | null | undefined) | undefined,
  ): Promise<Array<EnqueuedJob<Result, Tx>>> {
    if (inputs.length === 0) return [];
    const prepared: NewTask[] = [];
    for (const input of inputs) {
      const jobId = newTaskId();
      const envelope = this.#firstStepEnvelope(jobId, input, dedupeKeyOf);
      prepared.push(await this.queue.prepare(this.task, envelope, { delayMs, correlationId: jobId }));
    }
    const outcomes = await this.queue.storage.taskEnqueue({ queueName: this.queue.name, tasks: prepared, ...tx });
    return outcomes.map((outcome, index) => {
      // A deduplicated outcome names a step of the run that holds the key, and that run's id.
      const jobId = outcome.deduplicated && outcome.correlationId !== null ? outcome.correlationId : prepared[index]!.correlationId!;
      return new EnqueuedJob<Result, Tx>(jobId, this.queue, { deduplicated: outcome.deduplicated });
    });
  }
}
