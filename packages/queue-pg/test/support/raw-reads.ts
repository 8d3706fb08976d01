import type { AttemptRecord, AttemptState, TaskRecord, TaskState } from "@underway/core";
import type { PgQueryable } from "@underway/queue-pg";

// Reads straight from the tables with plain SQL and an independent mapping, so conformance
// compares what PgStorage reports with what is really stored.

function date(value: unknown): Date | null {
  if (value === null || value === undefined) return null;
  return value instanceof Date ? value : new Date(String(value));
}

function milliseconds(value: unknown): number {
  return Math.round(Number(value) * 1000);
}

/** Raw reads of `schema`'s tables through `db`. */
export function rawReads(db: PgQueryable, schema = "underway") {
  return {
    async task(taskId: string): Promise<TaskRecord | null> {
      const result = await db.query(
        `select t.*, t.id::text as id_text, t.state::text as state_text,
           extract(epoch from t.timeout)::float8 as timeout_s, extract(epoch from t.ttl)::float8 as ttl_s,
           extract(epoch from t.delay)::float8 as delay_s, extract(epoch from t.heartbeat)::float8 as heartbeat_s,
           (t.retry_policy).max_attempts as rp_max_attempts, (t.retry_policy).initial_interval_ms as rp_initial,
           (t.retry_policy).max_interval_ms as rp_max, (t.retry_policy).backoff_coefficient as rp_coefficient,
           (t.retry_policy).jitter_factor as rp_jitter
         from "${schema}".task t where t.id::text = $1`,
        [taskId],
      );
      const row = result.rows[0];
      if (!row) return null;
      return {
        id: row.id_text,
        queueName: row.task_queue_name,
        input: row.input,
        output: row.output ?? null,
        state: row.state_text as TaskState,
        priority: row.priority,
        runAt: date(row.run_at)!,
        createdAt: date(row.created_at)!,
        updatedAt: date(row.updated_at)!,
        completedAt: date(row.completed_at),
        attemptCount: row.attempt_count,
        currentAttempt: row.current_attempt,
        leaseExpiresAt: date(row.lease_expires_at),
        lastAttemptAt: date(row.last_attempt_at),
        lastHeartbeatAt: date(row.last_heartbeat_at),
        timeoutMs: milliseconds(row.timeout_s),
        ttlMs: milliseconds(row.ttl_s),
        delayMs: milliseconds(row.delay_s),
        heartbeatMs: milliseconds(row.heartbeat_s),
        retryPolicy: {
          maxAttempts: row.rp_max_attempts,
          initialIntervalMs: row.rp_initial,
          maxIntervalMs: row.rp_max,
          backoffCoefficient: row.rp_coefficient,
          jitterFactor: row.rp_jitter,
        },
        concurrencyKey: row.concurrency_key,
        dedupeKey: row.dedupe_key,
        correlationId: row.correlation_id,
        cancelRequested: row.cancel_requested_at !== null,
        scheduledFor: date(row.scheduled_for),
        deadLetteredFrom: row.dead_lettered_from,
      };
    },
    async attempts(taskId: string): Promise<AttemptRecord[]> {
      const result = await db.query(
        `select a.*, a.task_id::text as task_id_text, a.state::text as state_text
         from "${schema}".task_attempt_history a where a.task_id = $1::uuid order by a.attempt_number`,
        [taskId],
      );
      return result.rows.map((row) => ({
        taskId: row.task_id_text,
        queueName: row.task_queue_name,
        attemptNumber: row.attempt_number,
        state: row.state_text as AttemptState,
        errorMessage: row.error_message,
        startedAt: date(row.started_at)!,
        updatedAt: date(row.updated_at)!,
        completedAt: date(row.completed_at),
      }));
    },
  };
}
