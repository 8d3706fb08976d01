import { checkedClock, systemClock, type Clock } from "../clock.js";
import { optionsObject, validateLimit } from "../argument-checks.js";
import { validateDurationMs } from "../durations.js";
import { ConfigError, StorageError, TaskNotFoundError } from "../errors.js";
import type { JsonValue } from "../json-payload.js";
import { checkedLogger, defaultLogger, type Logger } from "../logger.js";
import { MAX_INT32 } from "../retry-policy.js";
import { resolveRetryTaskOptions } from "../retry-task-options.js";
import { isClaimedOnWrite } from "../storage/follow-up-claim.js";
import { TASK_LIST_DEFAULT_LIMIT } from "../storage/storage-adapter.js";
import type {
  AttemptRecord,
  AttemptRef,
  ClaimedTask,
  EnqueueOutcome,
  FollowUpTask,
  NewTask,
  ScheduleRecord,
  TaskRecord,
} from "../storage/records.js";
import type {
  CompleteManyOutcome,
  CompleteOutcome,
  FailOutcome,
  HeartbeatOutcome,
  LeaderLock,
  QueueRegistration,
  QueueUpsertParams,
  RetryOutcome,
  ScheduleFireOutcome,
  ScheduleFireParams,
  ScheduleUpsertParams,
  StorageAdapter,
  StorageCapabilities,
  StorageEvent,
  StorageEventListener,
  StorageSubscription,
  StorageTransaction,
  TaskCancelParams,
  TaskClaimParams,
  TaskCompleteManyParams,
  TaskCompleteParams,
  TaskEnqueueParams,
  TaskFailParams,
  TaskListParams,
  TaskRequeueParams,
  TaskRetryParams,
} from "../storage/storage-adapter.js";
import type { AttemptState } from "../task-state.js";
import { LEASE_HEARTBEATS } from "../task-settings.js";
import { fireKey, MemoryState, type MemoryOperation } from "./memory-state.js";
import { MemoryTransactionHandle } from "./memory-transaction-handle.js";

/** Options of {@link MemoryStorage}. */
export interface MemoryStorageOptions {
  /** Where every "now" is read (leases, delays, TTLs). Default: the system clock. */
  clock?: Clock;
  /** Where errors thrown by event subscribers and commit callbacks are reported. */
  logger?: Logger;
}

/** Reads of the stored rows that bypass the adapter, for conformance checks. */
export interface MemoryRawReader {
  /** The stored task, or null when there is none with that id. */
  task(taskId: string): Promise<TaskRecord | null>;
  /** The task's stored attempts, oldest first. */
  attempts(taskId: string): Promise<AttemptRecord[]>;
}


/** Attempt messages written by the storage itself. */
export const MEMORY_STORAGE_MESSAGES = Object.freeze({
  leaseExpiredReclaimed: "The attempt's lease expired; the task was reclaimed by a new attempt",
  leaseExpiredExhausted: "The attempt's lease expired and no attempts were left",
  leaseExpiredCancelled: "The attempt's lease expired after a cancel was requested",
});

/**
 * A storage that keeps everything in this process's memory: the reference implementation of the
 * storage contract, used by the conformance suite and by tests of workers, schedulers and jobs
 * that need no database. It follows every rule of {@link StorageAdapter}; nothing survives the
 * process and events never leave it.
 *
 * Writes given `{ tx }` are buffered in the {@link MemoryTransactionHandle} and applied together
 * when the transaction commits; a write that is already fenced throws at call time, and a commit
 * whose writes no longer apply (the attempt was fenced meanwhile) keeps nothing. Inputs and
 * outputs are stored and returned as deep copies. Task ids are stored in lower case and a task is
 * found by its id in either letter case, as in Postgres's uuid column.
 *
 * @example
 * ```ts
 * import { ManualClock, MemoryStorage } from "@underway/core/testing";
 *
 * const clock = new ManualClock();
 * const storage = new MemoryStorage({ clock });
 * await storage.queueUpsert({ queueName: "emails" });
 * const [claimed] = await storage.taskClaim({ queueName: "emails", limit: 1 });
 * clock.advance(90_000); // past the lease of a task with a 30 s heartbeat
 * ```
 */
export class MemoryStorage implements StorageAdapter<MemoryTransactionHandle> {
  readonly capabilities: StorageCapabilities = Object.freeze({ parallelClaims: false, crossProcessEvents: false, durable: false });
  /** Reads the stored rows directly, bypassing the adapter's methods. */
  readonly raw: MemoryRawReader = {
    task: async (taskId) => copyOrNull(this.#state.tasks.get(taskId)),
    attempts: async (taskId) => structuredClone([...(this.#state.attempts.get(taskId) ?? [])]),
  };

  readonly #state = new MemoryState();
  readonly #clock: Clock;
  readonly #logger: Logger;
  readonly #listeners = new Set<StorageEventListener>();
  readonly #locks = new Map<string, AbortController>();

  /** @throws {@link ConfigError} when an option is not what it should be. */
  constructor(options: MemoryStorageOptions = {}) {
    const { clock, logger } = optionsObject(options, "new MemoryStorage(options)", { clock: true, logger: true });
    this.#clock = checkedClock(clock ?? systemClock, "MemoryStorage's clock");
    this.#logger = checkedLogger(logger ?? defaultLogger, "MemoryStorage's logger");
  }

  async queueUpsert({ queueName, deadLetterQueueName, tx }: QueueUpsertParams<MemoryTransactionHandle>): Promise<QueueRegistration> {
    return this.#write(tx, (state) => {
      const existing = state.queues.get(queueName);
      const deadLetter = deadLetterQueueName === undefined ? (existing?.deadLetterQueueName ?? null) : deadLetterQueueName;
      state.queues.set(queueName, { deadLetterQueueName: deadLetter });
      if (deadLetter !== null && !state.queues.has(deadLetter)) state.queues.set(deadLetter, { deadLetterQueueName: null });
      return { deadLetterQueueName: deadLetter };
    });
  }

  async taskEnqueue({ queueName, tasks, tx }: TaskEnqueueParams<MemoryTransactionHandle>): Promise<EnqueueOutcome[]> {
    const now = this.#now();
    const snapshot = structuredClone([...tasks]);
    return this.#write(tx, (state, events) => this.#insertTasks(state, events, queueName, snapshot, now, null));
  }

  async taskClaim({ queueName, limit, reclaimExpired = true }: TaskClaimParams): Promise<ClaimedTask[]> {
    validateLimit(limit, "taskClaim limit");
    const now = this.#now();
    return this.#write(undefined, (state, events) => {
      if (reclaimExpired) this.#terminaliseExpiredTasks(state, events, queueName, now);
      return this.#claimTasks(state, queueName, limit, now, reclaimExpired);
    });
  }

  async taskHeartbeat(ref: AttemptRef): Promise<HeartbeatOutcome> {
    const now = this.#now();
    return this.#write(undefined, (state) => {
      const task = this.#liveTask(state, ref);
      const leaseExpiresAt = leaseFrom(now, task.heartbeatMs);
      state.tasks.set(task.id, { ...task, leaseExpiresAt, lastHeartbeatAt: now, updatedAt: now });
      return { leaseExpiresAt: new Date(leaseExpiresAt), cancelRequested: task.cancelRequested };
    });
  }

  async taskComplete({ tx, ...attempt }: TaskCompleteParams<MemoryTransactionHandle>): Promise<CompleteOutcome> {
    const now = this.#now();
    const snapshot = structuredClone(attempt);
    return this.#write(tx, (state, events) => this.#completeAttempt(state, events, snapshot, now));
  }

  async taskCompleteMany({ attempts, tx }: TaskCompleteManyParams<MemoryTransactionHandle>): Promise<CompleteManyOutcome> {
    const now = this.#now();
    const snapshot = structuredClone([...attempts]);
    return this.#write(tx, (state, events) => {
      const outcome: CompleteManyOutcome = { rejected: [], cancelled: [], claimedFollowUps: [] };
      for (const attempt of snapshot) {
        if (!this.#isLive(state, attempt)) {
          outcome.rejected.push(attempt.taskId);
          continue;
        }
        const completed = this.#completeAttempt(state, events, attempt, now);
        if (completed.state === "cancelled") outcome.cancelled.push(attempt.taskId);
        outcome.claimedFollowUps.push(...completed.claimedFollowUps);
      }
      return outcome;
    });
  }

  async taskRetry({ tx, delayMs, errorMessage, ...ref }: TaskRetryParams<MemoryTransactionHandle>): Promise<RetryOutcome> {
    validateDurationMs(delayMs, "taskRetry delayMs");
    const now = this.#now();
    return this.#write(tx, (state, events) => {
      const task = this.#liveTask(state, ref);
      this.#endAttempt(state, task.id, task.currentAttempt, "failed", errorMessage, now);
      if (task.cancelRequested) {
        this.#finishTask(state, events, task, "cancelled", now);
        return { state: "cancelled", runAt: new Date(task.runAt) };
      }
      const runAt = new Date(now.getTime() + delayMs);
      state.tasks.set(task.id, { ...task, state: "pending", runAt, leaseExpiresAt: null, updatedAt: now });
      events.push({ type: "task:available", queueName: task.queueName });
      return { state: "pending", runAt: new Date(runAt) };
    });
  }

  async taskFail({ tx, errorMessage, ...ref }: TaskFailParams<MemoryTransactionHandle>): Promise<FailOutcome> {
    const now = this.#now();
    return this.#write(tx, (state, events) => {
      const task = this.#liveTask(state, ref);
      this.#endAttempt(state, task.id, task.currentAttempt, "failed", errorMessage, now);
      if (task.cancelRequested) {
        this.#finishTask(state, events, task, "cancelled", now);
        return { state: "cancelled", deadLetterQueueName: null };
      }
      this.#finishTask(state, events, task, "failed", now);
      return { state: "failed", deadLetterQueueName: this.#moveToDeadLetterQueue(state, task.id) };
    });
  }

  async taskCancel(params: TaskCancelParams<MemoryTransactionHandle>): Promise<boolean> {
    const now = this.#now();
    const { queueName, correlationId, tx } = params;
    const taskId = params.taskId === undefined ? undefined : storedTaskId(params.taskId);
    return this.#write(tx, (state, events) => {
      const targets = [...state.tasks.values()].filter(
        (task) => task.queueName === queueName && (taskId !== undefined ? task.id === taskId : task.correlationId === correlationId),
      );
      let affected = false;
      for (const task of targets) {
        if (task.state === "pending") {
          this.#finishTask(state, events, task, "cancelled", now);
          affected = true;
        } else if (task.state === "in_progress") {
          if (!task.cancelRequested) {
            state.tasks.set(task.id, { ...task, cancelRequested: true, updatedAt: now });
            events.push({ type: "task:cancel-requested", queueName: task.queueName, taskId: task.id });
          }
          affected = true;
        }
      }
      return affected;
    });
  }

  async taskRequeue({ queueName, taskId, attempts, delayMs, tx }: TaskRequeueParams<MemoryTransactionHandle>): Promise<boolean> {
    resolveRetryTaskOptions({ attempts, delayMs });
    const now = this.#now();
    return this.#write(tx, (state, events) => {
      const task = state.tasks.get(storedTaskId(taskId));
      if (task === undefined || task.state !== "failed") return false;
      const failedHere = task.deadLetteredFrom === null ? task.queueName === queueName : task.deadLetteredFrom === queueName;
      if (!failedHere) return false;
      const dedupeKeyTaken =
        task.dedupeKey !== null &&
        [...state.tasks.values()].some(
          (other) => other.queueName === queueName && other.dedupeKey === task.dedupeKey && (other.state === "pending" || other.state === "in_progress"),
        );
      if (dedupeKeyTaken) return false;
      const maxAttempts = Math.min(task.attemptCount + attempts, MAX_INT32);
      state.tasks.set(task.id, {
        ...task,
        queueName,
        deadLetteredFrom: null,
        state: "pending",
        runAt: new Date(now.getTime() + delayMs),
        completedAt: null,
        updatedAt: now,
        retryPolicy: { ...task.retryPolicy, maxAttempts },
      });
      state.attempts.set(
        task.id,
        (state.attempts.get(task.id) ?? []).map((attempt) => ({ ...attempt, queueName })),
      );
      events.push({ type: "task:available", queueName });
      return true;
    });
  }

  async taskGet({ taskId }: { taskId: string }): Promise<TaskRecord | null> {
    return copyOrNull(this.#state.tasks.get(storedTaskId(taskId)));
  }

  async taskList({ queueName, correlationId, limit = TASK_LIST_DEFAULT_LIMIT }: TaskListParams): Promise<TaskRecord[]> {
    validateLimit(limit, "taskList limit");
    const tasks = [...this.#state.tasks.values()]
      .filter((task) => task.queueName === queueName && (correlationId === undefined || task.correlationId === correlationId))
      .sort((a, b) => a.createdAt.getTime() - b.createdAt.getTime() || compareText(a.id, b.id));
    return structuredClone(tasks.slice(0, limit));
  }

  async taskAttempts({ taskId }: { taskId: string }): Promise<AttemptRecord[]> {
    return structuredClone([...(this.#state.attempts.get(storedTaskId(taskId)) ?? [])]);
  }

  async taskNextRunAt({ queueName, after }: { queueName: string; after?: Date }): Promise<Date | null> {
    const now = Math.min(this.#now().getTime(), after?.getTime() ?? Number.POSITIVE_INFINITY);
    let earliest: Date | null = null;
    for (const task of this.#state.tasks.values()) {
      if (task.queueName !== queueName || task.state !== "pending" || task.runAt.getTime() <= now) continue;
      if (earliest === null || task.runAt < earliest) earliest = task.runAt;
    }
    return earliest === null ? null : new Date(earliest);
  }

  async taskPrune(params: { queueName?: string; limit?: number } = {}): Promise<number> {
    if (params.limit !== undefined) validateLimit(params.limit, "taskPrune limit");
    const now = this.#now().getTime();
    return this.#write(undefined, (state) => {
      const expired = [...state.tasks.values()]
        .filter(
          (task) =>
            (params.queueName === undefined || task.queueName === params.queueName) &&
            task.completedAt !== null &&
            isFinished(task) &&
            task.completedAt.getTime() + task.ttlMs <= now,
        )
        .sort((a, b) => a.completedAt!.getTime() - b.completedAt!.getTime());
      const doomed = params.limit === undefined ? expired : expired.slice(0, params.limit);
      for (const task of doomed) {
        state.tasks.delete(task.id);
        state.attempts.delete(task.id);
      }
      return doomed.length;
    });
  }

  async scheduleUpsert({ queueName, cron, timeZone, input, tx }: ScheduleUpsertParams<MemoryTransactionHandle>): Promise<void> {
    const now = this.#now();
    const inputCopy = structuredClone(input);
    this.#write(tx, (state) => {
      this.#assertQueueRegistered(state, queueName);
      const existing = state.schedules.get(queueName);
      state.schedules.set(queueName, {
        queueName,
        cron,
        timeZone,
        input: inputCopy,
        createdAt: existing?.createdAt ?? now,
        updatedAt: now,
        lastFiredAt: existing?.lastFiredAt ?? null,
      });
    });
  }

  async scheduleGet({ queueName }: { queueName: string }): Promise<ScheduleRecord | null> {
    const schedule = this.#state.schedules.get(queueName);
    return schedule === undefined ? null : structuredClone(schedule);
  }

  async scheduleDelete({ queueName, tx }: { queueName: string; tx?: MemoryTransactionHandle }): Promise<boolean> {
    return this.#write(tx, (state) => state.schedules.delete(queueName));
  }

  async scheduleFire({ queueName, fireAt, task }: ScheduleFireParams): Promise<ScheduleFireOutcome> {
    const now = this.#now();
    const occurrence = new Date(fireAt.getTime());
    const snapshot = structuredClone(task);
    return this.#write(undefined, (state, events) => {
      const key = fireKey(queueName, occurrence);
      if (state.firedOccurrences.has(key)) return { fired: false, taskId: null, deduplicated: false };
      const [outcome] = this.#insertTasks(state, events, queueName, [snapshot], now, occurrence);
      state.firedOccurrences.add(key);
      const schedule = state.schedules.get(queueName);
      if (schedule !== undefined && (schedule.lastFiredAt === null || schedule.lastFiredAt < occurrence)) {
        state.schedules.set(queueName, { ...schedule, lastFiredAt: occurrence });
      }
      return { fired: true, taskId: outcome!.id, deduplicated: outcome!.deduplicated };
    });
  }

  async lockTry({ key }: { key: string }): Promise<LeaderLock | null> {
    if (this.#locks.has(key)) return null;
    const controller = new AbortController();
    this.#locks.set(key, controller);
    return {
      signal: controller.signal,
      release: async () => {
        if (this.#locks.get(key) === controller) this.#locks.delete(key);
        if (!controller.signal.aborted) controller.abort(new Error(`Lock ${JSON.stringify(key)} was released`));
      },
    };
  }

  async subscribe(listener: StorageEventListener): Promise<StorageSubscription> {
    this.#listeners.add(listener);
    return {
      close: async () => {
        this.#listeners.delete(listener);
      },
    };
  }

  async notifyShutdown(params: { queueName?: string } = {}): Promise<void> {
    this.#deliver([{ type: "shutdown", queueName: params.queueName ?? null }]);
  }

  transactionOpen(): StorageTransaction<MemoryTransactionHandle> {
    const handle = new MemoryTransactionHandle(this);
    const endUnlessEnded = (status: "rolled-back" | "discarded", reason?: unknown) => {
      if (handle.status === "unused" || handle.status === "open") handle.end(status, reason);
    };
    return {
      tx: handle,
      get isOpen() {
        return handle.used;
      },
      commit: async () => this.#commit(handle),
      rollback: async () => endUnlessEnded("rolled-back"),
      discard: async (reason: unknown) => endUnlessEnded("discarded", reason),
    };
  }

  /** Releases every held lock (aborting its signal) and drops every subscriber. */
  async close(): Promise<void> {
    for (const [key, controller] of [...this.#locks]) {
      this.#locks.delete(key);
      controller.abort(new Error("The storage was closed"));
    }
    this.#listeners.clear();
  }

  // ---- writes and transactions -------------------------------------------------------------

  /**
   * Runs one write, all or nothing: if it throws, the journal undoes what it changed. With `tx`
   * the write is tried on the state as the transaction would see it (committed rows plus its
   * earlier writes) and undone again, so a fenced write throws now; it is buffered for the commit.
   */
  #write<Result>(tx: MemoryTransactionHandle | undefined, operation: MemoryOperation<Result>): Result {
    if (tx === undefined) {
      const events: StorageEvent[] = [];
      const result = this.#state.atomically(() => operation(this.#state, events));
      this.#deliver(events);
      return result;
    }
    if (!(tx instanceof MemoryTransactionHandle)) {
      throw new StorageError("MemoryStorage expects `tx` to be the handle of a transaction opened with its transactionOpen()");
    }
    tx.assertUsableBy(this);
    const result = this.#state.tentatively(() => {
      for (const earlier of tx.bufferedOperations()) earlier(this.#state, []);
      return operation(this.#state, []);
    });
    tx.bufferOperation(this, operation);
    return result;
  }

  #commit(handle: MemoryTransactionHandle): void {
    if (handle.status === "committed") return;
    if (handle.status === "unused") {
      handle.end("committed");
      return;
    }
    handle.assertUsableBy(this);
    const events: StorageEvent[] = [];
    try {
      this.#state.atomically(() => {
        for (const operation of handle.bufferedOperations()) operation(this.#state, events);
      });
    } catch (error) {
      handle.end("rolled-back", error);
      throw error;
    }
    const callbacks = [...handle.commitCallbacks()];
    handle.end("committed");
    for (const callback of callbacks) {
      try {
        callback();
      } catch (error) {
        this.#logger.error({ error }, "A transaction's onCommit callback threw; the transaction is committed");
      }
    }
    this.#deliver(events);
  }

  /** Delivers events after the current call returned, once per distinct event. */
  #deliver(events: ReadonlyArray<StorageEvent>): void {
    if (events.length === 0) return;
    const seen = new Set<string>();
    const distinct = events.filter((event) => {
      const key = JSON.stringify(event);
      if (seen.has(key)) return false;
      seen.add(key);
      return true;
    });
    const listeners = [...this.#listeners];
    queueMicrotask(() => {
      for (const event of distinct) {
        for (const listener of listeners) {
          if (!this.#listeners.has(listener)) continue;
          try {
            listener(event);
          } catch (error) {
            this.#logger.error({ error, event: event.type }, "A storage event subscriber threw; the error was dropped");
          }
        }
      }
    });
  }

  #now(): Date {
    return new Date(this.#clock.now().getTime());
  }

  // ---- rules of the contract, applied to a state --------------------------------------------

  #assertQueueRegistered(state: MemoryState, queueName: string): void {
    if (!state.queues.has(queueName)) {
      throw new StorageError(`Queue ${JSON.stringify(queueName)} is not registered; build a Queue for it (queueUpsert) first`);
    }
  }

  /** Writes new tasks, honouring dedupe keys against live tasks and earlier tasks of the same call. */
  #insertTasks(
    state: MemoryState,
    events: StorageEvent[],
    queueName: string,
    tasks: ReadonlyArray<NewTask>,
    now: Date,
    scheduledFor: Date | null,
  ): EnqueueOutcome[] {
    this.#assertQueueRegistered(state, queueName);
    const liveByDedupeKey = new Map<string, { id: string; correlationId: string | null }>();
    for (const task of state.tasks.values()) {
      if (task.queueName === queueName && task.dedupeKey !== null && (task.state === "pending" || task.state === "in_progress")) {
        liveByDedupeKey.set(task.dedupeKey, { id: task.id, correlationId: task.correlationId });
      }
    }
    const outcomes: EnqueueOutcome[] = [];
    for (const task of tasks) {
      const existing = task.dedupeKey === null ? undefined : liveByDedupeKey.get(task.dedupeKey);
      if (existing !== undefined) {
        outcomes.push({ id: existing.id, deduplicated: true, correlationId: existing.correlationId });
        continue;
      }
      const id = storedTaskId(task.id);
      if (state.tasks.has(id)) throw new StorageError(`A task with id ${task.id} already exists`);
      state.tasks.set(id, newTaskRow(queueName, id, task, now, scheduledFor));
      if (task.dedupeKey !== null) liveByDedupeKey.set(task.dedupeKey, { id, correlationId: task.correlationId });
      outcomes.push({ id, deduplicated: false, correlationId: task.correlationId });
    }
    if (outcomes.some((outcome) => !outcome.deduplicated)) events.push({ type: "task:available", queueName });
    return outcomes;
  }

  /** Ends tasks whose lease expired and that may not be reclaimed: cancel requested, or no attempts left. */
  #terminaliseExpiredTasks(state: MemoryState, events: StorageEvent[], queueName: string, now: Date): void {
    for (const task of [...state.tasks.values()]) {
      if (task.queueName !== queueName || !isLeaseExpired(task, now)) continue;
      if (task.cancelRequested) {
        this.#endAttempt(state, task.id, task.currentAttempt, "cancelled", MEMORY_STORAGE_MESSAGES.leaseExpiredCancelled, now);
        this.#finishTask(state, events, task, "cancelled", now);
      } else if (task.attemptCount >= task.retryPolicy.maxAttempts) {
        this.#endAttempt(state, task.id, task.currentAttempt, "failed", MEMORY_STORAGE_MESSAGES.leaseExpiredExhausted, now);
        this.#finishTask(state, events, task, "failed", now);
        this.#moveToDeadLetterQueue(state, task.id);
      }
    }
  }

  #claimTasks(state: MemoryState, queueName: string, limit: number, now: Date, reclaimExpired: boolean): ClaimedTask[] {
    const queueTasks = [...state.tasks.values()].filter((task) => task.queueName === queueName);
    const gate = new ConcurrencyKeyGate(queueTasks);
    const candidates = queueTasks
      .filter((task) => (task.state === "pending" && task.runAt <= now) || (reclaimExpired && isLeaseExpired(task, now)))
      .sort(compareClaimOrder);
    const claimed: ClaimedTask[] = [];
    for (const task of candidates) {
      if (claimed.length >= limit) break;
      if (!gate.mayStart(task)) continue;
      gate.markStarted(task);
      claimed.push(this.#startAttempt(state, task, now));
    }
    return claimed;
  }

  #startAttempt(state: MemoryState, task: TaskRecord, now: Date): ClaimedTask {
    if (task.state === "in_progress") {
      this.#endAttempt(state, task.id, task.currentAttempt, "failed", MEMORY_STORAGE_MESSAGES.leaseExpiredReclaimed, now);
    }
    const attempt = task.attemptCount + 1;
    const leaseExpiresAt = leaseFrom(now, task.heartbeatMs);
    const row: TaskRecord = {
      ...task,
      state: "in_progress",
      attemptCount: attempt,
      currentAttempt: attempt,
      leaseExpiresAt,
      lastAttemptAt: now,
      lastHeartbeatAt: now,
      updatedAt: now,
    };
    state.tasks.set(task.id, row);
    const attemptRow: AttemptRecord = {
      taskId: task.id,
      queueName: task.queueName,
      attemptNumber: attempt,
      state: "in_progress",
      errorMessage: null,
      startedAt: now,
      updatedAt: now,
      completedAt: null,
    };
    state.attempts.set(task.id, [...(state.attempts.get(task.id) ?? []), attemptRow]);
    return structuredClone({
      id: row.id,
      queueName: row.queueName,
      input: row.input,
      attempt,
      priority: row.priority,
      runAt: row.runAt,
      createdAt: row.createdAt,
      leaseExpiresAt,
      timeoutMs: row.timeoutMs,
      ttlMs: row.ttlMs,
      heartbeatMs: row.heartbeatMs,
      retryPolicy: row.retryPolicy,
      concurrencyKey: row.concurrencyKey,
      dedupeKey: row.dedupeKey,
      correlationId: row.correlationId,
    });
  }

  #completeAttempt(
    state: MemoryState,
    events: StorageEvent[],
    attempt: AttemptRef & { output?: JsonValue | null; followUps?: ReadonlyArray<FollowUpTask> },
    now: Date,
  ): CompleteOutcome {
    const task = this.#liveTask(state, attempt);
    if (task.cancelRequested) {
      this.#endAttempt(state, task.id, task.currentAttempt, "cancelled", null, now);
      this.#finishTask(state, events, task, "cancelled", now);
      return { state: "cancelled", followUpIds: [], claimedFollowUps: [] };
    }
    // Finished first, so a follow-up may take over the dedupe key of the task it follows.
    this.#endAttempt(state, task.id, task.currentAttempt, "succeeded", null, now);
    this.#finishTask(state, events, task, "succeeded", now, attempt.output ?? null);
    const claimedFollowUps: ClaimedTask[] = [];
    const followUpIds = (attempt.followUps ?? []).map((followUp) => {
      if (!isClaimedOnWrite(followUp)) return this.#insertTasks(state, events, followUp.queueName, [followUp.task], now, null)[0]!.id;
      // Claimed at once, so it is never available to others: its events are dropped.
      const { id } = this.#insertTasks(state, [], followUp.queueName, [followUp.task], now, null)[0]!;
      claimedFollowUps.push(this.#startAttempt(state, state.tasks.get(id)!, now));
      return id;
    });
    return { state: "succeeded", followUpIds, claimedFollowUps };
  }

  #finishTask(
    state: MemoryState,
    events: StorageEvent[],
    task: TaskRecord,
    finalState: "succeeded" | "failed" | "cancelled",
    now: Date,
    output: JsonValue | null = task.output,
  ): void {
    state.tasks.set(task.id, { ...task, state: finalState, output, completedAt: now, updatedAt: now, leaseExpiresAt: null });
    events.push({ type: "task:finished", queueName: task.queueName });
  }

  #endAttempt(state: MemoryState, taskId: string, attemptNumber: number, attemptState: AttemptState, errorMessage: string | null, now: Date): void {
    const attempts = state.attempts.get(taskId) ?? [];
    state.attempts.set(
      taskId,
      attempts.map((attempt) =>
        attempt.attemptNumber === attemptNumber && attempt.state === "in_progress"
          ? { ...attempt, state: attemptState, errorMessage, updatedAt: now, completedAt: now }
          : attempt,
      ),
    );
  }

  /** Moves a failed task and its attempts to its queue's dead-letter queue, if it has one. */
  #moveToDeadLetterQueue(state: MemoryState, taskId: string): string | null {
    const task = state.tasks.get(taskId)!;
    const deadLetterQueueName = state.queues.get(task.queueName)?.deadLetterQueueName ?? null;
    if (deadLetterQueueName === null) return null;
    state.tasks.set(taskId, { ...task, queueName: deadLetterQueueName, deadLetteredFrom: task.queueName });
    state.attempts.set(
      taskId,
      (state.attempts.get(taskId) ?? []).map((attempt) => ({ ...attempt, queueName: deadLetterQueueName })),
    );
    return deadLetterQueueName;
  }

  #isLive(state: MemoryState, ref: AttemptRef): boolean {
    const task = state.tasks.get(storedTaskId(ref.taskId));
    return task !== undefined && task.queueName === ref.queueName && task.state === "in_progress" && task.currentAttempt === ref.attempt;
  }

  /** The task of a live attempt; fencing: any other attempt is told the task is not found. */
  #liveTask(state: MemoryState, ref: AttemptRef): TaskRecord {
    if (!this.#isLive(state, ref)) throw new TaskNotFoundError(ref.taskId);
    return state.tasks.get(storedTaskId(ref.taskId))!;
  }
}

/**
 * Strict serialisation of concurrency keys within one claim: a keyed task may start only when no
 * other task of its key is running and it is the first pending task of its key in claim order.
 */
class ConcurrencyKeyGate {
  readonly #runningCount = new Map<string, number>();
  readonly #firstPending = new Map<string, TaskRecord>();

  constructor(queueTasks: ReadonlyArray<TaskRecord>) {
    for (const task of queueTasks) {
      const key = task.concurrencyKey;
      if (key === null) continue;
      if (task.state === "in_progress") this.#runningCount.set(key, (this.#runningCount.get(key) ?? 0) + 1);
      if (task.state === "pending") {
        const first = this.#firstPending.get(key);
        if (first === undefined || compareClaimOrder(task, first) < 0) this.#firstPending.set(key, task);
      }
    }
  }

  mayStart(task: TaskRecord): boolean {
    const key = task.concurrencyKey;
    if (key === null) return true;
    const othersRunning = (this.#runningCount.get(key) ?? 0) - (task.state === "in_progress" ? 1 : 0);
    if (othersRunning > 0) return false;
    const first = this.#firstPending.get(key);
    return first === undefined || first.id === task.id || compareClaimOrder(task, first) < 0;
  }

  markStarted(task: TaskRecord): void {
    const key = task.concurrencyKey;
    if (key === null) return;
    this.#runningCount.set(key, (this.#runningCount.get(key) ?? 0) + (task.state === "in_progress" ? 0 : 1));
  }
}

function newTaskRow(queueName: string, id: string, task: NewTask, now: Date, scheduledFor: Date | null): TaskRecord {
  return {
    id,
    queueName,
    input: task.input,
    output: null,
    state: "pending",
    priority: task.priority,
    runAt: new Date(now.getTime() + task.delayMs),
    createdAt: now,
    updatedAt: now,
    completedAt: null,
    attemptCount: 0,
    currentAttempt: 0,
    leaseExpiresAt: null,
    lastAttemptAt: null,
    lastHeartbeatAt: null,
    timeoutMs: task.timeoutMs,
    ttlMs: task.ttlMs,
    delayMs: task.delayMs,
    heartbeatMs: task.heartbeatMs,
    retryPolicy: { ...task.retryPolicy },
    concurrencyKey: task.concurrencyKey,
    dedupeKey: task.dedupeKey,
    correlationId: task.correlationId,
    cancelRequested: false,
    scheduledFor,
    deadLetteredFrom: null,
  };
}

/** Claim order: `priority desc, runAt, createdAt, id`. */
function compareClaimOrder(a: TaskRecord, b: TaskRecord): number {
  return (
    b.priority - a.priority ||
    a.runAt.getTime() - b.runAt.getTime() ||
    a.createdAt.getTime() - b.createdAt.getTime() ||
    compareText(a.id, b.id)
  );
}

function compareText(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

function leaseFrom(now: Date, heartbeatMs: number): Date {
  return new Date(now.getTime() + LEASE_HEARTBEATS * heartbeatMs);
}

function isLeaseExpired(task: TaskRecord, now: Date): boolean {
  return task.state === "in_progress" && task.leaseExpiresAt !== null && task.leaseExpiresAt <= now;
}

function isFinished(task: TaskRecord): boolean {
  return task.state === "succeeded" || task.state === "failed" || task.state === "cancelled";
}

/**
 * A task id as stored: lower case. Postgres keeps ids in a uuid column, which finds a task by its
 * id in either letter case and always gives it back in lower case; this storage agrees. A value
 * that is not a string is kept as it is, and finds nothing.
 */
function storedTaskId(taskId: string): string {
  return typeof taskId === "string" ? taskId.toLowerCase() : taskId;
}

function copyOrNull<T>(value: T | undefined): T | null {
  return value === undefined ? null : structuredClone(value);
}
