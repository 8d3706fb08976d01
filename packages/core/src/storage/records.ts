import type { JsonValue } from "../json-payload.js";
import type { RetryPolicyOptions } from "../retry-policy.js";
import type { AttemptState, TaskState } from "../task-state.js";

/**
 * A task ready to be written: its input checked, its configuration resolved and snapshotted.
 * `Queue.prepare` builds these; storages write them as they are.
 */
export interface NewTask {
  /** The id to store (a UUIDv7 from `newTaskId`). */
  id: string;
  /** The input, already checked to be JSON. */
  input: JsonValue;
  /** Higher runs first. */
  priority: number;
  /** The task becomes claimable `delayMs` after the storage's current time. */
  delayMs: number;
  /** Per-attempt execution timeout. */
  timeoutMs: number;
  /** How long a finished task is kept, measured from its completion. */
  ttlMs: number;
  /** Heartbeat period; the lease is three heartbeats long. */
  heartbeatMs: number;
  /**
   * The retry policy: how many attempts the task gets in all (reclaims after a lost lease count)
   * and the delays between them.
   */
  retryPolicy: RetryPolicyOptions;
  /** At most one task with this key runs at a time in the queue; the others wait, in claim order. */
  concurrencyKey: string | null;
  /** While a task with this key is pending or running in the queue, enqueueing another returns its id. */
  dedupeKey: string | null;
  /** Groups tasks that belong together (a job run's steps share the job id). */
  correlationId: string | null;
}

/** A task as stored. */
export interface TaskRecord {
  /** The task's id (a UUIDv7), unique across queues. */
  id: string;
  /** The queue the task is in now (a dead-lettered task is in the dead-letter queue). */
  queueName: string;
  /** The input, as enqueued. */
  input: JsonValue;
  /** What the task's last successful attempt returned (null when it returned nothing). */
  output: JsonValue | null;
  /** Where the task is in its life cycle. */
  state: TaskState;
  /** Higher is claimed first. */
  priority: number;
  /**
   * When the task is due: a `pending` task is claimable from then on (enqueue, retry or requeue
   * time plus its delay).
   */
  runAt: Date;
  /** When the task was enqueued. */
  createdAt: Date;
  /**
   * When the task last changed: enqueue, claim, heartbeat, retry, completion, failure, cancel or
   * cancel request, requeue.
   */
  updatedAt: Date;
  /** When the task reached a finished state; TTL is measured from here. */
  completedAt: Date | null;
  /** Claims so far. */
  attemptCount: number;
  /** The attempt number of the live attempt (the fencing token); 0 before the first claim. */
  currentAttempt: number;
  /** Until when the live attempt owns the task; null unless `in_progress`. */
  leaseExpiresAt: Date | null;
  /** When the latest attempt started (its claim); null before the first claim. */
  lastAttemptAt: Date | null;
  /**
   * When the latest attempt last heartbeated (its claim time until its first heartbeat); null
   * before the first claim.
   */
  lastHeartbeatAt: Date | null;
  /** Per-attempt execution timeout, in ms. */
  timeoutMs: number;
  /**
   * How long the task is kept once finished, in ms, counted from `completedAt`; then `taskPrune`
   * deletes it.
   */
  ttlMs: number;
  /** The delay the task was enqueued with, in ms: it first became due `delayMs` after enqueue. */
  delayMs: number;
  /** Heartbeat period, in ms; the lease is three heartbeats long. */
  heartbeatMs: number;
  /** The retry policy snapshotted at enqueue (a requeue raises its `maxAttempts`). */
  retryPolicy: RetryPolicyOptions;
  /**
   * At most one task with this key runs at a time in the queue; the others wait, in claim order.
   * null: none.
   */
  concurrencyKey: string | null;
  /**
   * While this task is pending or running, enqueueing another with this key in the queue returns
   * this task's id. null: none.
   */
  dedupeKey: string | null;
  /** Groups tasks that belong together (a job run's steps share the job id). null: none. */
  correlationId: string | null;
  /** Set when a cancel arrived while the task was running: it ends as `cancelled`. */
  cancelRequested: boolean;
  /** For tasks enqueued by a schedule: the fire time they were enqueued for. */
  scheduledFor: Date | null;
  /** For a task moved to a dead-letter queue: the queue it failed in. */
  deadLetteredFrom: string | null;
}

/** One attempt (one claim) of a task. */
export interface AttemptRecord {
  /** The id of the task this attempt belongs to. */
  taskId: string;
  /** The queue the task is in now (attempts move with their task to a dead-letter queue and back). */
  queueName: string;
  /** 1 for the first claim, then 2, 3, ... */
  attemptNumber: number;
  /** `in_progress` while the attempt runs, then how it ended: `succeeded`, `failed` or `cancelled`. */
  state: AttemptState;
  /** Why the attempt failed: the thrown error's message, a timeout, or a lost lease. */
  errorMessage: string | null;
  /** When the attempt started (its claim). */
  startedAt: Date;
  /** When the attempt last changed: its start while it runs, then its end (not moved by heartbeats). */
  updatedAt: Date;
  /** When the attempt ended; null while it runs. */
  completedAt: Date | null;
}

/** A task handed to a worker by a claim. */
export interface ClaimedTask {
  /** The task's id. */
  id: string;
  /** The queue the task was claimed from. */
  queueName: string;
  /** The input, as enqueued. */
  input: JsonValue;
  /** This claim's attempt number: the fencing token every later call must present. */
  attempt: number;
  /** Higher is claimed first. */
  priority: number;
  /** When the task became due. */
  runAt: Date;
  /** When the task was enqueued. */
  createdAt: Date;
  /**
   * Until when this attempt owns the task: the claim time plus three heartbeats, pushed back by
   * each heartbeat.
   */
  leaseExpiresAt: Date;
  /** Per-attempt execution timeout, in ms. */
  timeoutMs: number;
  /** How long the task is kept once finished, in ms, counted from its completion. */
  ttlMs: number;
  /** Heartbeat period, in ms; the lease is three heartbeats long. */
  heartbeatMs: number;
  /** The task's retry policy; `maxAttempts` counts this attempt and every earlier one. */
  retryPolicy: RetryPolicyOptions;
  /** At most one task with this key runs at a time in the queue. null: none. */
  concurrencyKey: string | null;
  /**
   * While this task is pending or running, enqueueing another with this key in the queue returns
   * this task's id. null: none.
   */
  dedupeKey: string | null;
  /** Groups tasks that belong together (a job run's steps share the job id). null: none. */
  correlationId: string | null;
}

/** Identifies one attempt of one task; every state change presents it and is fenced by it. */
export interface AttemptRef {
  /** The queue the task is in. */
  queueName: string;
  /** The task's id. */
  taskId: string;
  /** The attempt number from the claim. */
  attempt: number;
}

/** A task to enqueue when another task's attempt succeeds, atomically with that success. */
export interface FollowUpTask {
  /** The queue to write the follow-up to; it may differ from the parent's. */
  queueName: string;
  /** The follow-up, prepared like any task to enqueue. */
  task: NewTask;
  /**
   * Write the follow-up already claimed for the worker that completes its parent, which runs it
   * next without a claim of its own: `in_progress`, attempt 1, a fresh lease. Honoured only for a
   * follow-up that is due at once and has no concurrency or dedupe key (any other is written
   * `pending` as usual); the claimed ones are returned as `claimedFollowUps`.
   */
  claim?: boolean;
}

/** The stored schedule of a queue (one per queue). */
export interface ScheduleRecord {
  /** The queue the schedule belongs to, and enqueues into. */
  queueName: string;
  /** The cron expression, as written (e.g. `"@daily"`). */
  cron: string;
  /** The IANA time zone the cron expression is read in. */
  timeZone: string;
  /** The stored input; each fire's task input is made from it (by default, it is used as is). */
  input: JsonValue;
  /** When the schedule was first stored; replacing it keeps this time. */
  createdAt: Date;
  /** When the schedule was last created or replaced. */
  updatedAt: Date;
  /** The latest fire time enqueued for this schedule, if any. */
  lastFiredAt: Date | null;
}

/** What happened to one task given to `taskEnqueue`. */
export interface EnqueueOutcome {
  /** The new task's id, or the id of the pending or running task that had the same dedupe key. */
  id: string;
  /** True when no row was written because of the dedupe key. */
  deduplicated: boolean;
  /**
   * The correlation id of the task named by `id`: the one given for a new task, the existing
   * task's for a deduplicated one (so a caller grouping tasks, such as a job run, learns which
   * group already holds the key).
   */
  correlationId: string | null;
}
