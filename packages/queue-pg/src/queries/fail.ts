import { sqlStatement, type SqlStatement } from "../drivers/sql-statement.js";
import { NOW } from "./sql-fragments.js";

/**
 * Values: `$1` now, `$2` queue, `$3` task id, `$4` attempt, `$5` error message, `$6` finished
 * channel. Rows: `{ state, dead_letter_queue_name }`, none when fenced.
 *
 * Why it is correct: fenced like every state change. The dead-letter move rewrites the queue name
 * of the task and of all its attempt rows in this one statement; the composite foreign key between
 * them is checked at the end of the statement, when both sides agree again.
 */
export function failStatement(schema: string): SqlStatement {
  return sqlStatement(`
    with failed as (
      update ${schema}.task t
      set state = (case when t.cancel_requested_at is null then 'failed' else 'cancelled' end)::${schema}.task_state,
          task_queue_name = case when t.cancel_requested_at is null
            then coalesce((select q.dlq_name from ${schema}.task_queue q where q.name = $2), t.task_queue_name)
            else t.task_queue_name end,
          completed_at = ${NOW}, updated_at = ${NOW}, lease_expires_at = null
      where t.task_queue_name = $2 and t.id = $3::uuid and t.state = 'in_progress' and t.current_attempt = $4
      returning t.id, t.task_queue_name, t.state, pg_notify($6, $2)
    ),
    attempts as (
      update ${schema}.task_attempt a
      set task_queue_name = f.task_queue_name,
          state = case when a.attempt_number = $4 then 'failed'::${schema}.task_state else a.state end,
          error_message = case when a.attempt_number = $4 then $5 else a.error_message end,
          completed_at = case when a.attempt_number = $4 then ${NOW} else a.completed_at end,
          updated_at = case when a.attempt_number = $4 then ${NOW} else a.updated_at end
      from failed f
      where a.task_queue_name = $2 and a.task_id = f.id
    )
    select f.state::text as state, case when f.task_queue_name <> $2 then f.task_queue_name end as dead_letter_queue_name
    from failed f`);
}
