import { sqlStatement, type SqlStatement } from "../drivers/sql-statement.js";
import { insertFailedAttempts, isRunning, msInterval, NOW } from "./sql-fragments.js";

/**
 * Values: `$1` now, `$2` queue, `$3` task id, `$4` attempt, `$5` delay ms, `$6` error message,
 * `$7` available channel, `$8` finished channel. Rows: `{ state, run_at }`, none when fenced.
 *
 * Why it is correct: the task update is fenced on `in_progress` and the attempt number (re-checked
 * on the latest row version), and the attempt's `failed` row is written only through what it
 * returned, so a fenced attempt writes nothing. A task
 * with a pending cancel request ends `cancelled` instead of going back to `pending`.
 */
export function retryStatement(schema: string): SqlStatement {
  return sqlStatement(`
    with retried as (
      update ${schema}.task t
      set state = (case when t.cancel_requested_at is null then 'pending' else 'cancelled' end)::${schema}.task_state,
          run_at = case when t.cancel_requested_at is null then ${NOW} + ${msInterval("$5::float8")} else t.run_at end,
          completed_at = case when t.cancel_requested_at is null then null else ${NOW} end,
          lease_expires_at = null, updated_at = ${NOW}
      where t.task_queue_name = $2 and t.id = $3::uuid and ${isRunning("t")} and t.current_attempt = $4
      returning t.id, t.task_queue_name, t.state, t.run_at, t.last_attempt_at,
        pg_notify(case when t.state = 'pending' then $7 else $8 end, t.task_queue_name)
    ),
    failed_attempt as (
      ${insertFailedAttempts(schema, `select r.id as task_id, r.task_queue_name, $4::int4 as attempt_number,
        $6::text as error_message, r.last_attempt_at as started_at from retried r`)}
    )
    select r.state::text as state, r.run_at from retried r`);
}
