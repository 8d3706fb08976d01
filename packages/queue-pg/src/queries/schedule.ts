import { sqlStatement, type SqlStatement } from "../drivers/sql-statement.js";
import { NEW_TASK_INSERT_COLUMNS, newTaskSelectList, NOW, ON_DEDUPE_CONFLICT_DO_NOTHING, unnestNewTasks } from "./sql-fragments.js";

/** How long a fire key is kept: a repeated fire within this window is always recognised. */
export const FIRE_KEY_RETENTION = "7 days";

/** Schedule statements. */
export interface ScheduleStatements {
  /** `$1` now, `$2` queue, `$3` cron, `$4` time zone, `$5` input JSON text. */
  upsert: SqlStatement;
  /** `$1` queue. */
  get: SqlStatement;
  /** `$1` queue: `{ deleted }`. */
  delete: SqlStatement;
  /** `$1` now, `$2` queue, `$3` fire time, `$4` available channel, `$5`... one new task's arrays. */
  fire: SqlStatement;
}

export function scheduleStatements(schema: string): ScheduleStatements {
  return {
    upsert: sqlStatement(`
      with queue as (
        insert into ${schema}.task_queue (name, created_at, updated_at) values ($2, ${NOW}, ${NOW})
        on conflict (name) do nothing
      )
      insert into ${schema}.task_schedule as s (task_queue_name, schedule, timezone, input, created_at, updated_at)
      values ($2, $3, $4, $5::jsonb, ${NOW}, ${NOW})
      on conflict (task_queue_name) do update
        set schedule = excluded.schedule, timezone = excluded.timezone, input = excluded.input, updated_at = excluded.updated_at`),
    get: sqlStatement(`
      select s.task_queue_name, s.schedule, s.timezone, s.input, s.created_at, s.updated_at, s.last_fired_at
      from ${schema}.task_schedule s where s.task_queue_name = $1`),
    delete: sqlStatement(`
      with deleted as (delete from ${schema}.task_schedule s where s.task_queue_name = $1 returning 1)
      select count(*)::int as deleted from deleted`),
    // Why it is correct: the fire key's primary key (queue, fire time) admits one insert per
    // occurrence; a second fire, even from another leader at the same moment, waits for the first
    // to commit, then inserts nothing, so the task insert that hangs off it writes nothing either.
    fire: sqlStatement(`
      with fire as (
        insert into ${schema}.task_schedule_fire (task_queue_name, fire_at, task_id, created_at)
        values ($2, $3, ($5::uuid[])[1], ${NOW})
        on conflict (task_queue_name, fire_at) do nothing
        returning fire_at
      ),
      source as (
        select n.* from ${unnestNewTasks(5, "n")} where exists (select 1 from fire)
      ),
      inserted as (
        insert into ${schema}.task (${NEW_TASK_INSERT_COLUMNS}, scheduled_for)
        select ${newTaskSelectList(schema, "$2")}, $3 from source n
        ${ON_DEDUPE_CONFLICT_DO_NOTHING}
        returning id, pg_notify($4, task_queue_name)
      ),
      advanced as (
        update ${schema}.task_schedule s set last_fired_at = greatest(s.last_fired_at, $3), updated_at = s.updated_at
        where s.task_queue_name = $2 and exists (select 1 from fire)
      ),
      expired_keys as (
        delete from ${schema}.task_schedule_fire f
        where f.created_at < ${NOW} - interval '${FIRE_KEY_RETENTION}' and exists (select 1 from fire)
      )
      select (select count(*) from fire)::int as fired, (select i.id::text from inserted i limit 1) as task_id`),
  };
}
