/**
 * SQL pieces shared by several statements. `$1` is, in every statement of this package that needs
 * the time, the storage clock's time or null, so "now" has one definition everywhere: the injected
 * clock when there is one, else the server's time when the statement started. Not `now()`, the
 * start of the transaction: a completion (or a transactional enqueue) inside an attempt's
 * transaction that began long before would otherwise date its task's completion, and start the
 * lease of a follow-up it writes claimed, back to that beginning, a lease that could be over
 * before the transaction even commits.
 */
export const NOW = "coalesce($1::timestamptz, statement_timestamp())";

/**
 * `<alias>.state = 'in_progress'`, for statements that find running tasks by id, in a form the
 * planner cannot serve from the partial index on running tasks' leases (`task_lease_expiry_idx`,
 * `where state = 'in_progress'`). With the plain comparison, statistics taken while few tasks ran
 * (the usual case: the last analyze saw a quiet queue, or autovacuum is off) make that index look
 * empty, so the planner preferred it to the primary key and each lookup read every running task of
 * the queue: a heartbeat or an acknowledgement cost grew with the number of tasks running. Written
 * this way, the only index left for the lookup is the primary key. `state` is never null, so the
 * meaning is the same.
 */
export function isRunning(alias: string): string {
  return `${alias}.state::text = 'in_progress'`;
}

/**
 * The dead-letter queue of the queue named by `$2` (null when it has none), for the statements
 * that fail tasks of that queue for good.
 */
export function deadLetterQueueOfQueue(schema: string): string {
  return `(select q.dlq_name from ${schema}.task_queue q where q.name = $2)`;
}

/** An interval column as whole milliseconds (float8, so node-postgres returns a number). */
export function intervalMs(column: string): string {
  return `round(extract(epoch from ${column}) * 1000)::float8`;
}

/** Milliseconds (a float8 expression) as an interval. */
export function msInterval(expression: string): string {
  return `(${expression} * interval '1 millisecond')`;
}

/**
 * A timestamp column as epoch milliseconds (float8). Rows read in bulk (claims) return their
 * times this way: a number is much cheaper for the driver to read than timestamp text.
 */
export function epochMs(column: string): string {
  return `(extract(epoch from ${column}) * 1000)::float8`;
}

/** The columns of a TaskRecord, read from alias `t`. */
export const TASK_RECORD_COLUMNS = `
  t.id::text as id, t.task_queue_name, t.input, t.output, t.state::text as state, t.priority,
  t.run_at, t.created_at, t.updated_at, t.completed_at, t.attempt_count, t.current_attempt,
  t.lease_expires_at, t.last_attempt_at, t.last_heartbeat_at,
  ${intervalMs("t.timeout")} as timeout_ms, ${intervalMs("t.ttl")} as ttl_ms,
  ${intervalMs("t.delay")} as delay_ms, ${intervalMs("t.heartbeat")} as heartbeat_ms,
  (t.retry_policy).max_attempts, (t.retry_policy).initial_interval_ms, (t.retry_policy).max_interval_ms,
  (t.retry_policy).backoff_coefficient, (t.retry_policy).jitter_factor,
  t.concurrency_key, t.dedupe_key, t.correlation_id,
  t.cancel_requested_at is not null as cancel_requested, t.scheduled_for, t.dead_lettered_from`;

/** The columns of a ClaimedTask, read from alias `c` (a RETURNING of the task table). */
export const CLAIMED_TASK_COLUMNS = `
  c.id::text as id, c.task_queue_name, c.input, c.current_attempt, c.priority,
  ${epochMs("c.run_at")} as run_at, ${epochMs("c.created_at")} as created_at,
  ${epochMs("c.lease_expires_at")} as lease_expires_at, ${intervalMs("c.timeout")} as timeout_ms, ${intervalMs("c.ttl")} as ttl_ms,
  ${intervalMs("c.heartbeat")} as heartbeat_ms,
  (c.retry_policy).max_attempts, (c.retry_policy).initial_interval_ms, (c.retry_policy).max_interval_ms,
  (c.retry_policy).backoff_coefficient, (c.retry_policy).jitter_factor,
  c.concurrency_key, c.dedupe_key, c.correlation_id`;

/** The columns of an AttemptRecord, read from alias `a`. */
export const ATTEMPT_RECORD_COLUMNS = `
  a.task_id::text as task_id, a.task_queue_name, a.attempt_number, a.state::text as state, a.error_message,
  a.started_at, a.updated_at, a.completed_at`;

/**
 * The parameter arrays that describe new tasks, one element per task, in this order. Enqueue,
 * follow-ups and schedule fires all pass tasks this way.
 */
export const NEW_TASK_ARRAY_TYPES = [
  ["id", "uuid[]"],
  ["input", "text[]"],
  ["priority", "int4[]"],
  ["delay_ms", "float8[]"],
  ["timeout_ms", "float8[]"],
  ["ttl_ms", "float8[]"],
  ["heartbeat_ms", "float8[]"],
  ["max_attempts", "int4[]"],
  ["initial_interval_ms", "int4[]"],
  ["max_interval_ms", "int4[]"],
  ["backoff_coefficient", "float8[]"],
  ["jitter_factor", "float8[]"],
  ["concurrency_key", "text[]"],
  ["dedupe_key", "text[]"],
  ["correlation_id", "text[]"],
] as const;

/**
 * `unnest($first::uuid[], ...) as alias(id, input, ...)` over the new-task arrays from `$first`,
 * after any `leading` arrays given as `[column, "$n::type[]"]` (zipped element by element).
 */
export function unnestNewTasks(firstParameter: number, alias: string, leading: ReadonlyArray<readonly [string, string]> = []): string {
  const arrays = [
    ...leading.map(([, array]) => array),
    ...NEW_TASK_ARRAY_TYPES.map(([, type], index) => `$${firstParameter + index}::${type}`),
  ].join(", ");
  const columns = [...leading.map(([name]) => name), ...NEW_TASK_ARRAY_TYPES.map(([name]) => name)].join(", ");
  return `unnest(${arrays}) as ${alias}(${columns})`;
}

/** The column list of an insert of new tasks. */
export const NEW_TASK_INSERT_COLUMNS = `id, task_queue_name, input, priority, delay, run_at, timeout, ttl, heartbeat,
  retry_policy, concurrency_key, dedupe_key, correlation_id, created_at, updated_at`;

/** The select list matching {@link NEW_TASK_INSERT_COLUMNS}, from source alias `n`. */
export function newTaskSelectList(schema: string, queueNameExpression: string): string {
  return `n.id, ${queueNameExpression}, n.input::jsonb, n.priority, ${msInterval("n.delay_ms")},
    ${NOW} + ${msInterval("n.delay_ms")}, ${msInterval("n.timeout_ms")}, ${msInterval("n.ttl_ms")},
    ${msInterval("n.heartbeat_ms")},
    row(n.max_attempts, n.initial_interval_ms, n.max_interval_ms, n.backoff_coefficient, n.jitter_factor)::${schema}.task_retry_policy,
    n.concurrency_key, n.dedupe_key, n.correlation_id, ${NOW}, ${NOW}`;
}

/**
 * The columns a follow-up written already claimed sets beyond {@link NEW_TASK_INSERT_COLUMNS}:
 * what a claim sets (see the claim statement), attempt 1.
 */
export const CLAIM_ON_WRITE_COLUMNS = "state, attempt_count, current_attempt, lease_expires_at, last_attempt_at, last_heartbeat_at";

/**
 * The select list matching {@link CLAIM_ON_WRITE_COLUMNS}: claimed when the boolean `claim`
 * expression holds, else a plain pending row. A claimed row's attempt starts, and its lease runs
 * from, the moment of the statement rather than the start of its transaction (`now()`): written
 * at the end of a task's long transaction, it must not start with its lease half spent.
 */
export function claimOnWriteSelectList(schema: string, claim: string, heartbeatMs: string): string {
  const startedAt = "coalesce($1::timestamptz, clock_timestamp())";
  return `(case when ${claim} then 'in_progress' else 'pending' end)::${schema}.task_state,
    case when ${claim} then 1 else 0 end, case when ${claim} then 1 else 0 end,
    case when ${claim} then ${startedAt} + ${msInterval(heartbeatMs)} * 3 end,
    case when ${claim} then ${startedAt} end, case when ${claim} then ${startedAt} end`;
}

/**
 * What an insert of follow-ups returns, read by pg-storage: the id, and for a claimed row its
 * lease and creation time (epoch ms) and its input as stored (what a claim would have read).
 */
export const FOLLOW_UP_RETURNING = `id, case when state = 'in_progress' then ${epochMs("lease_expires_at")} end as lease_ms,
      case when state = 'in_progress' then ${epochMs("created_at")} end as created_ms,
      case when state = 'in_progress' then input end as input, state = 'pending' as pending`;

/**
 * The select list `priority, delay, run_at, timeout, ttl, heartbeat, retry_policy` (the middle of
 * {@link NEW_TASK_INSERT_COLUMNS}) for new tasks that share one set of settings, read from the ten
 * parameters from `$first` on, in the order of `sharedSettingsValues` in pg-storage: priority,
 * delay, timeout, ttl and heartbeat (ms), then the retry policy's five fields.
 */
export function sharedSettingsSelectList(schema: string, first: number): string {
  return settingsSelectList(schema, (offset) => `$${first + offset}`);
}

/**
 * {@link sharedSettingsSelectList} with the ten settings written into the statement as numbers
 * (same order), for the settings nearly every task has: a statement with ten parameters fewer.
 */
export function literalSettingsSelectList(schema: string, values: ReadonlyArray<number>): string {
  if (values.length !== 10 || !values.every(Number.isFinite)) throw new TypeError("ten finite settings expected");
  return settingsSelectList(schema, (offset) => String(values[offset]));
}

function settingsSelectList(schema: string, p: (offset: number) => string): string {
  return `${p(0)}::int4, ${msInterval(`${p(1)}::float8`)}, ${NOW} + ${msInterval(`${p(1)}::float8`)},
    ${msInterval(`${p(2)}::float8`)}, ${msInterval(`${p(3)}::float8`)}, ${msInterval(`${p(4)}::float8`)},
    row(${p(5)}::int4, ${p(6)}::int4, ${p(7)}::int4, ${p(8)}::float8, ${p(9)}::float8)::${schema}.task_retry_policy`;
}

/** Makes a dedupe-key conflict skip the row; the index predicate is repeated so Postgres can infer it. */
export const ON_DEDUPE_CONFLICT_DO_NOTHING = `on conflict (task_queue_name, dedupe_key)
  where dedupe_key is not null and state in ('pending', 'in_progress') do nothing`;

/**
 * Writes a `failed` attempt row for each row of `source`, a select with columns `task_id`,
 * `task_queue_name`, `attempt_number`, `error_message` and `started_at` (the attempt's start, the
 * task's `last_attempt_at`). Only attempts that fail get a row: a running, succeeded or cancelled
 * current attempt is described by its task row (see `task_attempt_history`).
 */
export function insertFailedAttempts(schema: string, source: string): string {
  return `insert into ${schema}.task_attempt
        (task_id, task_queue_name, attempt_number, state, error_message, started_at, updated_at, completed_at)
      select s.task_id, s.task_queue_name, s.attempt_number, 'failed', s.error_message,
        coalesce(s.started_at, ${NOW}), ${NOW}, ${NOW}
      from (${source}) s`;
}

/**
 * Moves the attempt rows of each task in `source` (a CTE with `id` and `task_queue_name`, the
 * queue the task is now in) to that queue: a dead-lettered task takes its earlier attempts along.
 */
export function moveAttemptsWithTasks(schema: string, source: string): string {
  return `update ${schema}.task_attempt a
      set task_queue_name = moved.task_queue_name
      from ${source} moved
      where a.task_id = moved.id and a.task_queue_name <> moved.task_queue_name`;
}
