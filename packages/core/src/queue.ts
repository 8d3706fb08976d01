import { describeArgument, optionsObject, txOption, type OptionNames } from "./argument-checks.js";
import { ConfigError } from "./errors.js";
import { isTaskId, newTaskId } from "./ids.js";
import { assertJsonPayload, type JsonValue } from "./json-payload.js";
import { validateDurationMs, validateOptionalKey } from "./durations.js";
import { validateQueueName } from "./queue-name.js";
import { RETRY_TASK_OPTION_NAMES, resolveRetryTaskOptions, type RetryTaskOptions } from "./retry-task-options.js";
import type { ScheduleDefinition } from "./schedule-definition.js";
import type { AttemptRecord, NewTask, ScheduleRecord, TaskRecord } from "./storage/records.js";
import type { StorageAdapter } from "./storage/storage-adapter.js";
import type { Task } from "./task.js";
import { assertTask, resolveTaskSettings, validateWithSchema } from "./task-settings.js";

/** Options of {@link Queue.enqueue}. */
export interface EnqueueOptions<Tx> {
  /** Write inside this transaction: visible (and notified) only when it commits. Leave it out for none; `null` is refused. */
  tx?: Tx;
  /** Extra delay in ms, added to the task's own delay. */
  delayMs?: number;
  /**
   * Groups tasks that belong together (a job run's steps share one): null, or a non-empty string
   * of at most 512 characters without NUL characters or lone surrogates.
   */
  correlationId?: string | null;
}

/** Options of {@link Queue.enqueueMany}. */
export interface EnqueueManyOptions<Tx> {
  /** Write inside this transaction, all or nothing. Leave it out for none; `null` is refused. */
  tx?: Tx;
  /** Extra delay in ms for every task, added to each task's own delay. */
  delayMs?: number;
  /** Groups the tasks (every one gets this id); checked as in {@link EnqueueOptions.correlationId}. */
  correlationId?: string | null;
}

/** {@link PrepareOptions} checked: the delay added to each task's own, and the correlation id. */
interface CheckedPrepareOptions {
  extraDelayMs: number;
  correlationId: string | null;
}

/** @throws {@link ConfigError} when `delayMs` or `correlationId` is invalid. */
function checkedPrepareOptions(options: PrepareOptions): CheckedPrepareOptions {
  return {
    extraDelayMs: options.delayMs === undefined ? 0 : validateDurationMs(options.delayMs, "delayMs"),
    correlationId: validateOptionalKey(options.correlationId, "correlationId"),
  };
}

const ENQUEUE_OPTION_NAMES: OptionNames<EnqueueOptions<unknown>> = { tx: true, delayMs: true, correlationId: true };
const PREPARE_OPTION_NAMES: OptionNames<PrepareOptions> = { delayMs: true, correlationId: true };
const TX_OPTION_NAMES: OptionNames<{ tx?: unknown }> = { tx: true };
const SCHEDULE_OPTION_NAMES: OptionNames<{ tx?: unknown; task?: unknown }> = { tx: true, task: true };

/** Options of {@link Queue.prepare}. */
export interface PrepareOptions {
  /** Extra delay in ms, added to the task's own delay. */
  delayMs?: number;
  /** Checked as in {@link EnqueueOptions.correlationId}. */
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
  /** Where tasks that fail for good are moved, or null: as recorded when the queue was built. */
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
   * @throws ConfigError when `task` is not a task (or its `schema` is not a Standard Schema), a
   * setting resolves to an invalid value, or `options` (or its `delayMs` or `correlationId`) is
   * invalid.
   */
  async prepare(task: Task<Input, unknown, Tx>, input: Input, options: PrepareOptions = {}): Promise<NewTask> {
    return this.#prepare(task, input, checkedPrepareOptions(optionsObject(options, "prepare()", PREPARE_OPTION_NAMES)));
  }

  /** {@link prepare} with its options checked. */
  async #prepare(task: Task<Input, unknown, Tx>, input: Input, options: CheckedPrepareOptions): Promise<NewTask> {
    assertTask(task);
    if (task.schema) await validateWithSchema(task.schema, input);
    return this.#prepareValid(task, input, options);
  }

  /** {@link prepare} after the schema check: JSON check, settings, id. */
  #prepareValid(task: Task<Input, unknown, Tx>, input: Input, { extraDelayMs, correlationId }: CheckedPrepareOptions): NewTask {
    const json = assertJsonPayload(input);
    const settings = resolveTaskSettings(task, input);
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
      correlationId,
    };
  }

  /**
   * Enqueues one task. With `tx` the task is written inside the caller's transaction.
   *
   * @returns the task's id (the existing task's id when its dedupe key matched one).
   * @throws ValidationError when the input fails its schema or is not JSON; nothing is written.
   * @throws ConfigError when `task` is not a task (or its `schema` is not a Standard Schema, or
   * its `validate` returns no result), a setting resolves to an invalid value, or `options` is not
   * an object or holds an invalid `delayMs` or `correlationId`, or `tx: null`; nothing is written.
   */
  async enqueue(task: Task<Input, unknown, Tx>, input: Input, options: EnqueueOptions<Tx> = {}): Promise<string> {
    const checked = optionsObject(options, "enqueue()", ENQUEUE_OPTION_NAMES);
    const tx = txOption(checked.tx, "enqueue()");
    const prepared = await this.#prepare(task, input, checkedPrepareOptions(checked));
    const [outcome] = await this.storage.taskEnqueue({ queueName: this.name, tasks: [prepared], ...tx });
    return outcome!.id;
  }

  /**
   * Enqueues many tasks at once, all or nothing: one invalid input rejects the whole call before
   * anything is written.
   *
   * @returns the ids, in input order.
   * @throws ValidationError when an input fails its schema or is not JSON; nothing is written.
   * @throws ConfigError when `inputs` is not an array, `task` is not a task (or its `schema` is
   * not a Standard Schema, or its `validate` returns no result), a setting resolves to an invalid
   * value, or `options` is not an object or holds an invalid `delayMs` or `correlationId`, or
   * `tx: null`; nothing is written.
   */
  async enqueueMany(task: Task<Input, unknown, Tx>, inputs: ReadonlyArray<Input>, options: EnqueueManyOptions<Tx> = {}): Promise<string[]> {
    const checked = optionsObject(options, "enqueueMany()", ENQUEUE_OPTION_NAMES);
    const tx = txOption(checked.tx, "enqueueMany()");
    if (!Array.isArray(inputs)) throw new ConfigError(`enqueueMany expects an array of inputs, got ${describeArgument(inputs)}`);
    // Checked once for the call, not once per input.
    const prepareOptions = checkedPrepareOptions(checked);
    if (inputs.length === 0) return [];
    assertTask(task);
    const prepared: NewTask[] = new Array(inputs.length);
    for (let index = 0; index < inputs.length; index += 1) {
      const input = inputs[index]!;
      // Without a schema, preparing is synchronous: no await per input.
      if (task.schema) await validateWithSchema(task.schema, input);
      prepared[index] = this.#prepareValid(task, input, prepareOptions);
    }
    const outcomes = await this.storage.taskEnqueue({ queueName: this.name, tasks: prepared, ...tx });
    return outcomes.map((outcome) => outcome.id);
  }

  /**
   * Cancels a task: a pending task is cancelled at once; a running one is asked to stop (its
   * signal fires) and ends as cancelled.
   *
   * @param taskId - the task's id, in either letter case.
   * @returns true when the task was cancelled or asked to stop; false when it had finished, or
   * there is no such task in this queue (a string that is not a UUID included).
   * @throws ConfigError when `taskId` is not a string, or `options` is not an object or holds
   * `tx: null`; nothing changes.
   */
  async cancel(taskId: string, options: { tx?: Tx } = {}): Promise<boolean> {
    checkTaskId(taskId, "cancel()");
    const checked = optionsObject(options, "cancel()", TX_OPTION_NAMES);
    const tx = txOption(checked.tx, "cancel()");
    if (!isTaskId(taskId)) return false;
    return this.storage.taskCancel({ queueName: this.name, taskId, ...tx });
  }

  /**
   * Runs again a task that failed for good in this queue, where it is now: in this queue, or in
   * its dead-letter queue, from which it moves back here with its attempt history. It gets
   * `attempts` more attempts (default 1) under its own retry policy and is due after `delayMs`.
   *
   * @param taskId - the task's id, in either letter case.
   * @returns true when the task was requeued; false when it is not a failed task of this queue
   * (pending, running, succeeded, cancelled, pruned or unknown, a string that is not a UUID
   * included), or when a live task of this queue holds its dedupe key.
   * @throws ConfigError when `taskId` is not a string, `options` is not an object, `attempts` or
   * `delayMs` is invalid, or it holds `tx: null`; nothing changes.
   *
   * @example
   * ```ts
   * for (const task of await queue.storage.taskList({ queueName: "resize-image-dlq" })) {
   *   await queue.retry(task.id, { attempts: 3 });
   * }
   * ```
   */
  async retry(taskId: string, options: RetryTaskOptions<Tx> = {}): Promise<boolean> {
    checkTaskId(taskId, "retry()");
    const checked = optionsObject(options, "retry()", RETRY_TASK_OPTION_NAMES);
    const { attempts, delayMs } = resolveRetryTaskOptions(checked);
    const tx = txOption(checked.tx, "retry()");
    if (!isTaskId(taskId)) return false;
    return this.storage.taskRequeue({ queueName: this.name, taskId, attempts, delayMs, ...tx });
  }

  /**
   * Sets the queue's recurring schedule (one per queue; this replaces any previous one). Each
   * occurrence enqueues `input` for `task`.
   *
   * `schedule` must be a parsed schedule, such as `ZonedSchedule.parse("@daily[Europe/Berlin]")`
   * from `@underway/scheduler`, which checked its cron expression and zone when it was built. A
   * plain `{ cron, timeZone }` object is refused: core cannot check it.
   *
   * @throws ConfigError when `schedule` is not a parsed schedule (a {@link ScheduleDefinition}
   * with `cron` and `timeZone` strings and a `next` method), or `options` is not an object or
   * holds `tx: null`; nothing is stored.
   * @throws ValidationError when `input` fails the schema of `options.task` or is not JSON;
   * nothing is stored.
   */
  async schedule(
    schedule: ScheduleDefinition,
    input: Input,
    options: { tx?: Tx; task?: Task<Input, unknown, Tx> } = {},
  ): Promise<void> {
    assertScheduleDefinition(schedule);
    const checked = optionsObject(options, "schedule()", SCHEDULE_OPTION_NAMES);
    const tx = txOption(checked.tx, "schedule()");
    if (checked.task) await this.prepare(checked.task, input);
    const json: JsonValue = assertJsonPayload(input);
    await this.storage.scheduleUpsert({
      queueName: this.name,
      cron: schedule.cron,
      timeZone: schedule.timeZone,
      input: json,
      ...tx,
    });
  }

  /**
   * Removes the queue's schedule.
   *
   * @returns whether there was one.
   * @throws ConfigError when `options` is not an object or holds `tx: null`; nothing changes.
   */
  async unschedule(options: { tx?: Tx } = {}): Promise<boolean> {
    const checked = optionsObject(options, "unschedule()", TX_OPTION_NAMES);
    return this.storage.scheduleDelete({ queueName: this.name, ...txOption(checked.tx, "unschedule()") });
  }

  /** The queue's schedule, if any. */
  getSchedule(): Promise<ScheduleRecord | null> {
    return this.storage.scheduleGet({ queueName: this.name });
  }

  /**
   * Reads a task by id, in either letter case.
   *
   * @returns the task, or null when there is none (a string that is not a UUID included).
   * @throws ConfigError when `taskId` is not a string.
   */
  async getTask(taskId: string): Promise<TaskRecord | null> {
    checkTaskId(taskId, "getTask()");
    if (!isTaskId(taskId)) return null;
    return this.storage.taskGet({ taskId });
  }

  /**
   * Reads a task's attempts, oldest first; the task's id may be in either letter case.
   *
   * @returns the attempts; none when there is no such task (a string that is not a UUID included).
   * @throws ConfigError when `taskId` is not a string.
   */
  async getAttempts(taskId: string): Promise<AttemptRecord[]> {
    checkTaskId(taskId, "getAttempts()");
    if (!isTaskId(taskId)) return [];
    return this.storage.taskAttempts({ taskId });
  }
}

/**
 * Builds a {@link Queue}: `.name()`, optionally `.deadLetterQueue()`, `.storage()`, then
 * `await .build()`, which registers the queue (and its dead-letter queue) in the storage.
 *
 * The dead-letter queue is recorded with the queue, for every process. A builder that does not
 * call `.deadLetterQueue()` keeps the one recorded (a process that only enqueues need not repeat
 * it); `.deadLetterQueue(null)` removes it.
 */
export class QueueBuilder<Input = unknown, Tx = unknown> {
  #name: string | undefined;
  #deadLetterQueueName: string | null | undefined;
  #storage: StorageAdapter<Tx> | undefined;

  /** The queue's name: 1–128 characters, no whitespace or control characters. */
  name(name: string): this {
    this.#name = validateQueueName(name);
    return this;
  }

  /**
   * Where tasks that fail for good are moved; null: nowhere, they stay failed in this queue. Left
   * out, the queue keeps the dead-letter queue recorded for it (none for a new queue).
   */
  deadLetterQueue(name: string | null): this {
    this.#deadLetterQueueName = name === null ? null : validateQueueName(name, "dead-letter queue name");
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
    const deadLetterQueueName = this.#deadLetterQueueName;
    const registered = await this.#storage.queueUpsert({
      queueName: this.#name,
      ...(deadLetterQueueName === undefined ? {} : { deadLetterQueueName }),
    });
    return Queue.create<Input, Tx>(this.#name, registered.deadLetterQueueName, this.#storage);
  }
}

/** @throws ConfigError unless `schedule` is a parsed schedule. */
function assertScheduleDefinition(schedule: unknown): asserts schedule is ScheduleDefinition {
  const candidate = schedule as Partial<ScheduleDefinition> | null | undefined;
  if (
    typeof schedule !== "object" ||
    candidate === null ||
    candidate === undefined ||
    typeof candidate.cron !== "string" ||
    typeof candidate.timeZone !== "string" ||
    typeof candidate.next !== "function"
  ) {
    const plain = typeof schedule === "object" && candidate !== null && typeof candidate?.cron === "string";
    throw new ConfigError(
      `schedule() expects a parsed schedule: use ZonedSchedule.parse("<cron>[<zone>]") from @underway/scheduler` +
        (plain ? `; a plain { cron, timeZone } object is not checked and is refused` : ""),
    );
  }
}

/**
 * Throws a ConfigError unless `taskId` is a string. A string that is not a UUID is no error: no
 * task has it, so the call finds nothing.
 */
function checkTaskId(taskId: unknown, call: string): asserts taskId is string {
  if (typeof taskId !== "string") {
    throw new ConfigError(`${call} expects a task id (a UUID string), got ${describeArgument(taskId)}`);
  }
}
