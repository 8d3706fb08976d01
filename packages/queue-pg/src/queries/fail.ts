import { sqlStatement, type SqlStatement } from "../drivers/sql-statement.js";
import { deadLetterQueueOfQueue, insertFailedAttempts, isRunning, moveAttemptsWithTasks, NOW } from "./sql-fragments.js";

/**
 * Values: `$1` now, `$2` queue, `$3` task id, `$4` attempt, `$5` error message, `$6` finished
 * channel. Rows: `{ state, dead_letter_queue_name }`, none when fenced.
 *
 * Why it is correct: fenced like every state change, and the attempt rows are written only through
 * what the fenced update returned. The dead-letter move rewrites the queue name of the task and of
 * its earlier attempt rows in this one statement, and the failed attempt's row is written in the
 * queue the task ends in. A dead-lettered task records the queue it failed in
 * (`dead_lettered_from`), where a requeue puts it back.
 */
export function failStatement(schema: string): SqlStatement {
  return sqlStatement(`
    with failed as (
      update ${schema}.task t
      set state = (case when t.cancel_requested_at is null then 'failed' else 'cancelled' end)::${schema}.task_state,
          task_queue_name = case when t.cancel_requested_at is null
            then coalesce(${deadLetterQueueOfQueue(schema)}, t.task_queue_name)
            else t.task_queue_name end,
          dead_lettered_from = case when t.cancel_requested_at is null and ${deadLetterQueueOfQueue(schema)} is not null then $2 end,
          completed_at = ${NOW}, updated_at = ${NOW}, lease_expires_at = null
      where t.task_queue_name = $2 and t.id = $3::uuid and ${isRunning("t")} and t.current_attempt = $4
      returning t.id, t.task_queue_name, t.state, t.last_attempt_at, pg_notify($6, $2)
    ),
    moved_attempts as (${moveAttemptsWithTasks(schema, "failed")}),
    failed_attempt as (
      ${insertFailedAttempts(schema, `select f.id as task_id, f.task_queue_name, $4::int4 as attempt_number,
        $5::text as error_message, f.last_attempt_at as started_at from failed f`)}
    )
    select f.state::text as state, case when f.task_queue_name <> $2 then f.task_queue_name end as dead_letter_queue_name
    from failed f`);
}
