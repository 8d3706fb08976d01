import { sqlStatement, type SqlStatement } from "../drivers/sql-statement.js";
import { NOW } from "./sql-fragments.js";

/**
 * Values: `$1` now, `$2` queue or null, `$3` limit. Rows: one `{ deleted }` count.
 *
 * Why it is correct: only finished tasks are candidates (pending and running ones are never
 * touched), their TTL counts from completion, and attempt rows go with them through the cascading
 * foreign key. `SKIP LOCKED` lets several pruners share the work without waiting.
 */
export function pruneStatement(schema: string): SqlStatement {
  return sqlStatement(`
    with doomed as (
      select t.task_queue_name, t.id from ${schema}.task t
      where t.state in ('succeeded', 'failed', 'cancelled') and t.completed_at + t.ttl <= ${NOW}
        and ($2::text is null or t.task_queue_name = $2)
      limit $3
      for update skip locked
    ),
    deleted as (
      delete from ${schema}.task t using doomed d
      where t.task_queue_name = d.task_queue_name and t.id = d.id
      returning 1
    )
    select count(*)::int as deleted from deleted`);
}
