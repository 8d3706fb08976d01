import { sqlStatement, type SqlStatement } from "../drivers/sql-statement.js";
import { NEW_TASK_INSERT_COLUMNS, newTaskSelectList, NOW, ON_DEDUPE_CONFLICT_DO_NOTHING, unnestNewTasks } from "./sql-fragments.js";

/**
 * Values: `$1` now, `$2` queue names, `$3` task ids, `$4` attempt numbers, `$5` outputs (JSON
 * text or null), `$6` finished channel, `$7` available channel, `$8` follow-up parent task ids,
 * `$9` follow-up queue names, `$10`... the follow-ups' new-task arrays. Rows: `{ id, state }` of
 * each completed task (a task missing from them was fenced), then `{ follow_up_id }` of each
 * follow-up written (one skipped for its dedupe key is missing).
 *
 * Why it is correct: the update is fenced row by row on `state = 'in_progress'` and the presented
 * attempt number, and Postgres re-checks that condition on the latest row version if a concurrent
 * reclaim got there first, so a stale attempt matches nothing and writes nothing. Attempt rows and
 * follow-ups join on what the update returned, so they are written exactly for the attempts that
 * won; follow-ups of tasks that ended cancelled are dropped. N completions cost one round trip.
 */
/**
 * {@link completeStatement} for completions without follow-ups (the common case): values `$1` to
 * `$6` as there, no follow-up arrays, and one notification per queue rather than per task.
 */
export function completeWithoutFollowUpsStatement(schema: string): SqlStatement {
  return sqlStatement(`
    with completion as (
      select * from unnest($2::text[], $3::uuid[], $4::int4[], $5::text[]) as c(queue_name, task_id, attempt, output)
    ),
    finished as (
      update ${schema}.task t
      set state = (case when t.cancel_requested_at is null then 'succeeded' else 'cancelled' end)::${schema}.task_state,
          output = case when t.cancel_requested_at is null then c.output::jsonb else t.output end,
          completed_at = ${NOW}, updated_at = ${NOW}, lease_expires_at = null
      from completion c
      where t.task_queue_name = c.queue_name and t.id = c.task_id
        and t.state = 'in_progress' and t.current_attempt = c.attempt
      returning t.id, t.task_queue_name, t.current_attempt, t.state
    ),
    finished_attempts as (
      update ${schema}.task_attempt a
      set state = f.state, completed_at = ${NOW}, updated_at = ${NOW}
      from finished f
      where a.task_queue_name = f.task_queue_name and a.task_id = f.id and a.attempt_number = f.current_attempt
    ),
    notified as (
      select pg_notify($6, queue.name) from (select distinct task_queue_name as name from finished) queue
    )
    select f.id::text as id, f.state::text as state, null::text as follow_up_id
    from finished f
    where (select count(*) from notified) >= 0`);
}

export function completeStatement(schema: string): SqlStatement {
  return sqlStatement(`
    with completion as (
      select * from unnest($2::text[], $3::uuid[], $4::int4[], $5::text[]) as c(queue_name, task_id, attempt, output)
    ),
    finished as (
      update ${schema}.task t
      set state = (case when t.cancel_requested_at is null then 'succeeded' else 'cancelled' end)::${schema}.task_state,
          output = case when t.cancel_requested_at is null then c.output::jsonb else t.output end,
          completed_at = ${NOW}, updated_at = ${NOW}, lease_expires_at = null
      from completion c
      where t.task_queue_name = c.queue_name and t.id = c.task_id
        and t.state = 'in_progress' and t.current_attempt = c.attempt
      returning t.id, t.task_queue_name, t.current_attempt, t.state, pg_notify($6, t.task_queue_name)
    ),
    finished_attempts as (
      update ${schema}.task_attempt a
      set state = f.state, completed_at = ${NOW}, updated_at = ${NOW}
      from finished f
      where a.task_queue_name = f.task_queue_name and a.task_id = f.id and a.attempt_number = f.current_attempt
    ),
    follow_up_source as (
      select n.*
      from ${unnestNewTasks(10, "n", [["parent_id", "$8::uuid[]"], ["queue_name", "$9::text[]"]])}
      join finished f on f.id = n.parent_id and f.state = 'succeeded'
    ),
    follow_up_inserted as (
      insert into ${schema}.task (${NEW_TASK_INSERT_COLUMNS})
      select ${newTaskSelectList(schema, "n.queue_name")}
      from follow_up_source n
      ${ON_DEDUPE_CONFLICT_DO_NOTHING}
      returning id, pg_notify($7, task_queue_name)
    )
    select f.id::text as id, f.state::text as state, null::text as follow_up_id from finished f
    union all
    select null, null, i.id::text from follow_up_inserted i`);
}
