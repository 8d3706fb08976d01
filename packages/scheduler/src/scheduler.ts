import {
  ConfigError,
  TypedEventEmitter,
  errorMessage,
  isAbortSignal,
  type LeaderLock,
  type Queue,
  type ScheduleRecord,
  type StorageAdapter,
  type StorageEvent,
  type StorageSubscription,
  type Task,
} from "@underway/core";
import { abortableSleep } from "./abortable-sleep.js";
import type { SchedulerEvents } from "./scheduler-events.js";
import { resolveSchedulerOptions, type ResolvedSchedulerOptions, type SchedulerOptions } from "./scheduler-options.js";
import { ZonedSchedule } from "./zoned-schedule.js";

const FIRST_ERROR_BACKOFF_MS = 100;
const MAX_ERROR_BACKOFF_MS = 5_000;
/** Skipped occurrences reported one by one per catch-up; beyond this only a count is logged. */
const MAX_REPORTED_SKIPS = 100;

/** The schedule the leader is following, and the last occurrence it dealt with. */
interface FollowedSchedule {
  /** `"<cron>[<zone>]"`: a different key means the schedule changed. */
  key: string;
  schedule: ZonedSchedule;
  /** Occurrences at or before this instant are done (fired, skipped, or before leadership). */
  cursor: Date;
}

type FireResult = "handled" | "storage-failed";

/**
 * Fires a queue's schedule: enqueues the schedule's input each time its cron expression comes
 * due, with exactly one leader per queue among every scheduler of every process.
 *
 * Leadership is a storage lock (`scheduler:<queue>`; a session advisory lock on Postgres). The
 * schedulers that do not hold it stay on standby and try again every `standbyRetryMs`, so when
 * the leader's process dies another takes over within about a second of the database noticing.
 * The leader re-reads the schedule every `refreshIntervalMs`, so `queue.schedule()` and
 * `queue.unschedule()` apply without a restart. Each occurrence is enqueued through
 * `scheduleFire`, whose (queue, fire time) key makes a double fire impossible even if two
 * processes both believe they lead.
 *
 * A scheduler without a schedule, on standby, or facing a failing database never throws and never
 * stops on its own: failures are logged, emitted as `scheduler:error` and retried with backoff.
 * It stops on `shutdown()`, when the signal given to `run()` aborts, or on a storage `shutdown`
 * event for its queue or for every queue.
 *
 * @typeParam Input - the task's input type.
 * @typeParam Tx - the storage's transaction handle type.
 *
 * @example
 * ```ts
 * await queue.schedule(ZonedSchedule.parse("0 0 6 * * *[Europe/Berlin]"), { report: "daily" });
 * const scheduler = new Scheduler(queue, dailyReport, { missedFires: { catchUp: 3 } });
 * scheduler.on("scheduler:fired", ({ fireAt, taskId }) => console.log(fireAt, taskId));
 * const running = scheduler.run();
 * // ... later
 * await scheduler.shutdown();
 * await running;
 * ```
 */
export class Scheduler<Input = unknown, Tx = unknown> extends TypedEventEmitter<SchedulerEvents> {
  /** The queue whose schedule this scheduler fires. */
  readonly queue: Queue<Input, Tx>;
  /** The task each fire enqueues. */
  readonly task: Task<Input, unknown, Tx>;
  readonly #options: ResolvedSchedulerOptions<Input>;
  readonly #stopController = new AbortController();
  #running: Promise<void> | undefined;
  #lock: LeaderLock | null = null;
  #subscription: StorageSubscription | null = null;
  #role: "idle" | "standby" | "leader" = "idle";

  /**
   * @throws ConfigError when the queue, the task or an option is invalid.
   */
  constructor(queue: Queue<Input, Tx>, task: Task<Input, unknown, Tx>, options: SchedulerOptions<Input> = {}) {
    super();
    if (typeof queue !== "object" || queue === null || typeof queue.prepare !== "function" || typeof queue.storage?.scheduleFire !== "function") {
      throw new ConfigError("Scheduler expects a Queue built with Queue.builder()...build() as its first argument");
    }
    if (typeof task !== "object" || task === null || typeof task.execute !== "function") {
      throw new ConfigError("Scheduler expects a task (an object with an execute(cx, input) method) as its second argument");
    }
    this.queue = queue;
    this.task = task;
    this.#options = resolveSchedulerOptions(options);
  }

  /** Whether this scheduler currently holds leadership of its queue's schedule. */
  get isLeader(): boolean {
    return this.#role === "leader";
  }

  /**
   * Runs until stopped (by {@link shutdown}, by `signal`, or by a storage shutdown event). Never
   * rejects because of a storage failure. Calling it again returns the same promise; after a
   * shutdown it resolves at once.
   *
   * @throws {@link ConfigError} (as a rejection) when `signal` is given but is not an
   * `AbortSignal`; the scheduler is left as it was, so a later `run()` and `shutdown()` work.
   */
  run(signal?: AbortSignal): Promise<void> {
    if (signal !== undefined && !isAbortSignal(signal)) {
      return Promise.reject(new ConfigError("scheduler.run(signal) expects an AbortSignal or nothing"));
    }
    this.#running ??= this.#runLoop(signal);
    return this.#running;
  }

  /**
   * Stops the scheduler and releases leadership at once, so a standby elsewhere can take over on
   * its next try. Resolves when `run()` has finished. Safe to call twice, and before `run()`.
   */
  async shutdown(): Promise<void> {
    this.#stop();
    const lock = this.#lock;
    if (lock !== null) await this.#release(lock);
    await this.#running;
  }

  get #storage(): StorageAdapter<Tx> {
    return this.queue.storage;
  }

  get #queueName(): string {
    return this.queue.name;
  }

  #stop(): void {
    if (!this.#stopController.signal.aborted) this.#stopController.abort();
  }

  async #runLoop(signal: AbortSignal | undefined): Promise<void> {
    const stopping = this.#stopController.signal;
    const onAbort = () => this.#stop();
    if (signal?.aborted) onAbort();
    else signal?.addEventListener("abort", onAbort, { once: true });
    let failures = 0;
    try {
      while (!stopping.aborted) {
        await this.#ensureSubscribed();
        let lock: LeaderLock | null;
        try {
          lock = await this.#storage.lockTry({ key: `scheduler:${this.#queueName}` });
          failures = 0;
        } catch (error) {
          this.#report(error, "Could not try the scheduler leadership lock; retrying");
          await abortableSleep(errorBackoffMs(failures++), stopping);
          continue;
        }
        if (lock === null) {
          this.#enterStandby();
          await abortableSleep(this.#options.standbyRetryMs, stopping);
          continue;
        }
        if (stopping.aborted) {
          await this.#release(lock);
          break;
        }
        this.#lock = lock;
        this.#role = "leader";
        this.#options.logger.info({ queueName: this.#queueName }, "Scheduler is now the leader");
        this.emit("scheduler:leader", { queueName: this.#queueName });
        try {
          await this.#lead(lock);
        } finally {
          this.#lock = null;
          this.#role = "idle";
          await this.#release(lock);
        }
        if (!stopping.aborted) {
          this.#options.logger.warn({ queueName: this.#queueName }, "Scheduler lost leadership; back to standby");
          this.#enterStandby();
        }
      }
    } finally {
      signal?.removeEventListener("abort", onAbort);
      const subscription = this.#subscription;
      this.#subscription = null;
      await subscription?.close().catch((error: unknown) => this.#report(error, "Could not close the storage subscription"));
      this.#role = "idle";
      this.#options.logger.info({ queueName: this.#queueName }, "Scheduler stopped");
      this.emit("scheduler:stopped", { queueName: this.#queueName });
    }
  }

  /** Leads until leadership is lost or the scheduler stops. */
  async #lead(lock: LeaderLock): Promise<void> {
    const leading = AbortSignal.any([this.#stopController.signal, lock.signal]);
    const { refreshIntervalMs } = this.#options;
    let followed: FollowedSchedule | null = null;
    let rejectedKey: string | null = null;
    let startOfTerm = true;
    let waiting = false;
    let failures = 0;
    while (!leading.aborted) {
      await this.#ensureSubscribed();
      let record: ScheduleRecord | null;
      try {
        record = await this.#storage.scheduleGet({ queueName: this.#queueName });
        failures = 0;
      } catch (error) {
        this.#report(error, "Could not read the schedule; retrying");
        await abortableSleep(errorBackoffMs(failures++), leading);
        continue;
      }
      if (leading.aborted) break;

      if (record === null) {
        if (!waiting) {
          waiting = true;
          this.#options.logger.info({ queueName: this.#queueName }, "No schedule for this queue yet; waiting for one");
          this.emit("scheduler:waiting", { queueName: this.#queueName });
        }
        // A schedule that appears later starts from its next occurrence, whatever the policy.
        followed = null;
        startOfTerm = false;
        await abortableSleep(refreshIntervalMs, leading);
        continue;
      }
      waiting = false;

      const key = `${record.cron}[${record.timeZone}]`;
      if (followed === null || followed.key !== key) {
        let schedule: ZonedSchedule;
        try {
          schedule = new ZonedSchedule(record.cron, record.timeZone);
        } catch (error) {
          if (rejectedKey !== key) {
            rejectedKey = key;
            this.#report(error, `The stored schedule "${key}" is invalid; waiting for a valid one`);
          }
          await abortableSleep(refreshIntervalMs, leading);
          continue;
        }
        rejectedKey = null;
        followed = { key, schedule, cursor: this.#initialCursor(record, startOfTerm) };
      }
      startOfTerm = false;

      const now = new Date();
      const next = followed.schedule.next(followed.cursor);
      if (next === null) {
        await abortableSleep(refreshIntervalMs, leading);
        continue;
      }
      if (next.getTime() > now.getTime()) {
        // Wake at the fire time, or earlier to re-read the schedule: a change applies meanwhile.
        await abortableSleep(Math.min(next.getTime() - now.getTime(), refreshIntervalMs), leading);
        continue;
      }

      const { toFire, skipped } = this.#dueOccurrences(followed, now);
      for (const fireAt of skipped) this.emit("scheduler:skipped", { queueName: this.#queueName, fireAt, reason: "missed", taskId: null });
      if (skipped.length > 0) followed.cursor = skipped[skipped.length - 1]!;
      for (const fireAt of toFire) {
        if (leading.aborted) break;
        if ((await this.#fire(fireAt, record)) === "storage-failed") {
          await abortableSleep(errorBackoffMs(failures++), leading);
          break;
        }
        followed.cursor = fireAt;
      }
    }
  }

  /**
   * Where a newly followed schedule starts. Under `skip`, after now (or after the last fire if a
   * clock elsewhere ran ahead); under `catchUp`, at the start of a leadership term, after the
   * schedule's last fire so the missed occurrences come due at once.
   */
  #initialCursor(record: ScheduleRecord, startOfTerm: boolean): Date {
    const now = new Date();
    const lastFiredAt = record.lastFiredAt;
    if (startOfTerm && this.#options.catchUpOnStart > 0 && lastFiredAt !== null) return lastFiredAt;
    return lastFiredAt !== null && lastFiredAt.getTime() > now.getTime() ? lastFiredAt : now;
  }

  /**
   * The overdue occurrences after the cursor: the latest `catchUpWhileLeading` of them to fire,
   * oldest first, and the older ones to report as skipped (at most {@link MAX_REPORTED_SKIPS}).
   * It walks backwards from now so that a long outage costs no more than the bound.
   */
  #dueOccurrences(followed: FollowedSchedule, now: Date): { toFire: Date[]; skipped: Date[] } {
    const limit = this.#options.catchUpWhileLeading;
    const cursor = followed.cursor.getTime();
    const walk = followed.schedule.preceding(new Date(now.getTime() + 1));
    const toFire: Date[] = [];
    const skipped: Date[] = [];
    let more = false;
    for (const occurrence of walk) {
      if (occurrence.getTime() <= cursor) break;
      if (toFire.length < limit) {
        toFire.push(occurrence);
        continue;
      }
      if (skipped.length >= MAX_REPORTED_SKIPS) {
        more = true;
        break;
      }
      skipped.push(occurrence);
    }
    if (skipped.length > 0) {
      this.#options.logger.warn(
        { queueName: this.#queueName, skipped: more ? `more than ${skipped.length}` : skipped.length, firing: toFire.length },
        "Skipping missed schedule occurrences, as the missed-fire policy says",
      );
    }
    return { toFire: toFire.reverse(), skipped: skipped.reverse() };
  }

  async #fire(fireAt: Date, record: ScheduleRecord): Promise<FireResult> {
    let prepared;
    try {
      const { input, correlationId } = this.#options.fireInput(record.input, fireAt);
      prepared = await this.queue.prepare(this.task, input, { correlationId: correlationId ?? null });
    } catch (error) {
      this.#report(error, `Could not build the task for the occurrence at ${fireAt.toISOString()}; skipping it`);
      this.emit("scheduler:skipped", { queueName: this.#queueName, fireAt, reason: "invalid-input", taskId: null });
      return "handled";
    }
    try {
      const outcome = await this.#storage.scheduleFire({ queueName: this.#queueName, fireAt, task: prepared });
      if (outcome.deduplicated) {
        this.#options.logger.info(
          { queueName: this.#queueName, fireAt, taskId: outcome.taskId },
          "Schedule occurrence skipped: a live task holds its dedupe key",
        );
        this.emit("scheduler:skipped", { queueName: this.#queueName, fireAt, reason: "deduplicated", taskId: outcome.taskId });
      } else if (outcome.fired && outcome.taskId !== null) {
        this.#options.logger.debug({ queueName: this.#queueName, fireAt, taskId: outcome.taskId }, "Schedule fired");
        this.emit("scheduler:fired", { queueName: this.#queueName, fireAt, taskId: outcome.taskId });
      } else {
        this.emit("scheduler:skipped", { queueName: this.#queueName, fireAt, reason: "already-fired", taskId: null });
      }
      return "handled";
    } catch (error) {
      this.#report(error, `Could not enqueue the occurrence at ${fireAt.toISOString()}; retrying`);
      return "storage-failed";
    }
  }

  async #ensureSubscribed(): Promise<void> {
    if (this.#subscription !== null || this.#stopController.signal.aborted) return;
    try {
      this.#subscription = await this.#storage.subscribe((event) => this.#onStorageEvent(event));
    } catch (error) {
      // Without events the scheduler still works; only cross-process shutdown waits for a retry.
      this.#report(error, "Could not subscribe to storage events; retrying later");
    }
  }

  #onStorageEvent(event: StorageEvent): void {
    if (event.type !== "shutdown") return;
    if (event.queueName !== null && event.queueName !== this.#queueName) return;
    this.#options.logger.info({ queueName: this.#queueName }, "Shutdown requested through the storage");
    this.#stop();
    const lock = this.#lock;
    if (lock !== null) void this.#release(lock);
  }

  #enterStandby(): void {
    if (this.#role === "standby") return;
    this.#role = "standby";
    this.#options.logger.debug({ queueName: this.#queueName }, "Another scheduler leads; standing by");
    this.emit("scheduler:standby", { queueName: this.#queueName });
  }

  async #release(lock: LeaderLock): Promise<void> {
    try {
      await lock.release();
    } catch (error) {
      this.#report(error, "Could not release the scheduler leadership lock");
    }
  }

  #report(error: unknown, message: string): void {
    this.#options.logger.error({ queueName: this.#queueName, error: errorMessage(error) }, message);
    this.emit("scheduler:error", { queueName: this.#queueName, error });
  }
}

function errorBackoffMs(failures: number): number {
  return Math.min(FIRST_ERROR_BACKOFF_MS * 2 ** Math.min(failures, 16), MAX_ERROR_BACKOFF_MS);
}
