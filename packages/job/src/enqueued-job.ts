import {
  ConfigError,
  MAX_TIMER_MS,
  isAbortSignal,
  optionsObject,
  txOption,
  RETRY_TASK_OPTION_NAMES,
  type OptionNames,
  resolveRetryTaskOptions,
  TimeoutError,
  validateDurationMs,
  type AttemptRecord,
  type JsonValue,
  type Queue,
  type RetryTaskOptions,
  type StorageEvent,
  type TaskRecord,
  type TaskState,
} from "@underway/core";
import { JobCancelledError, JobFailedError } from "./job-errors.js";
import type { JobEnvelope } from "./job-envelope.js";
import type { JobStepOutput } from "./job-task.js";

/** The state of a whole job run, derived from its steps. */
export type JobRunState = "pending" | "running" | "succeeded" | "failed" | "cancelled";

/** One step of a job run, as stored. */
export interface JobStepStatus {
  /** Which step, from 0. */
  stepIndex: number;
  /** The id of the step's task. */
  taskId: string;
  /** The state of the step's task. */
  state: TaskState;
  /** The input this step was given. */
  input: JsonValue;
  /** The step's attempts, oldest first. */
  attempts: AttemptRecord[];
  /** The error messages of failed attempts, oldest first. */
  errors: string[];
  /** When the step's task was written. */
  createdAt: Date;
  /** When the step's task is, or was, claimable. */
  runAt: Date;
  /** When the step's task finished; null while it has not. */
  completedAt: Date | null;
}

/** Where a job run stands: its derived state and every step so far. */
export interface JobStatus {
  /** The run's id. */
  jobId: string;
  /** The run's state, derived from its last stored step. */
  state: JobRunState;
  /** The stored steps, in order; empty when the run has no visible rows. */
  steps: JobStepStatus[];
}

const RESULT_OPTION_NAMES: OptionNames<ResultOptions> = { timeoutMs: true, signal: true };

/** Options of {@link EnqueuedJob.result}. */
export interface ResultOptions {
  /**
   * Give up after this many ms (rejects with `TimeoutError`): a whole number from 0 to
   * 2 147 483 647 (`MAX_TIMER_MS`, the longest a Node timer waits). Default: wait indefinitely.
   */
  timeoutMs?: number;
  /**
   * Stop waiting when this signal aborts (rejects with its reason); an already aborted signal
   * rejects at once.
   */
  signal?: AbortSignal;
}

/** How long to wait between checks when no event arrives (listener down, or another process). */
const RECHECK_INTERVAL_MS = 2_000;

/**
 * A job run that was enqueued: its id, and ways to cancel it, read its status, or wait for its
 * result.
 *
 * @example
 * ```ts
 * const run = await job.enqueue({ orderId: 42 });
 * const receipt = await run.result({ timeoutMs: 10_000 });
 * ```
 */
export class EnqueuedJob<Result = unknown, Tx = unknown> {
  /** The job run's id (a UUID string). */
  readonly id: string;
  /**
   * True when this handle comes from an enqueue whose dedupe key a live run already held: it is
   * that run, and the enqueue wrote nothing. False otherwise (and for `job.get(id)`).
   */
  readonly deduplicated: boolean;
  readonly #queue: Queue<JobEnvelope, Tx>;

  constructor(id: string, queue: Queue<JobEnvelope, Tx>, options: { deduplicated?: boolean } = {}) {
    this.id = id;
    this.deduplicated = options.deduplicated ?? false;
    this.#queue = queue;
  }

  /**
   * Cancels the run: its pending step is cancelled, its running step is aborted (its signal fires)
   * and no later step is enqueued.
   *
   * @returns true when something was cancelled or asked to stop; false when the run had finished.
   * @throws ConfigError when `options` is not an object or names an option other than `tx`;
   * nothing changes.
   */
  async cancel(options: { tx?: Tx } = {}): Promise<boolean> {
    const { tx } = optionsObject(options, "cancel()", { tx: true });
    return this.#queue.storage.taskCancel({ queueName: this.#queue.name, correlationId: this.id, ...txOption(tx, "cancel()") });
  }

  /**
   * Resumes a failed run from the step that failed: that step runs again (from the dead-letter
   * queue, if the job has one) with `attempts` more attempts (default 1), after `delayMs`; the
   * steps before it are not repeated. `result()` then waits for the resumed run.
   *
   * @returns true when the run was resumed; false when it had not failed.
   * @throws ConfigError when `options` is not an object, or `attempts` or `delayMs` is invalid;
   * nothing changes.
   *
   * @example
   * ```ts
   * const run = job.get(jobId);
   * if ((await run.status()).state === "failed") await run.retry({ attempts: 3 });
   * ```
   */
  async retry(options: RetryTaskOptions<Tx> = {}): Promise<boolean> {
    optionsObject(options, "retry()", RETRY_TASK_OPTION_NAMES);
    resolveRetryTaskOptions(options);
    txOption(options.tx, "retry()");
    const last = (await this.#steps()).at(-1);
    if (last?.state !== "failed") return false;
    return this.#queue.retry(last.id, options);
  }

  /**
   * Every step's state, attempts, errors and timestamps, and the run's overall state, derived
   * from its last stored step. A run with no visible rows (never enqueued, rolled back, not yet
   * committed, or pruned) reads `{ state: "pending", steps: [] }`.
   */
  async status(): Promise<JobStatus> {
    const tasks = await this.#steps();
    const steps = await Promise.all(
      tasks.map(async (task) => {
        const attempts = await this.#queue.storage.taskAttempts({ taskId: task.id });
        return {
          stepIndex: stepIndexOf(task),
          taskId: task.id,
          state: task.state,
          input: (task.input as unknown as JobEnvelope).stepInput,
          attempts,
          errors: attempts.flatMap((attempt) => (attempt.errorMessage ? [attempt.errorMessage] : [])),
          createdAt: task.createdAt,
          runAt: task.runAt,
          completedAt: task.completedAt,
        } satisfies JobStepStatus;
      }),
    );
    return { jobId: this.id, state: deriveRunState(tasks), steps };
  }

  /**
   * Waits for the run to finish and resolves with the value given to `To.done(result)`. Rejects
   * with `JobFailedError` or `JobCancelledError` when the run ends otherwise, with `TimeoutError`
   * after `timeoutMs`, and with the signal's reason when `signal` aborts (at once when it already
   * has). It waits on the storage's completion events (re-checking every few seconds in case an
   * event is missed), not by busy polling.
   *
   * A run with no visible rows (never enqueued, rolled back, not yet committed, or pruned after
   * its TTL) is waited for like any unfinished run, since rows of an open transaction appear on
   * commit: without `timeoutMs` or `signal`, such a wait never ends.
   *
   * @throws ConfigError (as a rejection, before waiting) when `options` is not an object,
   * `timeoutMs` is not a whole number from 0 to `MAX_TIMER_MS`, or `signal` is not an AbortSignal.
   */
  async result(options: ResultOptions = {}): Promise<Result> {
    optionsObject(options, "result()", RESULT_OPTION_NAMES);
    if (options.timeoutMs !== undefined) validateDurationMs(options.timeoutMs, "timeoutMs", { max: MAX_TIMER_MS });
    if (options.signal !== undefined && !isAbortSignal(options.signal)) {
      throw new ConfigError("result()'s signal option must be an AbortSignal");
    }
    if (options.signal?.aborted) throw options.signal.reason;
    const storage = this.#queue.storage;
    const controller = new AbortController();
    const { signal } = controller;
    const onOuterAbort = () => controller.abort(options.signal!.reason);
    options.signal?.addEventListener("abort", onOuterAbort, { once: true });
    const timer =
      options.timeoutMs === undefined
        ? undefined
        : setTimeout(() => controller.abort(new TimeoutError(options.timeoutMs!)), options.timeoutMs);
    let wake: () => void = () => undefined;
    const subscription = await storage
      .subscribe((event: StorageEvent) => {
        if ((event.type === "task:finished" && event.queueName === this.#queue.name) || event.type === "listener:reconnected") wake();
      })
      .catch(() => null);
    try {
      for (;;) {
        if (signal.aborted) throw signal.reason;
        const settled = await this.#settled();
        if (settled) return settled.value as Result;
        await new Promise<void>((resolve) => {
          const recheck = setTimeout(finish, RECHECK_INTERVAL_MS);
          function finish() {
            clearTimeout(recheck);
            signal.removeEventListener("abort", finish);
            resolve();
          }
          wake = finish;
          signal.addEventListener("abort", finish, { once: true });
        });
      }
    } finally {
      if (timer) clearTimeout(timer);
      options.signal?.removeEventListener("abort", onOuterAbort);
      await subscription?.close();
    }
  }

  async #settled(): Promise<{ value: unknown } | null> {
    const tasks = await this.#steps();
    const last = tasks[tasks.length - 1];
    if (!last) return null;
    if (last.state === "cancelled") throw new JobCancelledError(this.id);
    if (last.state === "failed") {
      const attempts = await this.#queue.storage.taskAttempts({ taskId: last.id });
      const reason = [...attempts].reverse().find((attempt) => attempt.errorMessage)?.errorMessage ?? null;
      throw new JobFailedError(this.id, stepIndexOf(last), reason);
    }
    if (last.state === "succeeded") {
      const output = last.output as unknown as JobStepOutput | null;
      if (output && output.done === true) return { value: output.result };
    }
    return null;
  }

  async #steps(): Promise<TaskRecord[]> {
    const tasks = await this.#queue.storage.taskList({ queueName: this.#queue.name, correlationId: this.id });
    const dead = this.#queue.deadLetterQueueName
      ? await this.#queue.storage.taskList({ queueName: this.#queue.deadLetterQueueName, correlationId: this.id })
      : [];
    return [...tasks, ...dead].sort((a, b) => stepIndexOf(a) - stepIndexOf(b) || a.createdAt.getTime() - b.createdAt.getTime());
  }
}

function stepIndexOf(task: TaskRecord): number {
  const index = (task.input as { stepIndex?: unknown } | null)?.stepIndex;
  return typeof index === "number" ? index : -1;
}

function deriveRunState(tasks: TaskRecord[]): JobRunState {
  const last = tasks[tasks.length - 1];
  if (!last) return "pending";
  switch (last.state) {
    case "pending":
      return tasks.length === 1 && last.attemptCount === 0 ? "pending" : "running";
    case "in_progress":
      return "running";
    case "succeeded": {
      const output = last.output as unknown as JobStepOutput | null;
      return output?.done === true ? "succeeded" : "running";
    }
    case "failed":
      return "failed";
    case "cancelled":
      return "cancelled";
  }
}
