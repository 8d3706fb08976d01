import { sqlStatement, type SqlStatement } from "../drivers/sql-statement.js";
import { msInterval, NOW, NEW_TASK_INSERT_COLUMNS, newTaskSelectList, ON_DEDUPE_CONFLICT_DO_NOTHING, unnestNewTasks } from "./sql-fragments.js";

/** The enqueue statements of one schema. */
export interface EnqueueStatements {
  /** Plain append, for chunks without dedupe keys: returns `{ inserted }`. */
  append: SqlStatement;
  /**
   * Append of tasks that differ only in id and input (one settings set, no concurrency or dedupe
   * key): see {@link UNIFORM_APPEND_VALUES}. Returns `{ inserted }`.
   */
  appendUniform: SqlStatement;
  /** `appendUniform` for one task: `$4` its id, `$5` its input as JSON. Returns `{ notified }`. */
  appendOne: SqlStatement;
  /** Append that skips dedupe-key conflicts: returns the ids written (`{ id }` rows). */
  appendDeduplicated: SqlStatement;
  /** The live task holding each dedupe key: `$1` queue, `$2` keys. */
  findByDedupeKey: SqlStatement;
}

/**
 * Values: `$1` now, `$2` queue name, `$3` task-available channel, `$4`... the new-task arrays.
 *
 * Why it is correct and fast: one `INSERT ... SELECT FROM unnest(...)` writes the whole chunk in
 * one round trip, with a constant number of parameters whatever the chunk size. The notification
 * is one `pg_notify` per statement (an init plan evaluated once, and only when a row was written);
 * Postgres delivers it at commit, folding duplicates, so listeners hear once per transaction and
 * never about a rolled-back write.
 */
/**
 * Values of `appendUniform`: `$1` now, `$2` queue name, `$3` task-available channel, `$4` the ids
 * joined by commas, `$5` the inputs as one JSON array, then the shared settings: `$6` priority,
 * `$7` delay, `$8` timeout, `$9` ttl, `$10` heartbeat (ms), `$11`–`$15` the retry policy (max
 * attempts, initial and max interval, coefficient, jitter), `$16` correlation id.
 *
 * The common case, a batch of one task's inputs, sent as two text values instead of fifteen
 * arrays: the client formats no array literals, and Postgres parses one JSON document. The set
 * functions give the planner the same estimate whatever the batch size, so the statement's cached
 * plan is kept from the first executions on and a single enqueue is never planned afresh.
 */
export const UNIFORM_APPEND_VALUES = 16;

export function enqueueStatements(schema: string): EnqueueStatements {
  const insert = (onConflict: string) => `
    insert into ${schema}.task (${NEW_TASK_INSERT_COLUMNS})
    select ${newTaskSelectList(schema, "$2")}
    from ${unnestNewTasks(4, "n")}
    ${onConflict}`;
  return {
    append: sqlStatement(`
      with inserted as (${insert("")} returning 1),
      notified as (select pg_notify($3, $2) where exists (select 1 from inserted))
      select (select count(*) from inserted)::int as inserted, (select count(*) from notified)::int as notified`),
    appendUniform: sqlStatement(`
      with inserted as (
        insert into ${schema}.task (${NEW_TASK_INSERT_COLUMNS})
        select n.id, $2, n.input, $6::int4, ${msInterval("$7::float8")}, ${NOW} + ${msInterval("$7::float8")},
          ${msInterval("$8::float8")}, ${msInterval("$9::float8")}, ${msInterval("$10::float8")},
          row($11::int4, $12::int4, $13::int4, $14::float8, $15::float8)::${schema}.task_retry_policy,
          null, null, $16::text, ${NOW}, ${NOW}
        from rows from (unnest(string_to_array($4::text, ',')::uuid[]), jsonb_array_elements($5::jsonb)) as n(id, input)
        returning 1),
      notified as (select pg_notify($3, $2) where exists (select 1 from inserted))
      select (select count(*) from inserted)::int as inserted, (select count(*) from notified)::int as notified`),
    appendOne: sqlStatement(`
      with inserted as (
        insert into ${schema}.task (${NEW_TASK_INSERT_COLUMNS})
        values ($4::uuid, $2, $5::jsonb, $6::int4, ${msInterval("$7::float8")}, ${NOW} + ${msInterval("$7::float8")},
          ${msInterval("$8::float8")}, ${msInterval("$9::float8")}, ${msInterval("$10::float8")},
          row($11::int4, $12::int4, $13::int4, $14::float8, $15::float8)::${schema}.task_retry_policy,
          null, null, $16::text, ${NOW}, ${NOW})
        returning 1)
      select pg_notify($3, $2) as notified from inserted`),
    appendDeduplicated: sqlStatement(`
      with inserted as (${insert(ON_DEDUPE_CONFLICT_DO_NOTHING)} returning id),
      notified as (select pg_notify($3, $2) where exists (select 1 from inserted))
      select i.id::text as id from inserted i where (select count(*) from notified) >= 0`),
    findByDedupeKey: sqlStatement(`
      select distinct on (t.dedupe_key) t.dedupe_key, t.id::text as id
      from ${schema}.task t
      where t.task_queue_name = $1 and t.dedupe_key = any($2::text[])
      order by t.dedupe_key, (t.state in ('pending', 'in_progress')) desc, t.created_at desc`),
  };
}
