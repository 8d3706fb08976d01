import { sqlStatement, type SqlStatement } from "../drivers/sql-statement.js";
import { ATTEMPT_RECORD_COLUMNS, NOW, TASK_RECORD_COLUMNS } from "./sql-fragments.js";

/** Read-only statements. */
export interface ReadStatements {
  /** `$1` task id. */
  taskGet: SqlStatement;
  /** `$1` queue, `$2` limit: every task of the queue (a scan of the task table). */
  taskList: SqlStatement;
  /** `$1` queue, `$2` correlation id, `$3` limit: read through the correlation index. */
  taskListByCorrelation: SqlStatement;
  /** `$1` task id: attempts by number. */
  taskAttempts: SqlStatement;
  /** `$1` now, `$2` queue, `$3` an earlier time to look after, or null: `{ next_run_at }`. */
  taskNextRunAt: SqlStatement;
}

export function readStatements(schema: string): ReadStatements {
  return {
    taskGet: sqlStatement(`select ${TASK_RECORD_COLUMNS} from ${schema}.task t where t.id = $1::uuid`),
    taskList: sqlStatement(`
      select ${TASK_RECORD_COLUMNS} from ${schema}.task t
      where t.task_queue_name = $1
      order by t.created_at, t.id
      limit $2`),
    // Its own statement: a cached plan for "correlation id or null" cannot use the index, and a
    // job's status reads come this way.
    taskListByCorrelation: sqlStatement(`
      select ${TASK_RECORD_COLUMNS} from ${schema}.task t
      where t.task_queue_name = $1 and t.correlation_id = $2
      order by t.created_at, t.id
      limit $3`),
    // The failed attempts' rows and the current attempt its task row describes, by number.
    taskAttempts: sqlStatement(`
      select ${ATTEMPT_RECORD_COLUMNS}
      from ${schema}.task_attempt_history a
      where a.task_id = $1::uuid
      order by a.attempt_number`),
    taskNextRunAt: sqlStatement(`
      select min(t.run_at) as next_run_at from ${schema}.task t
      where t.task_queue_name = $2 and t.state = 'pending' and t.run_at > least($3::timestamptz, ${NOW})`),
  };
}
