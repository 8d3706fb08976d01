import { sqlStatement, type SqlStatement } from "../drivers/sql-statement.js";
import { NOW } from "./sql-fragments.js";

/** The cancel statements: by task id, or by correlation id. */
export interface CancelStatements {
  byTaskId: SqlStatement;
  byCorrelationId: SqlStatement;
}

/**
 * Values: `$1` now, `$2` queue, `$3` task id or correlation id, `$4` finished channel, `$5`
 * cancel-requested channel. Rows: one `{ changed }` count.
 *
 * Why it is correct: one UPDATE decides per row on its latest version (Postgres re-evaluates the
 * CASE after waiting on a concurrent claim), so a task that was claimed meanwhile gets a cancel
 * request instead of being missed. Finished tasks are not matched at all.
 */
export function cancelStatements(schema: string): CancelStatements {
  const cancel = (match: string) =>
    sqlStatement(`
      with changed as (
        update ${schema}.task t
        set state = (case when t.state = 'pending' then 'cancelled' else t.state::text end)::${schema}.task_state,
            completed_at = case when t.state = 'pending' then ${NOW} else t.completed_at end,
            cancel_requested_at = case when t.state = 'in_progress' then coalesce(t.cancel_requested_at, ${NOW})
              else t.cancel_requested_at end,
            updated_at = ${NOW}
        where t.task_queue_name = $2 and ${match} and t.state in ('pending', 'in_progress')
        returning case when t.state = 'cancelled' then pg_notify($4, t.task_queue_name)
          else pg_notify($5, json_build_object('queueName', t.task_queue_name, 'taskId', t.id)::text) end
      )
      select count(*)::int as changed from changed`);
  return { byTaskId: cancel("t.id = $3::uuid"), byCorrelationId: cancel("t.correlation_id = $3") };
}
