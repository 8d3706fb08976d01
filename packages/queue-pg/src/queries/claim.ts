import { sqlStatement, type SqlStatement } from "../drivers/sql-statement.js";
import { CLAIMED_TASK_COLUMNS, deadLetterQueueOfQueue, insertFailedAttempts, moveAttemptsWithTasks, NOW } from "./sql-fragments.js";

/** Attempt message of a reclaimed task's previous attempt. */
export const LEASE_EXPIRED_MESSAGE = "Task lease expired and was reclaimed by another worker";
/** Attempt message of a task whose lease expired with no attempts left. */
export const LEASE_EXHAUSTED_MESSAGE = "Task lease expired and its retry policy has no attempts left";
/** Attempt message of a task whose lease expired after a cancel was requested. */
export const LEASE_EXPIRED_CANCELLED_MESSAGE = "Task lease expired after a cancel was requested";

/**
 * Candidate `t` may start as far as its concurrency key goes: no task of its key is running and no
 * pending task of its key comes earlier in claim order.
 */
function keyIsFreeCondition(schema: string): string {
  return `(t.concurrency_key is null or (
      not exists (
        select 1 from ${schema}.task running
        where running.task_queue_name = t.task_queue_name and running.concurrency_key = t.concurrency_key
          and running.state = 'in_progress' and running.id <> t.id)
      and not exists (
        select 1 from ${schema}.task earlier
        where earlier.task_queue_name = t.task_queue_name and earlier.concurrency_key = t.concurrency_key
          and earlier.state = 'pending' and earlier.id <> t.id
          and (earlier.priority > t.priority
               or (earlier.priority = t.priority
                   and (earlier.run_at, earlier.created_at, earlier.id) < (t.run_at, t.created_at, t.id))))))`;
}

/**
 * Values: `$1` now, `$2` queue, `$3` finished channel, `$4` reclaim message, `$5` exhausted
 * message, `$6` cancelled message. Rows: the claimed tasks, in claim order.
 *
 * The limit is part of the text, one statement per limit: with `limit $n` the planner cannot
 * cost a generic plan (it assumes a tenth of the table), so every execution was planned afresh,
 * which cost more than running it. With the limit written in, the cached generic plan is as cheap
 * as a custom one and Postgres keeps it.
 *
 * Why it is correct, in one statement (one snapshot, one round trip):
 * - `ended` first terminates the queue's expired attempts that may not run again (no attempts
 *   left → failed and dead-lettered with the rows of its earlier attempts; cancel requested →
 *   cancelled), writing the ended attempt's `failed` row. They are disjoint from the reclaim
 *   candidates, so no row is updated twice.
 * - Candidates are locked `FOR UPDATE SKIP LOCKED`, pending ones read straight off the index that
 *   has the claim order, so parallel claimers never wait on each other and never share a task.
 *   Each branch locks at most `limit` rows; the best `limit` of both are claimed.
 * - A task with a concurrency key is a candidate only when no task of its key is running and no
 *   pending task of its key (due or not) comes earlier in claim order, so each key yields at most one task, the
 *   first. Claimers racing past this check are stopped by the unique index on running keys; the
 *   caller retries on that violation.
 * - Claiming bumps `attempt_count`, sets the fencing token `current_attempt` to it, starts a
 *   lease of three heartbeats and writes the `failed` row of a reclaimed task's previous attempt,
 *   all in this statement. The new attempt itself is described by the task row (see migration
 *   0003), so claiming a pending task writes nothing else.
 */
export function claimStatement(schema: string, limit: number): SqlStatement {
  if (!Number.isSafeInteger(limit) || limit < 1) throw new RangeError(`claim limit must be a positive integer, got ${String(limit)}`);
  const keyIsFree = keyIsFreeCondition(schema);
  return sqlStatement(`
    with exhausted as (
      select t.ctid, t.id, t.current_attempt, t.last_attempt_at, t.cancel_requested_at is not null as cancel_requested
      from ${schema}.task t
      where t.task_queue_name = $2 and t.state = 'in_progress' and t.lease_expires_at <= ${NOW}
        and (t.attempt_count >= (t.retry_policy).max_attempts or t.cancel_requested_at is not null)
      for update skip locked
    ),
    ended as (
      update ${schema}.task t
      set state = (case when e.cancel_requested then 'cancelled' else 'failed' end)::${schema}.task_state,
          task_queue_name = case when e.cancel_requested then t.task_queue_name
            else coalesce(${deadLetterQueueOfQueue(schema)}, t.task_queue_name) end,
          dead_lettered_from = case when not e.cancel_requested and ${deadLetterQueueOfQueue(schema)} is not null then $2 end,
          completed_at = ${NOW}, updated_at = ${NOW}, lease_expires_at = null
      from exhausted e
      where t.ctid = any(array(select x.ctid from exhausted x)) and t.ctid = e.ctid and t.id = e.id
      returning t.id, t.task_queue_name, pg_notify($3, $2)
    ),
    moved_attempts as (${moveAttemptsWithTasks(schema, "ended")}),
    ended_attempts as (
      ${insertFailedAttempts(schema, `select e.id as task_id, x.task_queue_name, e.current_attempt as attempt_number,
        case when e.cancel_requested then $6::text else $5::text end as error_message, e.last_attempt_at as started_at
        from exhausted e join ended x on x.id = e.id`)}
    ),
    pending_candidates as (
      select t.ctid, t.id, t.priority, t.run_at, t.created_at, t.current_attempt, null::timestamptz as previous_started_at, false as reclaim
      from ${schema}.task t
      where t.task_queue_name = $2 and t.state = 'pending' and t.run_at <= ${NOW} and ${keyIsFree}
      order by t.priority desc, t.run_at, t.created_at, t.id
      limit ${limit}
      for update skip locked
    ),
    stale_candidates as (
      select t.ctid, t.id, t.priority, t.run_at, t.created_at, t.current_attempt, t.last_attempt_at as previous_started_at, true as reclaim
      from ${schema}.task t
      where t.task_queue_name = $2 and t.state = 'in_progress' and t.lease_expires_at <= ${NOW}
        and t.attempt_count < (t.retry_policy).max_attempts and t.cancel_requested_at is null and ${keyIsFree}
      order by t.priority desc, t.run_at, t.created_at, t.id
      limit ${limit}
      for update skip locked
    ),
    chosen as (
      select candidate.* from (select * from pending_candidates union all select * from stale_candidates) candidate
      order by candidate.priority desc, candidate.run_at, candidate.created_at, candidate.id
      limit ${limit}
    ),
    ${claimChosen(schema)},
    reclaimed_attempts as (
      ${insertFailedAttempts(schema, `select c.id as task_id, c.task_queue_name, c.previous_attempt as attempt_number,
        $4::text as error_message, chosen.previous_started_at as started_at
        from claimed c join chosen on chosen.id = c.id
        where c.reclaim`)}
    )
    ${CLAIMED_ROWS}`);
}

/**
 * The claim of pending tasks only (`reclaimExpired: false`): the pending branch of
 * {@link claimStatement}, without the lease-expiry work, which is most of that statement's cost
 * when nothing has expired. Values: `$1` now, `$2` queue. Rows as {@link claimStatement}'s.
 */
export function claimPendingStatement(schema: string, limit: number): SqlStatement {
  if (!Number.isSafeInteger(limit) || limit < 1) throw new RangeError(`claim limit must be a positive integer, got ${String(limit)}`);
  return sqlStatement(`
    with chosen as (
      select t.ctid, t.id, false as reclaim, t.current_attempt
      from ${schema}.task t
      where t.task_queue_name = $2 and t.state = 'pending' and t.run_at <= ${NOW} and ${keyIsFreeCondition(schema)}
      order by t.priority desc, t.run_at, t.created_at, t.id
      limit ${limit}
      for update skip locked
    ),
    ${claimChosen(schema)}
    ${CLAIMED_ROWS}`);
}

/**
 * CTE `claimed`: starts an attempt of every task in `chosen` (counters, fencing token, start time
 * and a lease of three heartbeats). `chosen` has `ctid`, `id`, `reclaim` and `current_attempt`
 * (the attempt a reclaim ends).
 *
 * Rows are updated by their `ctid`, which `chosen` read under its row lock, so it is the current
 * version, and they are fetched by the list of those ctids. Postgres caches one plan per prepared
 * statement, often made while the table is still small; joining on the id froze in a sequential
 * scan of the task table, which grew slower with every finished task kept. Joining on the ctid
 * alone did no better: up to some tens of thousands of rows, the planner costs one sequential
 * scan below hundreds of single-row fetches, and hashed the whole table to update 500 rows (half
 * of the claim's time at 20,000 tasks). A `ctid = any(array)` condition is a TID scan whatever
 * the table's size; the join then only pairs the rows fetched with their `chosen` rows.
 */
function claimChosen(schema: string): string {
  return `claimed as (
      update ${schema}.task t
      set state = 'in_progress', attempt_count = t.attempt_count + 1, current_attempt = t.attempt_count + 1,
          lease_expires_at = ${NOW} + t.heartbeat * 3, last_attempt_at = ${NOW}, last_heartbeat_at = ${NOW},
          updated_at = ${NOW}
      from chosen
      where t.ctid = any(array(select picked.ctid from chosen picked)) and t.ctid = chosen.ctid and t.id = chosen.id
      returning t.*, chosen.reclaim, chosen.current_attempt as previous_attempt
    )`;
}

/** The rows a claim returns: the claimed tasks in claim order. */
const CLAIMED_ROWS = `
    select ${CLAIMED_TASK_COLUMNS}
    from claimed c
    order by c.priority desc, c.run_at, c.created_at, c.id`;
