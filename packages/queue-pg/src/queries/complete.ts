import { sqlStatement, type SqlStatement } from "../drivers/sql-statement.js";
import {
  CLAIM_ON_WRITE_COLUMNS,
  claimOnWriteSelectList,
  FOLLOW_UP_RETURNING,
  isRunning,
  NEW_TASK_INSERT_COLUMNS,
  newTaskSelectList,
  NOW,
  ON_DEDUPE_CONFLICT_DO_NOTHING,
  sharedSettingsSelectList,
  unnestNewTasks,
} from "./sql-fragments.js";

/**
 * Values: `$1` now, `$2` queue names, `$3` task ids, `$4` attempt numbers, `$5` outputs (JSON
 * text or null), `$6` finished channel, `$7` available channel, `$8` follow-up parent task ids,
 * `$9` follow-up queue names, `$10` whether each is written claimed (see `isClaimedOnWrite`),
 * `$11`... the follow-ups' new-task arrays. Rows: `{ id, state }` of each completed task (a task
 * missing from them was fenced), then `{ follow_up_id, lease_ms, created_ms, input }` of each
 * follow-up written (one skipped for its dedupe key is missing; the rest only for a claimed one).
 *
 * Why it is correct: the update is fenced row by row on `state = 'in_progress'` and the presented
 * attempt number, and Postgres re-checks that condition on the latest row version if a concurrent
 * reclaim got there first, so a stale attempt matches nothing and writes nothing. Follow-ups join
 * on what the update returned, so they are written exactly for the attempts that won; follow-ups
 * of tasks that ended cancelled are dropped. The finished attempt is the task's current one, which
 * the task row describes: no attempt row is written. N completions cost one round trip.
 */
export function completeStatement(schema: string): SqlStatement {
  return sqlStatement(`
    ${completionCtes(schema)},
    follow_up_source as (
      select n.*
      from ${unnestNewTasks(11, "n", [["parent_id", "$8::uuid[]"], ["queue_name", "$9::text[]"], ["claim", "$10::bool[]"]])}
      join finished f on f.id = n.parent_id and f.state = 'succeeded'
    ),
    follow_up_inserted as (
      insert into ${schema}.task (${NEW_TASK_INSERT_COLUMNS}, ${CLAIM_ON_WRITE_COLUMNS})
      select ${newTaskSelectList(schema, "n.queue_name")}, ${claimOnWriteSelectList(schema, "n.claim", "n.heartbeat_ms")}
      from follow_up_source n
      ${ON_DEDUPE_CONFLICT_DO_NOTHING}
      returning ${FOLLOW_UP_RETURNING}, case when state = 'pending' then pg_notify($7, task_queue_name) end
    )
    ${finishedThenFollowUps()}`);
}

/**
 * {@link completeStatement} for completions without follow-ups (the common case): values `$1` to
 * `$6` as there, no follow-up arrays, and one notification per queue rather than per task.
 */
export function completeWithoutFollowUpsStatement(schema: string): SqlStatement {
  return sqlStatement(`
    ${completionCtes(schema)}
    select f.id::text as id, f.state::text as state, null::text as follow_up_id
    from finished f
    where (select count(*) from finished_notified) >= 0`);
}

/**
 * {@link completeStatement} for follow-ups that differ only in id, input and correlation id, all
 * for one queue, with no concurrency or dedupe key (a job's next steps, typically): values `$1`
 * to `$7` as there, then `$8` the follow-ups as one JSON array of `{ parent_id, id, input,
 * correlation_id, claim }` (claim: whether it is written claimed, see `isClaimedOnWrite`), `$9`
 * their queue, and their shared settings as in the uniform append (`$10`–`$19`, see
 * `sharedSettingsSelectList`; `$14` is the heartbeat). One JSON document instead of seventeen arrays to format and unnest.
 */
export function completeWithUniformFollowUpsStatement(schema: string): SqlStatement {
  return sqlStatement(`
    ${completionCtes(schema)},
    follow_up_source as (
      select n.*
      from jsonb_to_recordset($8::jsonb) as n(parent_id uuid, id uuid, input jsonb, correlation_id text, claim boolean)
      join finished f on f.id = n.parent_id and f.state = 'succeeded'
    ),
    follow_up_inserted as (
      insert into ${schema}.task (${NEW_TASK_INSERT_COLUMNS}, ${CLAIM_ON_WRITE_COLUMNS})
      select n.id, $9::text, n.input, ${sharedSettingsSelectList(schema, 10)}, null, null, n.correlation_id, ${NOW}, ${NOW},
        ${claimOnWriteSelectList(schema, "n.claim", "$14::float8")}
      from follow_up_source n
      returning ${FOLLOW_UP_RETURNING}
    ),
    available_notified as (select pg_notify($7, $9::text) where exists (select 1 from follow_up_inserted where pending))
    ${finishedThenFollowUps("(select count(*) from available_notified) >= 0")}`);
}

/**
 * The rows of a completion with follow-ups: \`{ id, state }\` per finished task, then one row per
 * follow-up written (\`follow_up_id\`, and \`lease_ms\`, \`created_ms\` and \`input\` when it was
 * written claimed). \`followUpsCondition\` is a condition on the follow-up rows' part, used to make
 * a CTE that nothing else reads run.
 */
function finishedThenFollowUps(followUpsCondition = "true"): string {
  return `select f.id::text as id, f.state::text as state, null::text as follow_up_id,
      null::float8 as lease_ms, null::float8 as created_ms, null::jsonb as input
    from finished f
    where (select count(*) from finished_notified) >= 0
    union all
    select null, null, i.id::text, i.lease_ms, i.created_ms, i.input from follow_up_inserted i where ${followUpsCondition}`;
}

/**
 * The completion part shared by the completion statements: CTEs \`completion\`, \`finished\` (the
 * fenced update of the tasks) and \`finished_notified\` (one notification per queue).
 */
function completionCtes(schema: string): string {
  return `with completion as (
      select * from unnest($2::text[], $3::uuid[], $4::int4[], $5::text[]) as c(queue_name, task_id, attempt, output)
    ),
    finished as (
      update ${schema}.task t
      set state = (case when t.cancel_requested_at is null then 'succeeded' else 'cancelled' end)::${schema}.task_state,
          output = case when t.cancel_requested_at is null then c.output::jsonb else t.output end,
          completed_at = ${NOW}, updated_at = ${NOW}, lease_expires_at = null
      from completion c
      where t.task_queue_name = c.queue_name and t.id = c.task_id
        and ${isRunning("t")} and t.current_attempt = c.attempt
      returning t.id, t.task_queue_name, t.state
    ),
    finished_notified as (
      select pg_notify($6, queue.name) from (select distinct task_queue_name as name from finished) queue
    )`;
}
