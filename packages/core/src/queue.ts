import { ConfigError } from "./errors.js";
import { newTaskId } from "./ids.js";
import { assertJsonPayload, type JsonValue } from "./json-payload.js";
import { validateDurationMs } from "./durations.js";
import { validateQueueName } from "./queue-name.js";
import { resolveRetryTaskOptions, type RetryTaskOptions } from "./retry-task-options.js";
import type { ScheduleDefinition } from "./schedule-definition.js";
import type { AttemptRecord, NewTask, ScheduleRecord, TaskRecord } from "./storage/records.js";
import type { StorageAdapter } from "./storage/storage-adapter.js";
import type { Task } from "./task.js";
import { assertTask, resolveTaskSettings, validateWithSchema } from "./task-settings.js";

/** Options of {@link Queue.enqueue}. */
export interface EnqueueOptions<Tx> {
  /** Write inside this transaction: visible (and notified) only when it commits. */
  tx?: Tx;
  /** Extra delay in ms, added to the task's own delay. */
  delayMs?: number;
  /** Groups tasks that belong together (a job run's steps share one). */
  correlationId?: string | null;
}

/** Options of {@link Queue.enqueueMany}. */
export interface EnqueueManyOptions<Tx> {
  /** Write inside this transaction, all or nothing. */
  tx?: Tx;
  /** Extra delay in ms for every task, added to each task's own delay. */
  delayMs?: number;
}

/** Options of {@link Queue.prepare}. */
export interface PrepareOptions {
  delayMs?: number;
  correlationId?: string | null;
}

/**
 * A named queue on a storage: where tasks are enqueued, cancelled and scheduled. Workers and
 * schedulers take a queue and a task.
 *
 * @typeParam Input - the input type of the queue's tasks.
 * @typeParam Tx - the storage's transaction handle type.
 *
 * @example
 * ```ts
 * const queue = await Queue.builder<{ userId: number }>()
 *   .name("welcome-email")
 *   .deadLetterQueue("welcome-email-dlq")
 *   .storage(storage)
 *   .build();
 * const taskId = await queue.enqueue(sendWelcomeEmail, { userId: 42 });
 * ```
 */
export class Queue<Input = unknown, Tx = unknown> {
  /** The queue's name. */
  readonly name: string;
  /** Where tasks that fail for good are moved, or null. */
  readonly deadLetterQueueName: string | null;
  /** The storage the queue lives in. */
  readonly storage: StorageAdapter<Tx>;

  private constructor(name: string, deadLetterQueueName: string | null, storage: StorageAdapter<Tx>) {
    this.name = name;
    this.deadLetterQueueName = deadLetterQueueName;
    this.storage = storage;
  }

  /** Starts building a queue. */
  static builder<Input = unknown>(): QueueBuilder<Input> {
    return new QueueBuilder<Input>();
  }

  /** @internal Used by the builder once the queue is registered. */
  static create<Input, Tx>(name: string, deadLetterQueueName: string | null, storage: StorageAdapter<Tx>): Queue<Input, Tx> {
    return new Queue<Input, Tx>(name, deadLetterQueueName, storage);
  }

  /**
   * Validates `input` (schema, then JSON), resolves the task's settings for it and returns the
   * row to write, without writing it. Used by enqueue, schedulers and follow-ups.
   *
   * @throws ValidationError when the input fails its schema or is not JSON.
   * @throws ConfigError when a setting resolves to an invalid value.
   */
  async prepare(task: Task<Input, unknown, Tx>, input: Input, options: PrepareOptions = {}): Promise<NewTask> {
    assertTask(task);
    if (task.schema) await validateWithSchema(task.schema, input);
    return this.#prepareValid(task, input, options);
  }

  /** {@link prepare} after the schema check: JSON check, settings, id. */
  #prepareValid(task: Task<Input, unknown, Tx>, input: Input, options: PrepareOptions): NewTask {
    const json = assertJsonPayload(input);
    const settings = resolveTaskSettings(task, input);
    const extraDelayMs = options.delayMs === undefined ? 0 : validateDurationMs(options.delayMs, "delayMs");
    return {
      id: newTaskId(),
      input: json,
      priority: settings.priority,
      delayMs: validateDurationMs(settings.delayMs + extraDelayMs, "delayMs"),
      timeoutMs: settings.timeoutMs,
      ttlMs: settings.ttlMs,
      heartbeatMs: settings.heartbeatMs,
      retryPolicy: settings.retryPolicy,
      concurrencyKey: settings.concurrencyKey,
      dedupeKey: settings.dedupeKey,
      correlationId: options.correlationId ?? null,
    };
  }

  /**
   * Enqueues one task. With `tx` the task is written inside the caller's transaction.
   *
   * @returns the task's id (the existing task's id when its dedupe key matched one).
   * @throws ValidationError when the input is invalid; nothing is written.
   */
  async enqueue(task: Task<Input, unknown, Tx>, input: Input, options: EnqueueOptions<Tx> = {}): Promise<string> {
    const prepared = await this.prepare(task, input, options);
    const [outcome] = await this.storage.taskEnqueue({ queueName: this.name, tasks: [prepared], ...txOption(options.tx) });
    return outcome!.id;
  }

  /**
   * Enqueues many tasks at once, all or nothing: one invalid input rejects the whole call before
   * anything is written.
   *
   * @returns the ids, in input order.
   */
  async enqueueMany(task: Task<Input, unknown, Tx>, inputs: ReadonlyArray<Input>, options: EnqueueManyOptions<Tx> = {}): Promise<string[]> {
    if (!Array.isArray(inputs)) throw new ConfigError("enqueueMany expects an array of inputs");
    if (inputs.length === 0) return [];
    assertTask(task);
    const prepared: NewTask[] = new Array(inputs.length);
    const prepareOptions = { delayMs: options.delayMs };
    for (let index = 0; index < inputs.length; index += 1) {
      const input = inputs[index]!;
      // Without a schema, preparing is synchronous: no await per input.
      if (task.schema) await validateWithSchema(task.schema, input);
      prepared[index] = this.#prepareValid(task, input, prepareOptions);
    }
    const outcomes = await this.storage.taskEnqueue({ queueName: this.name, tasks: prepared, ...txOption(options.tx) });
    return outcomes.map((outcome) => outcome.id);
  }

  /**
   * Cancels a task: a pending task is cancelled at once; a running one is asked to stop (its
   * signal fires) and ends as cancelled.
   *
   * @returns true when the task was cancelled or asked to stop; false when it had finished.
   */
  cancel(taskId: string, options: { tx?: Tx } = {}): Promise<boolean> {
    return this.storage.taskCancel({ queueName: this.name, taskId, ...txOption(options.tx) });
  }

  /**
   * Runs again a task that failed for good in this queue, where it is now: in this queue, or in
   * its dead-letter queue, from which it moves back here with its attempt history. It gets
   * `attempts` more attempts (default 1) under its own retry policy and is due after `delayMs`.
   *
   * @returns true when the task was requeued; false when it is not a failed task of this queue
   * (pending, running, succeeded, cancelled, pruned or unknown), or when a live task of this queue
   * holds its dedupe key.
   * @throws ConfigError when `attempts` or `delayMs` is invalid; nothing changes.
   *
   * @example
   * ```ts
   * for (const task of await queue.storage.taskList({ queueName: "resize-image-dlq" })) {
   *   await queue.retry(task.id, { attempts: 3 });
   * }
   * ```
   */
  async retry(taskId: string, options: RetryTaskOptions<Tx> = {}): Promise<boolean> {
    const { attempts, delayMs } = resolveRetryTaskOptions(options);
    return this.storage.taskRequeue({ queueName: this.name, taskId, attempts, delayMs, ...txOption(options.tx) });
  }

  /**
   * Sets the queue's recurring schedule (one per queue; this replaces any previous one). Each
   * occurrence enqueues `input` for `task`.
   */
  async schedule(
    schedule: ScheduleDefinition,
    input: Input,
    options: { tx?: Tx; task?: Task<Input, unknown, Tx> } = {},
  ): Promise<void> {
    if (typeof schedule?.cron !== "string" || typeof schedule.timeZone !== "string") {
      throw new ConfigError("schedule() expects a ZonedSchedule (an object with cron and timeZone strings)");
    }
    if (options.task) await this.prepare(options.task, input);
    const json: JsonValue = assertJsonPayload(input);
    await this.storage.scheduleUpsert({
      queueName: this.name,
      cron: schedule.cron,
      timeZone: schedule.timeZone,
      input: json,
      ...txOption(options.tx),
    });
  }

  /** Removes the queue's schedule. @returns whether there was one. */
  unschedule(options: { tx?: Tx } = {}): Promise<boolean> {
    return this.storage.scheduleDelete({ queueName: this.name, ...txOption(options.tx) });
  }

  /** The queue's schedule, if any. */
  getSchedule(): Promise<ScheduleRecord | null> {
    return this.storage.scheduleGet({ queueName: this.name });
  }

  /** Reads a task by id. */
  getTask(taskId: string): Promise<TaskRecord | null> {
    return this.storage.taskGet({ taskId });
  }

  /** Reads a task's attempts. */
  getAttempts(taskId: string): Promise<AttemptRecord[]> {
    return this.storage.taskAttempts({ taskId });
  }
}

/**
 * Builds a {@link Queue}: `.name()`, optionally `.deadLetterQueue()`, `.storage()`, then
 * `await .build()`, which registers the queue (and its dead-letter queue) in the storage.
 */
export class QueueBuilder<Input = unknown, Tx = unknown> {
  #name: string | undefined;
  #deadLetterQueueName: string | null = null;
  #storage: StorageAdapter<Tx> | undefined;

  /** The queue's name: 1–128 characters, no whitespace or control characters. */
  name(name: string): this {
    this.#name = validateQueueName(name);
    return this;
  }

  /** Where tasks that fail for good are moved. */
  deadLetterQueue(name: string): this {
    this.#deadLetterQueueName = validateQueueName(name, "dead-letter queue name");
    return this;
  }

  /** The storage to use. */
  storage<StorageTx>(storage: StorageAdapter<StorageTx>): QueueBuilder<Input, StorageTx> {
    if (typeof storage !== "object" || storage === null || typeof storage.taskEnqueue !== "function") {
      throw new ConfigError("storage() expects a storage adapter such as new PgStorage(pool)");
    }
    const next = this as unknown as QueueBuilder<Input, StorageTx>;
    next.#storage = storage;
    return next;
  }

  /** Registers the queue and returns it. */
  async build(): Promise<Queue<Input, Tx>> {
    if (this.#name === undefined) throw new ConfigError("A queue needs a name: call .name(...) before .build()");
    if (this.#storage === undefined) throw new ConfigError("A queue needs a storage: call .storage(...) before .build()");
    if (this.#deadLetterQueueName === this.#name) {
      throw new ConfigError("A queue cannot be its own dead-letter queue");
    }
    await this.#storage.queueUpsert({ queueName: this.#name, deadLetterQueueName: this.#deadLetterQueueName });
    return Queue.create<Input, Tx>(this.#name, this.#deadLetterQueueName, this.#storage);
  }
}

function txOption<Tx>(tx: Tx | undefined): { tx?: Tx } {
  return tx === undefined ? {} : { tx };
}
