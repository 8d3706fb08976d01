import { sqlStatement, type SqlStatement } from "../drivers/sql-statement.js";
import {
  literalSettingsSelectList,
  NOW,
  NEW_TASK_INSERT_COLUMNS,
  newTaskSelectList,
  ON_DEDUPE_CONFLICT_DO_NOTHING,
  sharedSettingsSelectList,
  unnestNewTasks,
} from "./sql-fragments.js";

/** The enqueue statements of one schema. */
export interface EnqueueStatements {
  /** Plain append, for chunks without dedupe keys. Returns no rows. */
  append: SqlStatement;
  /**
   * Append of tasks that differ only in id and input (one set of settings, no concurrency or
   * dedupe key), the common case of a batch of one task's inputs. Values: `$1` now, `$2` queue
   * name, `$3` task-available channel, `$4` the ids joined by commas, `$5` the inputs as one JSON
   * array, `$6`–`$15` the shared settings (see `sharedSettingsSelectList`), `$16` correlation id.
   * Two text values instead of fifteen arrays: the client formats no array literals, Postgres
   * parses one JSON document, and the set functions give the planner the same estimate whatever
   * the batch size, so the statement's cached plan is kept. Returns no rows.
   */
  appendUniform: SqlStatement;
  /**
   * `appendUniform` for one task: `$4` its id, `$5` its input as JSON. Returns no rows.
   */
  appendOne: SqlStatement;
  /**
   * `appendOne` for a task whose settings are the defaults the statement was made with (written
   * into it): `$1`–`$5` as in `appendOne`, `$6` the correlation id. Returns no rows.
   */
  appendOneWithDefaultSettings: SqlStatement;
  /** Append that skips dedupe-key conflicts: returns the ids written (`{ id }` rows). */
  appendDeduplicated: SqlStatement;
  /** The live task holding each dedupe key, read off its unique index: `$1` queue, `$2` keys. */
  findByDedupeKey: SqlStatement;
  /**
   * The task that last held each dedupe key, live or not: `$1` queue, `$2` keys. For the rare
   * holder that finished between the conflict and {@link findByDedupeKey}; it reads every task of
   * the queue.
   */
  findLastByDedupeKey: SqlStatement;
}

/** The condition of an insert that notifies `$3` with `$2` once (see {@link enqueueStatements}). */
const NOTIFY_ONCE = "(select true from pg_notify($3, $2))";

/**
 * Values: `$1` now, `$2` queue name, `$3` task-available channel, `$4`... the new-task arrays.
 *
 * Why it is correct and fast: one `INSERT ... SELECT FROM unnest(...)` writes the whole chunk in
 * one round trip, with a constant number of parameters whatever the chunk size. The notification
 * is one `pg_notify` per statement; Postgres delivers it at commit, folding duplicates, so
 * listeners hear once per transaction and never about a rolled-back write.
 *
 * Appends that always write every row (no dedupe key) notify in the insert's condition,
 * `where (select true from pg_notify(...))`: an uncorrelated subquery is an init plan, evaluated
 * once before the first row, and the statement returns only its command tag. Counting the rows
 * written instead (a `returning` CTE read by the notification) kept every row written in a tuple
 * store, about a tenth of the statement's time at 1,000 rows; taking `pg_notify` as a second row
 * source of the insert cost as much, since the new tasks then became the rescannable inner side
 * of a join. The deduplicated append keeps the CTE, since it returns the ids written and notifies
 * only when there are any.
 */
export function enqueueStatements(schema: string, defaultSettings: ReadonlyArray<number>): EnqueueStatements {
  const insertNewTasks = (condition: string, onConflict: string) => `
    insert into ${schema}.task (${NEW_TASK_INSERT_COLUMNS})
    select ${newTaskSelectList(schema, "$2")}
    from ${unnestNewTasks(4, "n")}
    where ${condition}
    ${onConflict}`;
  return {
    append: sqlStatement(insertNewTasks(NOTIFY_ONCE, "")),
    appendUniform: sqlStatement(`
      insert into ${schema}.task (${NEW_TASK_INSERT_COLUMNS})
      select n.id, $2, n.input, ${sharedSettingsSelectList(schema, 6)}, null, null, $16::text, ${NOW}, ${NOW}
      from rows from (unnest(string_to_array($4::text, ',')::uuid[]), jsonb_array_elements($5::jsonb)) as n(id, input)
      where ${NOTIFY_ONCE}`),
    appendOne: sqlStatement(`
      insert into ${schema}.task (${NEW_TASK_INSERT_COLUMNS})
      select $4::uuid, $2, $5::jsonb, ${sharedSettingsSelectList(schema, 6)}, null, null, $16::text, ${NOW}, ${NOW}
      from pg_notify($3, $2)`),
    appendOneWithDefaultSettings: sqlStatement(`
      insert into ${schema}.task (${NEW_TASK_INSERT_COLUMNS})
      select $4::uuid, $2, $5::jsonb, ${literalSettingsSelectList(schema, defaultSettings)}, null, null, $6::text, ${NOW}, ${NOW}
      from pg_notify($3, $2)`),
    appendDeduplicated: sqlStatement(`
      with inserted as (${insertNewTasks("true", ON_DEDUPE_CONFLICT_DO_NOTHING)} returning id),
      notified as (select pg_notify($3, $2) where exists (select 1 from inserted))
      select i.id::text as id from inserted i where (select count(*) from notified) >= 0`),
    findByDedupeKey: sqlStatement(`
      select t.dedupe_key, t.id::text as id, t.correlation_id
      from ${schema}.task t
      where t.task_queue_name = $1 and t.dedupe_key = any($2::text[])
        and t.dedupe_key is not null and t.state in ('pending', 'in_progress')`),
    findLastByDedupeKey: sqlStatement(`
      select distinct on (t.dedupe_key) t.dedupe_key, t.id::text as id, t.correlation_id
      from ${schema}.task t
      where t.task_queue_name = $1 and t.dedupe_key = any($2::text[])
      order by t.dedupe_key, (t.state in ('pending', 'in_progress')) desc, t.created_at desc`),
  };
}
