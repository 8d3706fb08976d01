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
  id: string;
  queueName: string;
  input: JsonValue;
  /** What the task's last successful attempt returned (null when it returned nothing). */
  output: JsonValue | null;
  state: TaskState;
  priority: number;
  runAt: Date;
  createdAt: Date;
  updatedAt: Date;
  /** When the task reached a finished state; TTL is measured from here. */
  completedAt: Date | null;
  /** Claims so far. */
  attemptCount: number;
  /** The attempt number of the live attempt (the fencing token); 0 before the first claim. */
  currentAttempt: number;
  /** Until when the live attempt owns the task; null unless `in_progress`. */
  leaseExpiresAt: Date | null;
  lastAttemptAt: Date | null;
  lastHeartbeatAt: Date | null;
  timeoutMs: number;
  ttlMs: number;
  delayMs: number;
  heartbeatMs: number;
  retryPolicy: RetryPolicyOptions;
  concurrencyKey: string | null;
  dedupeKey: string | null;
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
  taskId: string;
  queueName: string;
  /** 1 for the first claim, then 2, 3, ... */
  attemptNumber: number;
  state: AttemptState;
  /** Why the attempt failed: the thrown error's message, a timeout, or a lost lease. */
  errorMessage: string | null;
  startedAt: Date;
  updatedAt: Date;
  completedAt: Date | null;
}

/** A task handed to a worker by a claim. */
export interface ClaimedTask {
  id: string;
  queueName: string;
  input: JsonValue;
  /** This claim's attempt number: the fencing token every later call must present. */
  attempt: number;
  priority: number;
  runAt: Date;
  createdAt: Date;
  leaseExpiresAt: Date;
  timeoutMs: number;
  ttlMs: number;
  heartbeatMs: number;
  retryPolicy: RetryPolicyOptions;
  concurrencyKey: string | null;
  dedupeKey: string | null;
  correlationId: string | null;
}

/** Identifies one attempt of one task; every state change presents it and is fenced by it. */
export interface AttemptRef {
  queueName: string;
  taskId: string;
  /** The attempt number from the claim. */
  attempt: number;
}

/** A task to enqueue when another task's attempt succeeds, atomically with that success. */
export interface FollowUpTask {
  queueName: string;
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
  queueName: string;
  cron: string;
  timeZone: string;
  input: JsonValue;
  createdAt: Date;
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
