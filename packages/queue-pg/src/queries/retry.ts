import { sqlStatement, type SqlStatement } from "../drivers/sql-statement.js";
import { msInterval, NOW } from "./sql-fragments.js";

/**
 * Values: `$1` now, `$2` queue, `$3` task id, `$4` attempt, `$5` delay ms, `$6` error message,
 * `$7` available channel, `$8` finished channel. Rows: `{ state, run_at }`, none when fenced.
 *
 * Why it is correct: the task update is fenced on `in_progress` and the attempt number (re-checked
 * on the latest row version), and the attempt row is only touched through what it returned. A task
 * with a pending cancel request ends `cancelled` instead of going back to `pending`.
 */
export function retryStatement(schema: string): SqlStatement {
  return sqlStatement(`
    with retried as (
      update ${schema}.task t
      set state = (case when t.cancel_requested_at is null then 'pending' else 'cancelled' end)::${schema}.task_state,
          run_at = case when t.cancel_requested_at is null then ${NOW} + ${msInterval("$5::float8")} else t.run_at end,
          delay = case when t.cancel_requested_at is null then ${msInterval("$5::float8")} else t.delay end,
          completed_at = case when t.cancel_requested_at is null then null else ${NOW} end,
          lease_expires_at = null, updated_at = ${NOW}
      where t.task_queue_name = $2 and t.id = $3::uuid and t.state = 'in_progress' and t.current_attempt = $4
      returning t.id, t.task_queue_name, t.state, t.run_at,
        pg_notify(case when t.state = 'pending' then $7 else $8 end, t.task_queue_name)
    ),
    failed_attempt as (
      update ${schema}.task_attempt a
      set state = 'failed', error_message = $6, completed_at = ${NOW}, updated_at = ${NOW}
      from retried r
      where a.task_queue_name = r.task_queue_name and a.task_id = r.id and a.attempt_number = $4
    )
    select r.state::text as state, r.run_at from retried r`);
}
