import type { AttemptRecord, AttemptState, ClaimedTask, JsonValue, RetryPolicyOptions, ScheduleRecord, TaskRecord, TaskState } from "@underway/core";

type Row = Record<string, any>;

/** A timestamp as the driver returned it (a Date, or epoch milliseconds) as a Date. */
export function toDate(value: unknown): Date {
  if (value instanceof Date) return value;
  // Epoch milliseconds (see `epochMs`) arrive as numbers.
  return new Date(typeof value === "number" ? value : String(value));
}

/** {@link toDate}, with null for a missing value. */
export function toDateOrNull(value: unknown): Date | null {
  return value === null || value === undefined ? null : toDate(value);
}

function toNumber(value: unknown): number {
  return typeof value === "number" ? value : Number(value);
}

function retryPolicyOf(row: Row): RetryPolicyOptions {
  return {
    maxAttempts: toNumber(row.max_attempts),
    initialIntervalMs: toNumber(row.initial_interval_ms),
    maxIntervalMs: toNumber(row.max_interval_ms),
    backoffCoefficient: toNumber(row.backoff_coefficient),
    jitterFactor: toNumber(row.jitter_factor),
  };
}

/** A row of `TASK_RECORD_COLUMNS` as a TaskRecord. */
export function toTaskRecord(row: Row): TaskRecord {
  return {
    id: row.id,
    queueName: row.task_queue_name,
    input: (row.input ?? null) as JsonValue,
    output: (row.output ?? null) as JsonValue | null,
    state: row.state as TaskState,
    priority: toNumber(row.priority),
    runAt: toDate(row.run_at),
    createdAt: toDate(row.created_at),
    updatedAt: toDate(row.updated_at),
    completedAt: toDateOrNull(row.completed_at),
    attemptCount: toNumber(row.attempt_count),
    currentAttempt: toNumber(row.current_attempt),
    leaseExpiresAt: toDateOrNull(row.lease_expires_at),
    lastAttemptAt: toDateOrNull(row.last_attempt_at),
    lastHeartbeatAt: toDateOrNull(row.last_heartbeat_at),
    timeoutMs: toNumber(row.timeout_ms),
    ttlMs: toNumber(row.ttl_ms),
    delayMs: toNumber(row.delay_ms),
    heartbeatMs: toNumber(row.heartbeat_ms),
    retryPolicy: retryPolicyOf(row),
    concurrencyKey: row.concurrency_key ?? null,
    dedupeKey: row.dedupe_key ?? null,
    correlationId: row.correlation_id ?? null,
    cancelRequested: row.cancel_requested === true,
    scheduledFor: toDateOrNull(row.scheduled_for),
    deadLetteredFrom: row.dead_lettered_from ?? null,
  };
}

/** A row of `CLAIMED_TASK_COLUMNS` as a ClaimedTask. */
export function toClaimedTask(row: Row): ClaimedTask {
  return {
    id: row.id,
    queueName: row.task_queue_name,
    input: (row.input ?? null) as JsonValue,
    attempt: toNumber(row.current_attempt),
    priority: toNumber(row.priority),
    runAt: toDate(row.run_at),
    createdAt: toDate(row.created_at),
    leaseExpiresAt: toDate(row.lease_expires_at),
    timeoutMs: toNumber(row.timeout_ms),
    ttlMs: toNumber(row.ttl_ms),
    heartbeatMs: toNumber(row.heartbeat_ms),
    retryPolicy: retryPolicyOf(row),
    concurrencyKey: row.concurrency_key ?? null,
    dedupeKey: row.dedupe_key ?? null,
    correlationId: row.correlation_id ?? null,
  };
}

/** A row of `ATTEMPT_RECORD_COLUMNS` as an AttemptRecord. */
export function toAttemptRecord(row: Row): AttemptRecord {
  return {
    taskId: row.task_id,
    queueName: row.task_queue_name,
    attemptNumber: toNumber(row.attempt_number),
    state: row.state as AttemptState,
    errorMessage: row.error_message ?? null,
    startedAt: toDate(row.started_at),
    updatedAt: toDate(row.updated_at),
    completedAt: toDateOrNull(row.completed_at),
  };
}

/** A schedule row as a ScheduleRecord. */
export function toScheduleRecord(row: Row): ScheduleRecord {
  return {
    queueName: row.task_queue_name,
    cron: row.schedule,
    timeZone: row.timezone,
    input: (row.input ?? null) as JsonValue,
    createdAt: toDate(row.created_at),
    updatedAt: toDate(row.updated_at),
    lastFiredAt: toDateOrNull(row.last_fired_at),
  };
}
