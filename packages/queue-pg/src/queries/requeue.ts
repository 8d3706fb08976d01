import { sqlStatement, type SqlStatement } from "../drivers/sql-statement.js";
import { moveAttemptsWithTasks, msInterval, NOW } from "./sql-fragments.js";

/**
 * Values: `$1` now, `$2` queue, `$3` task id, `$4` more attempts, `$5` delay ms, `$6` available
 * channel. Rows: one `{ changed }` count.
 *
 * Why it is correct: one UPDATE matches the task only while it is `failed` and failed in `$2`
 * (in place, or dead-lettered from it), re-checked on the latest row version, so two requeues of
 * one task change it once. The attempt rows follow the task back in the same statement, as they
 * followed it into the dead-letter queue. A live task holding the same dedupe key leaves it
 * failed, as enqueue would have deduplicated it. `maxAttempts` is raised to the attempts made plus
 * `$4`, capped at the largest value the column holds.
 */
export function requeueStatement(schema: string): SqlStatement {
  return sqlStatement(`
    with requeued as (
      update ${schema}.task t
      set task_queue_name = $2, dead_lettered_from = null, state = 'pending',
          run_at = ${NOW} + ${msInterval("$5::float8")}, completed_at = null, updated_at = ${NOW},
          retry_policy = row(least(t.attempt_count::int8 + $4::int8, 2147483647)::int4,
            (t.retry_policy).initial_interval_ms, (t.retry_policy).max_interval_ms,
            (t.retry_policy).backoff_coefficient, (t.retry_policy).jitter_factor)::${schema}.task_retry_policy
      where t.id = $3::uuid and t.state = 'failed'
        and (t.dead_lettered_from = $2 or (t.dead_lettered_from is null and t.task_queue_name = $2))
        and (t.dedupe_key is null or not exists (
          select from ${schema}.task live
          where live.task_queue_name = $2 and live.dedupe_key = t.dedupe_key and live.state in ('pending', 'in_progress')))
      returning t.id, t.task_queue_name, pg_notify($6, $2)
    ),
    moved_attempts as (${moveAttemptsWithTasks(schema, "requeued")})
    select count(*)::int as changed from requeued`);
}
