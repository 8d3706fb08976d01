import { sqlStatement, type SqlStatement } from "../drivers/sql-statement.js";
import { NOW } from "./sql-fragments.js";

/**
 * Values: `$1` now, `$2` queue, `$3` dead-letter queue or null, `$4` whether `$3` was given (when
 * not, an existing queue keeps its dead-letter queue). Registers the dead-letter queue first (the
 * foreign key is checked at the end of the statement), then the queue. Row: the queue's
 * `dlq_name` as recorded after the statement; `updated_at` moves only when it changed.
 */
export function queueUpsertStatement(schema: string): SqlStatement {
  return sqlStatement(`
    with dead_letter as (
      insert into ${schema}.task_queue (name, created_at, updated_at)
      select $3, ${NOW}, ${NOW} where $3::text is not null
      on conflict (name) do nothing
    )
    insert into ${schema}.task_queue as q (name, dlq_name, created_at, updated_at)
    values ($2, $3, ${NOW}, ${NOW})
    on conflict (name) do update
      set dlq_name = case when $4::bool then excluded.dlq_name else q.dlq_name end,
          updated_at = case when $4::bool and q.dlq_name is distinct from excluded.dlq_name
            then excluded.updated_at else q.updated_at end
    returning q.dlq_name`);
}
