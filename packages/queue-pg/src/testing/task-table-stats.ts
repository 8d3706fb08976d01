import type { TaskState } from "@underway/core";
import type { PgQueryable } from "../pg-queryable.js";
import { DEFAULT_SCHEMA, quoteSchemaName } from "../schema-name.js";

/** How many tasks of a queue are in each state, and the most claims any one of them took. */
export interface TaskStateCounts {
  /** How many tasks the queue holds. */
  total: number;
  /** How many of them are in each state (0 for a state with none). */
  byState: Record<TaskState, number>;
  /** The highest `attempt_count` in the queue (0 when it is empty). */
  maxAttemptCount: number;
}

/**
 * Counts a queue's tasks by state in one statement, for tests that watch thousands of tasks
 * (reading every record through the storage would cost more than the work being watched).
 */
export async function countTasksByState(db: PgQueryable, queueName: string, schema = DEFAULT_SCHEMA): Promise<TaskStateCounts> {
  const result = await db.query(
    `select state::text as state, count(*)::int as tasks, coalesce(max(attempt_count), 0)::int as max_attempts
     from ${quoteSchemaName(schema)}.task where task_queue_name = $1 group by state`,
    [queueName],
  );
  const byState: Record<TaskState, number> = { pending: 0, in_progress: 0, succeeded: 0, cancelled: 0, failed: 0 };
  let total = 0;
  let maxAttemptCount = 0;
  for (const row of result.rows as Array<{ state: TaskState; tasks: number; max_attempts: number }>) {
    byState[row.state] = Number(row.tasks);
    total += Number(row.tasks);
    maxAttemptCount = Math.max(maxAttemptCount, Number(row.max_attempts));
  }
  return { total, byState, maxAttemptCount };
}

/** Live and dead row versions of the task table, as the statistics system last saw them. */
export interface TaskTableTuples {
  /** Postgres' count of live rows of the task table (`n_live_tup`). */
  liveTuples: number;
  /** Postgres' count of dead rows not yet vacuumed (`n_dead_tup`). */
  deadTuples: number;
}

/**
 * Reads `n_live_tup` / `n_dead_tup` of the task table from `pg_stat_user_tables`. The figures
 * trail the writes by up to a second or so: poll when comparing them.
 */
export async function taskTableTuples(db: PgQueryable, schema = DEFAULT_SCHEMA): Promise<TaskTableTuples> {
  quoteSchemaName(schema);
  const result = await db.query(
    `select coalesce(n_live_tup, 0)::int as live, coalesce(n_dead_tup, 0)::int as dead
     from pg_stat_user_tables where schemaname = $1 and relname = 'task'`,
    [schema],
  );
  const row = result.rows[0] as { live: number; dead: number } | undefined;
  return { liveTuples: Number(row?.live ?? 0), deadTuples: Number(row?.dead ?? 0) };
}

/** Runs a plain `VACUUM` on the task table, as autovacuum would, and waits for it. */
export async function vacuumTaskTable(db: PgQueryable, schema = DEFAULT_SCHEMA): Promise<void> {
  await db.query(`vacuum ${quoteSchemaName(schema)}.task`);
}
