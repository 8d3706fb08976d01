import type { TaskNotFoundError } from "../errors.js";
import type { JsonValue } from "../json-payload.js";
import type {
  AttemptRecord,
  AttemptRef,
  ClaimedTask,
  EnqueueOutcome,
  FollowUpTask,
  NewTask,
  ScheduleRecord,
  TaskRecord,
} from "./records.js";

/**
 * The storage contract: everything the queue handle, workers and schedulers need from a
 * database. `@underway/queue-pg` implements it on Postgres (server or PGlite) and
 * `@underway/core/testing` in memory; `runStorageConformance` from `@underway/core/conformance`
 * is the executable form of this page, and every storage must pass it.
 *
 * ## Conventions
 * - Methods are named noun first (`taskClaim`, `scheduleGet`) and take one params object.
 * - `Tx` is the storage's transaction handle: what a task sees as `cx.tx`, and what callers pass as
 *   `{ tx }` to make a write part of their own transaction. A write given a `tx` becomes visible,
 *   and its notification is delivered, only when that transaction commits; on rollback nothing
 *   happened.
 * - Time: whenever a storage needs "now" it asks the `Clock` it was built with, if any, else its own
 *   source (Postgres: the server's time when the statement started, inside a caller's transaction
 *   too, not the transaction's start). Conformance tests inject a manual clock.
 * - Errors: storages throw Underway errors only. A fenced or missing attempt is
 *   {@link TaskNotFoundError}; an unreachable database is `StorageUnavailableError`; anything else
 *   from the driver is wrapped in `StorageError` with the driver's error as `cause`.
 * - Arguments: counts and durations out of their range (a `limit`, a retry's `delayMs`, a
 *   requeue's `attempts` and `delayMs`) are refused with `ConfigError` before anything changes.
 *   The tasks to write ({@link NewTask}) are taken as `Queue.prepare` made them, unchecked, so
 *   that enqueueing stays one statement's work.
 *
 * ## Task life cycle and fencing
 * `pending` → (claim) → `in_progress` → `succeeded` | `failed` | `cancelled`, and back to `pending`
 * on retry. Each claim increments `attemptCount`, sets `currentAttempt` to it and writes an attempt
 * row. Every later state change (`taskHeartbeat`, `taskComplete`, `taskRetry`, `taskFail`) names
 * the attempt it belongs to ({@link AttemptRef}) and only applies when the task is still
 * `in_progress` with that `currentAttempt`; otherwise it changes nothing and reports the task as
 * not found. So a worker that lost its lease can never overwrite the work of the one that
 * reclaimed the task.
 *
 * ## Leases
 * A claim sets `leaseExpiresAt = now + 3 × heartbeatMs`; each heartbeat pushes it to
 * `now + 3 × heartbeatMs` again. A task whose lease expired is claimable again (as a new attempt,
 * the old attempt recorded as failed "lease expired") while attempts remain; with no attempts left
 * it is failed (and dead-lettered) by the next claim on its queue.
 *
 * @typeParam Tx - the transaction handle type of this storage.
 */
export interface StorageAdapter<Tx = unknown> {
  /** What this storage can do beyond the required methods. */
  readonly capabilities: StorageCapabilities;

  /**
   * Registers a queue (idempotent) and records its dead-letter queue, which is registered too.
   * Tasks that fail for good in `queueName` are moved to `deadLetterQueueName` when it is set.
   * Registering a queue again replaces its dead-letter queue (null: none), or keeps it when
   * `deadLetterQueueName` is left out. Resolves to the queue as recorded after the call, so a
   * caller that left the dead-letter queue out learns the one in force.
   */
  queueUpsert(params: QueueUpsertParams<Tx>): Promise<QueueRegistration>;

  /**
   * Writes tasks, all or nothing, and returns one outcome per task in input order.
   * - The queue is one registered with {@link queueUpsert} (a `Queue` registers its own when
   *   built). Storages may refuse others with `StorageError` (the in-memory one does); PgStorage
   *   does not look, so an enqueue stays one insert.
   * - `runAt = now + delayMs`; the configuration is stored as given, and later calls keep it
   *   (a retry sets `runAt`, not `delayMs`).
   * - A task whose `dedupeKey` matches a `pending` or `in_progress` task of the same queue (or an
   *   earlier task of the same call) is not written; its outcome carries the existing id.
   * - Storages chunk large calls as they need; the whole call is still atomic.
   * - One `task:available` event per queue is delivered once the write is visible.
   */
  taskEnqueue(params: TaskEnqueueParams<Tx>): Promise<EnqueueOutcome[]>;

  /**
   * Claims up to `limit` tasks of a queue for execution, in one atomic step, and returns them in
   * claim order `priority desc, runAt, createdAt, id`.
   *
   * Claimable: `pending` with `runAt <= now`, and `in_progress` whose lease expired while attempts
   * remain (`attemptCount < retryPolicy.maxAttempts`) and no cancel was requested. Each claimed task
   * gets `attemptCount + 1`, `currentAttempt = attemptCount`, a fresh lease and a new `in_progress`
   * attempt record; the previous attempt of a reclaimed task becomes `failed` with a message saying its
   * lease expired.
   *
   * Before claiming, tasks of the queue that are `in_progress` with an expired lease and no attempts
   * left are failed (attempt message says the lease expired with no attempts left) and moved to the
   * dead-letter queue when there is one; expired tasks with a cancel request become `cancelled`.
   *
   * Concurrency keys: a task with a concurrency key is claimable only if no other task of the same
   * (queue, key) is `in_progress` and no other `pending` task of that key comes before it in claim
   * order; so the tasks of one key run one at a time, in order. This holds across parallel
   * claimers (storages with real concurrency enforce it with a constraint, not only a check).
   *
   * A task is never handed to two claimers: storages with {@link StorageCapabilities.parallelClaims}
   * are proven with 50 parallel claimers.
   */
  taskClaim(params: TaskClaimParams): Promise<ClaimedTask[]>;

  /**
   * Extends the lease of a live attempt to `now + 3 × heartbeatMs`.
   * @returns whether a cancel was requested for the task (the worker then aborts it).
   * @throws TaskNotFoundError when the attempt is no longer current (fenced).
   */
  taskHeartbeat(params: AttemptRef): Promise<HeartbeatOutcome>;

  /**
   * Marks a live attempt and its task `succeeded` (or `cancelled` when a cancel was requested
   * meanwhile), stores `output`, sets `completedAt`, clears the lease, and writes `followUps`, all
   * atomically; with `tx` it is part of that transaction. Follow-ups of a cancelled task are not
   * written. A follow-up marked {@link FollowUpTask.claim} is written already claimed and returned,
   * so the worker can run it next (a job's next step) without claiming it.
   * @throws TaskNotFoundError when the attempt is no longer current; nothing changed.
   */
  taskComplete(params: TaskCompleteParams<Tx>): Promise<CompleteOutcome>;

  /**
   * {@link taskComplete} for many attempts in one atomic step. Fenced attempts do not fail the
   * call: they are listed in `rejected` and nothing of theirs (follow-ups included) is written.
   */
  taskCompleteMany(params: TaskCompleteManyParams<Tx>): Promise<CompleteManyOutcome>;

  /**
   * Records a failed attempt (`errorMessage` on its attempt record) and puts the task back to
   * `pending` with `runAt = now + delayMs`, clearing the lease. When a cancel was requested the task
   * becomes `cancelled` instead.
   * @throws TaskNotFoundError when the attempt is no longer current; nothing changed.
   */
  taskRetry(params: TaskRetryParams<Tx>): Promise<RetryOutcome>;

  /**
   * Records a failed attempt (`errorMessage` on its attempt record) and fails the task for good
   * (`cancelled` instead when a cancel was requested), then moves it and its attempts to the
   * queue's dead-letter queue, if it has one, in the same atomic step.
   * @throws TaskNotFoundError when the attempt is no longer current; nothing changed.
   */
  taskFail(params: TaskFailParams<Tx>): Promise<FailOutcome>;

  /**
   * Cancels a task by id, or every task sharing a correlation id.
   * - `pending` tasks become `cancelled` at once (attempts untouched, `completedAt` set);
   * - `in_progress` tasks get a cancel request: a `task:cancel-requested` event reaches the worker
   *   running it, and whatever the attempt reports next ends the task as `cancelled` (follow-ups
   *   are dropped);
   * - finished tasks are left as they are.
   * @returns true when at least one task was cancelled or got a cancel request.
   */
  taskCancel(params: TaskCancelParams<Tx>): Promise<boolean>;

  /**
   * Puts a task that failed for good back to work (a redrive): a `failed` task that is in
   * `queueName`, or that was moved from `queueName` to its dead-letter queue, becomes `pending` in
   * `queueName` again, with its attempt records, due `delayMs` from now, and its retry policy's
   * `maxAttempts` raised to `attemptCount + attempts`. Its attempt history is kept: the next claim
   * is attempt `attemptCount + 1`. `completedAt` is cleared. Workers of the queue are notified.
   * @returns true when the task was requeued; false, changing nothing, when there is no such
   * failed task, or when a live (`pending` or `in_progress`) task of the queue holds its dedupe key.
   */
  taskRequeue(params: TaskRequeueParams<Tx>): Promise<boolean>;

  /** Reads one task, in whichever queue it is now (a dead-lettered task has moved). */
  taskGet(params: { taskId: string }): Promise<TaskRecord | null>;

  /** Lists tasks of a queue, optionally only those of one correlation id, oldest first. */
  taskList(params: TaskListParams): Promise<TaskRecord[]>;

  /** Reads the attempts of a task, by attempt number. */
  taskAttempts(params: { taskId: string }): Promise<AttemptRecord[]>;

  /**
   * The earliest `runAt` among `pending` tasks of a queue that is later than the storage's now
   * (tasks not claimable yet), or than `after` when that is earlier, or null. Workers arm a timer
   * for it, so delayed tasks and retries start on time; a worker passes the time its last claim
   * started, so a task that came due between that claim and this call is still reported.
   */
  taskNextRunAt(params: { queueName: string; after?: Date }): Promise<Date | null>;

  /**
   * Deletes finished (`succeeded`, `failed`, `cancelled`) tasks, and their attempts, whose
   * `completedAt + ttlMs` has passed. Pending and running tasks are never pruned. `limit` (a
   * whole number from 1) bounds how many are deleted; without it, every expired one is.
   * @returns how many tasks were deleted.
   */
  taskPrune(params?: { queueName?: string; limit?: number }): Promise<number>;

  /** Creates or replaces the schedule of a queue (one per queue). */
  scheduleUpsert(params: ScheduleUpsertParams<Tx>): Promise<void>;

  /** Reads the schedule of a queue, if any. */
  scheduleGet(params: { queueName: string }): Promise<ScheduleRecord | null>;

  /** Deletes the schedule of a queue. @returns whether there was one. */
  scheduleDelete(params: { queueName: string; tx?: Tx }): Promise<boolean>;

  /**
   * Enqueues the task of one schedule occurrence. The pair (queue, fireAt) is a fire key: a
   * second call with the same pair writes nothing and returns `{ fired: false }`, whichever
   * process makes it, for as long as the storage keeps the fire record (at least 7 days).
   * Also advances the schedule's `lastFiredAt`. A task whose dedupe key a live (`pending` or
   * `in_progress`) task of the queue holds is not written: the occurrence is still taken
   * (`fired: true`) and the outcome is `deduplicated`, naming the task that holds the key.
   */
  scheduleFire(params: ScheduleFireParams): Promise<ScheduleFireOutcome>;

  /**
   * Tries to take a named, exclusive, session-long lock (scheduler leadership). Returns null when
   * another holder has it. The lock is held until `release()` or until the holder's connection is
   * lost, which aborts `signal`. Keys are scoped by the storage (e.g. per schema).
   */
  lockTry(params: { key: string }): Promise<LeaderLock | null>;

  /**
   * Subscribes to storage events (see {@link StorageEvent}). A storage keeps one listening
   * connection however many subscribers it has, reconnects with backoff after a drop (emitting
   * `listener:reconnected`, after which subscribers should re-check for work), and ignores (logs)
   * malformed notifications.
   */
  subscribe(listener: StorageEventListener): Promise<StorageSubscription>;

  /** Asks every worker and scheduler of one queue (or of all queues), in every process, to shut down. */
  notifyShutdown(params?: { queueName?: string }): Promise<void>;

  /**
   * Starts a transaction for one attempt. The handle opens lazily: nothing is sent to the
   * database until the first query through `tx`, so attempts that never use `cx.tx` cost no
   * transaction.
   */
  transactionOpen(): StorageTransaction<Tx>;

  /**
   * Optional (capability `groupCommit`): starts a transaction that several attempts share, one
   * after another, each inside its own savepoint, so that short attempts writing through `cx.tx`
   * share one commit. Opens lazily like {@link transactionOpen}. With `pipelined` (capability
   * `groupPipeline`) the members may run side by side: see {@link GroupOpenOptions}.
   */
  transactionOpenGroup?(options?: GroupOpenOptions): StorageTransactionGroup<Tx>;

  /** Releases connections and listeners the storage opened itself (never a pool it was given). */
  close(): Promise<void>;
}

/**
 * Optional abilities. The conformance suite runs every case on every storage; a case whose
 * expectation depends on an ability checks it, and callers (the worker) use them to choose a path.
 */
export interface StorageCapabilities {
  /**
   * Claims from separate connections really run in parallel (Postgres server). False for
   * single-connection engines such as PGlite, and for the in-memory storage.
   */
  parallelClaims: boolean;
  /** The storage delivers events to other processes (LISTEN/NOTIFY). */
  crossProcessEvents: boolean;
  /** The storage survives a process restart (false for the in-memory storage). */
  durable: boolean;
  /**
   * A statement made outside an open transaction runs while that transaction stays open. False
   * for single-session engines such as PGlite, where it waits until the transaction ends (so a
   * caller must not wait on it while holding the transaction); the conformance cases that read
   * around an open transaction check that such a read is held back and then sees the committed
   * state. Omitted means true.
   */
  concurrentTransactions?: boolean;
  /** The storage implements {@link StorageAdapter.transactionOpenGroup}. Omitted means false. */
  groupCommit?: boolean;
  /** Its groups take `{ pipelined: true }` ({@link GroupOpenOptions}). Omitted means false. */
  groupPipeline?: boolean;
}

/** Options of {@link StorageAdapter.transactionOpenGroup}. */
export interface GroupOpenOptions {
  /**
   * Members may run side by side. Each member's statements are sent as soon as it makes them,
   * nested after the savepoints of the members that wrote before it; a member receives its
   * results only once every member that wrote before it has committed or rolled back. When one of
   * those rolls back, or sends another statement after later members have written, the later
   * members' statements are undone and sent again, unseen by them, so every member sees the
   * results it would have seen had the members run one after another. Default false: members
   * take turns.
   */
  pipelined?: boolean;
}

/** Parameters of {@link StorageAdapter.queueUpsert}. */
export interface QueueUpsertParams<Tx> {
  /** The queue to register. */
  queueName: string;
  /**
   * The queue that tasks failing for good in `queueName` are moved to. null: none; left out: the
   * one already recorded (none for a new queue).
   */
  deadLetterQueueName?: string | null;
  /** The caller's transaction: the write is made in it and is visible only once it commits. */
  tx?: Tx;
}

/** What {@link StorageAdapter.queueUpsert} resolves to: the queue as recorded after the call. */
export interface QueueRegistration {
  /** Where tasks that fail for good in the queue are moved, or null when they stay in it. */
  deadLetterQueueName: string | null;
}

/** Parameters of {@link StorageAdapter.taskEnqueue}. */
export interface TaskEnqueueParams<Tx> {
  /** The queue to write the tasks to. */
  queueName: string;
  /** The tasks to write; the outcomes come back in this order. */
  tasks: ReadonlyArray<NewTask>;
  /**
   * The caller's transaction: the tasks are written in it and are visible (and announced) only once
   * it commits.
   */
  tx?: Tx;
}

/** Parameters of {@link StorageAdapter.taskClaim}. */
export interface TaskClaimParams {
  /** The queue to claim from. */
  queueName: string;
  /** Claim at most this many tasks: a whole number from 1 (`MAX_LIMIT` at most). */
  limit: number;
  /**
   * Whether this claim also takes back tasks whose lease expired, and ends the expired ones that
   * may not run again (default true). A claim with `false` takes pending tasks only, which is
   * cheaper: workers pass it for claims woken by new work, and do the full claim on start-up and
   * on every poll.
   */
  reclaimExpired?: boolean;
}

/** Result of {@link StorageAdapter.taskHeartbeat}. */
export interface HeartbeatOutcome {
  /** The new end of the lease: now plus three heartbeats. */
  leaseExpiresAt: Date;
  /** Whether a cancel was requested for the task; the worker then aborts the attempt. */
  cancelRequested: boolean;
}

/** Parameters of {@link StorageAdapter.taskComplete}. */
export interface TaskCompleteParams<Tx> extends AttemptRef {
  /**
   * What the attempt returned, stored as the task's `output` (omitted or null: none); not stored
   * when the task ends `cancelled`.
   */
  output?: JsonValue | null;
  /**
   * Tasks to write atomically with this success, in order; none is written when the task ends
   * `cancelled`.
   */
  followUps?: ReadonlyArray<FollowUpTask>;
  /**
   * The caller's transaction (usually the attempt's own): the completion is made in it and is
   * visible only once it commits.
   */
  tx?: Tx;
}

/** Result of {@link StorageAdapter.taskComplete}. */
export interface CompleteOutcome {
  /** `succeeded`, or `cancelled` when a cancel request arrived while the attempt ran. */
  state: "succeeded" | "cancelled";
  /**
   * One id per follow-up, in the order given (empty when cancelled): the task written, or, for a
   * follow-up not written because a live task of its queue holds its dedupe key, that task's id.
   */
  followUpIds: string[];
  /**
   * The follow-ups written already claimed (see {@link FollowUpTask.claim}), each as a claim
   * would have returned it; the caller owns their attempts. Empty when none was.
   */
  claimedFollowUps: ClaimedTask[];
}

/** Parameters of {@link StorageAdapter.taskCompleteMany}. */
export interface TaskCompleteManyParams<Tx> {
  /** The attempts to complete, each with its own output and follow-ups. */
  attempts: ReadonlyArray<Omit<TaskCompleteParams<Tx>, "tx">>;
  /** The caller's transaction: every completion is made in it and is visible only once it commits. */
  tx?: Tx;
}

/** Result of {@link StorageAdapter.taskCompleteMany}. */
export interface CompleteManyOutcome {
  /** Task ids whose attempt was no longer current; nothing of theirs was written. */
  rejected: string[];
  /** Task ids that ended `cancelled` because a cancel request arrived while they ran. */
  cancelled: string[];
  /** As in {@link CompleteOutcome.claimedFollowUps}, for every completion of the call. */
  claimedFollowUps: ClaimedTask[];
}

/** Parameters of {@link StorageAdapter.taskRetry}. */
export interface TaskRetryParams<Tx> extends AttemptRef {
  /** When the task is due again, from now, in ms (`runAt = now + delayMs`): a non-negative integer. */
  delayMs: number;
  /** Why the attempt failed; stored on its attempt record. */
  errorMessage: string;
  /** The caller's transaction: the write is made in it and is visible only once it commits. */
  tx?: Tx;
}

/** Result of {@link StorageAdapter.taskRetry}. */
export interface RetryOutcome {
  /** `pending` (retry scheduled) or `cancelled` (a cancel request was pending). */
  state: "pending" | "cancelled";
  /** When the task is due again; for a cancelled task, its `runAt` unchanged. */
  runAt: Date;
}

/** Parameters of {@link StorageAdapter.taskFail}. */
export interface TaskFailParams<Tx> extends AttemptRef {
  /** Why the attempt failed; stored on its attempt record. */
  errorMessage: string;
  /** The caller's transaction: the write is made in it and is visible only once it commits. */
  tx?: Tx;
}

/** Result of {@link StorageAdapter.taskFail}. */
export interface FailOutcome {
  /** `failed`, or `cancelled` when a cancel request was pending (then it is not dead-lettered). */
  state: "failed" | "cancelled";
  /** The dead-letter queue the task was moved to, or null. */
  deadLetterQueueName: string | null;
}

/** Parameters of {@link StorageAdapter.taskCancel}: a task id, or a correlation id. */
export type TaskCancelParams<Tx> =
  | { queueName: string; taskId: string; correlationId?: undefined; tx?: Tx }
  | { queueName: string; correlationId: string; taskId?: undefined; tx?: Tx };

/** Parameters of {@link StorageAdapter.taskRequeue}. */
export interface TaskRequeueParams<Tx> {
  /** The queue the task failed in (where it is, or where it was dead-lettered from). */
  queueName: string;
  /** The id of the failed task to put back. */
  taskId: string;
  /** How many more attempts the task gets: a positive integer. */
  attempts: number;
  /** When it is due, from now, in ms: a non-negative integer. */
  delayMs: number;
  /** The caller's transaction: the write is made in it and is visible only once it commits. */
  tx?: Tx;
}

/** How many tasks `taskList` returns at most when its params give no `limit`. */
export const TASK_LIST_DEFAULT_LIMIT = 1_000;

/** Parameters of {@link StorageAdapter.taskList}. */
export interface TaskListParams {
  /** The queue whose tasks to list (the queue they are in now). */
  queueName: string;
  /** Only the tasks with this correlation id; omitted: every task of the queue. */
  correlationId?: string;
  /** At most this many tasks (default {@link TASK_LIST_DEFAULT_LIMIT}): a whole number from 1. */
  limit?: number;
}

/** Parameters of {@link StorageAdapter.scheduleUpsert}. */
export interface ScheduleUpsertParams<Tx> {
  /** The queue the schedule belongs to, and enqueues into. */
  queueName: string;
  /** The cron expression, stored as written. */
  cron: string;
  /** The IANA time zone the cron expression is read in. */
  timeZone: string;
  /** The input to store; each fire's task input is made from it. */
  input: JsonValue;
  /** The caller's transaction: the write is made in it and is visible only once it commits. */
  tx?: Tx;
}

/** Parameters of {@link StorageAdapter.scheduleFire}. */
export interface ScheduleFireParams {
  /** The queue of the schedule; the task is enqueued in it. */
  queueName: string;
  /** The occurrence being fired. */
  fireAt: Date;
  /** The task to enqueue for this occurrence; it is stored with `scheduledFor = fireAt`. */
  task: NewTask;
}

/** Result of {@link StorageAdapter.scheduleFire}. */
export interface ScheduleFireOutcome {
  /** False when this occurrence had already been taken (by this or another process). */
  fired: boolean;
  /**
   * The enqueued task's id, when fired; for a deduplicated occurrence the id of the task that
   * held the dedupe key (null only if that task was deleted before it could be read).
   */
  taskId: string | null;
  /**
   * True when this call took the occurrence but wrote no task, because a live task of the queue
   * holds the task's dedupe key.
   */
  deduplicated: boolean;
}

/** A held leadership lock. */
export interface LeaderLock {
  /** Aborted when the lock is lost (connection dropped) or released. */
  readonly signal: AbortSignal;
  /** Releases the lock at once. Safe to call twice. */
  release(): Promise<void>;
}

/** Events a storage delivers to subscribers. */
export type StorageEvent =
  /** A task of the queue became pending (enqueue or retry), visible now. */
  | { type: "task:available"; queueName: string }
  /** Some task of the queue reached a finished state (coalesced: one event may stand for many). */
  | { type: "task:finished"; queueName: string }
  /** A running task got a cancel request; its worker should abort it. */
  | { type: "task:cancel-requested"; queueName: string; taskId: string }
  /** Shutdown was requested for one queue, or for every queue when `queueName` is null. */
  | { type: "shutdown"; queueName: string | null }
  /** The listening connection dropped; events may be missed until `listener:reconnected`. */
  | { type: "listener:disconnected"; error: unknown }
  /** The listening connection is back; events sent meanwhile may have been missed. */
  | { type: "listener:reconnected" };

/** A subscriber callback. It must not throw; errors it throws are logged and dropped. */
export type StorageEventListener = (event: StorageEvent) => void;

/** An active subscription. */
export interface StorageSubscription {
  /** Stops delivering events to this subscriber. Safe to call twice. */
  close(): Promise<void>;
}

/**
 * One attempt's transaction. `tx` opens lazily on first use; `commit`, `rollback` and `discard` are
 * no-ops when it never opened.
 */
export interface StorageTransaction<Tx> {
  /** The handle the task uses as `cx.tx`, and storage calls take as `{ tx }`. */
  readonly tx: Tx;
  /** Whether anything ran through `tx` (the transaction really began). */
  readonly isOpen: boolean;
  /** Commits. After a failed commit nothing of the transaction is kept. */
  commit(): Promise<void>;
  /** Rolls back. */
  rollback(): Promise<void>;
  /**
   * Ends the transaction so that it can never commit, without waiting for the task: used when an
   * attempt timed out or lost its lease while its code may still be running. The connection is
   * closed rather than reused; later queries through `tx` fail.
   */
  discard(reason: unknown): Promise<void>;
}

/**
 * A transaction shared by attempts that run one after another (group commit). Each attempt gets a
 * {@link member}; the group's own `tx` is for the storage calls that close the group (completing
 * its members), then `commit` or `rollback` ends it for all members at once.
 */
export interface StorageTransactionGroup<Tx> extends StorageTransaction<Tx> {
  /** True once the group can take no more members: it ended or was discarded. */
  readonly isEnded: boolean;
  /**
   * The next member's transaction. Its first query first marks a savepoint; `commit` keeps its
   * work in the group (it commits with the group); `rollback` undoes its work alone, back to its
   * savepoint; `discard` discards the whole group, connection included. Start a member only after
   * the previous one has committed or rolled back, unless the group is pipelined.
   */
  member(): StorageTransaction<Tx>;
}
