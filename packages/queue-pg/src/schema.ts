import { customType, index, integer, interval, jsonb, pgSchema, primaryKey, text, timestamp, uuid } from "drizzle-orm/pg-core";
import { DEFAULT_SCHEMA, quoteSchemaName } from "./schema-name.js";

const timestamptz = (name: string) => timestamp(name, { withTimezone: true, mode: "date" });

/**
 * The Underway tables described in drizzle-orm, for typed reads (dashboards, reports) next to
 * your own drizzle schema. The migrations in this package create them; a test checks that this
 * model and the migrated database agree. Write through `PgStorage`, which keeps the invariants.
 *
 * @example
 * ```ts
 * const { task } = createUnderwaySchema("underway");
 * const failed = await db.select().from(task).where(eq(task.state, "failed"));
 * ```
 */
export function createUnderwaySchema(schemaName: string = DEFAULT_SCHEMA) {
  quoteSchemaName(schemaName);
  const schema = pgSchema(schemaName);
  const taskState = schema.enum("task_state", ["pending", "in_progress", "succeeded", "cancelled", "failed"]);
  // The composite (max_attempts, initial_interval_ms, max_interval_ms, backoff_coefficient,
  // jitter_factor), read as Postgres' text form of a row.
  const taskRetryPolicy = customType<{ data: string }>({
    dataType: () => `"${schemaName}".task_retry_policy`,
  });

  const taskQueue = schema.table("task_queue", {
    name: text("name").primaryKey(),
    dlqName: text("dlq_name"),
    createdAt: timestamptz("created_at").notNull().defaultNow(),
    updatedAt: timestamptz("updated_at").notNull().defaultNow(),
  });

  const task = schema.table(
    "task",
    {
      id: uuid("id").notNull(),
      taskQueueName: text("task_queue_name").notNull(),
      input: jsonb("input").notNull(),
      output: jsonb("output"),
      state: taskState("state").notNull().default("pending"),
      timeout: interval("timeout").notNull(),
      ttl: interval("ttl").notNull(),
      delay: interval("delay").notNull(),
      heartbeat: interval("heartbeat").notNull(),
      retryPolicy: taskRetryPolicy("retry_policy").notNull(),
      concurrencyKey: text("concurrency_key"),
      dedupeKey: text("dedupe_key"),
      correlationId: text("correlation_id"),
      priority: integer("priority").notNull().default(0),
      createdAt: timestamptz("created_at").notNull().defaultNow(),
      updatedAt: timestamptz("updated_at").notNull().defaultNow(),
      completedAt: timestamptz("completed_at"),
      lastAttemptAt: timestamptz("last_attempt_at"),
      lastHeartbeatAt: timestamptz("last_heartbeat_at"),
      runAt: timestamptz("run_at").notNull().defaultNow(),
      attemptCount: integer("attempt_count").notNull().default(0),
      currentAttempt: integer("current_attempt").notNull().default(0),
      leaseExpiresAt: timestamptz("lease_expires_at"),
      cancelRequestedAt: timestamptz("cancel_requested_at"),
      scheduledFor: timestamptz("scheduled_for"),
      deadLetteredFrom: text("dead_lettered_from"),
    },
    (table) => [primaryKey({ name: "task_pkey", columns: [table.id] })],
  );

  const taskAttempt = schema.table(
    "task_attempt",
    {
      taskId: uuid("task_id").notNull(),
      taskQueueName: text("task_queue_name").notNull(),
      attemptNumber: integer("attempt_number").notNull(),
      state: taskState("state").notNull().default("in_progress"),
      errorMessage: text("error_message"),
      startedAt: timestamptz("started_at").notNull().defaultNow(),
      updatedAt: timestamptz("updated_at").notNull().defaultNow(),
      completedAt: timestamptz("completed_at"),
    },
    (table) => [primaryKey({ name: "task_attempt_pkey", columns: [table.taskId, table.attemptNumber] })],
  );

  // Every attempt: the rows of task_attempt (attempts that failed) and the current attempt of
  // each task whose row describes it (running, succeeded or cancelled). Read attempts from here.
  const taskAttemptHistory = schema
    .view("task_attempt_history", {
      taskId: uuid("task_id"),
      taskQueueName: text("task_queue_name"),
      attemptNumber: integer("attempt_number"),
      state: taskState("state"),
      errorMessage: text("error_message"),
      startedAt: timestamptz("started_at"),
      updatedAt: timestamptz("updated_at"),
      completedAt: timestamptz("completed_at"),
    })
    .existing();

  const taskSchedule = schema.table("task_schedule", {
    taskQueueName: text("task_queue_name").primaryKey(),
    schedule: text("schedule").notNull(),
    timezone: text("timezone").notNull(),
    input: jsonb("input").notNull(),
    createdAt: timestamptz("created_at").notNull().defaultNow(),
    updatedAt: timestamptz("updated_at").notNull().defaultNow(),
    lastFiredAt: timestamptz("last_fired_at"),
  });

  const taskScheduleFire = schema.table(
    "task_schedule_fire",
    {
      taskQueueName: text("task_queue_name").notNull(),
      fireAt: timestamptz("fire_at").notNull(),
      taskId: uuid("task_id"),
      createdAt: timestamptz("created_at").notNull().defaultNow(),
    },
    (table) => [primaryKey({ columns: [table.taskQueueName, table.fireAt] }), index("task_schedule_fire_created_at_idx").on(table.createdAt)],
  );

  const migrations = schema.table("underway_migrations", {
    version: integer("version").primaryKey(),
    name: text("name").notNull(),
    checksum: text("checksum").notNull(),
    appliedAt: timestamptz("applied_at").notNull().defaultNow(),
  });

  return { schema, taskState, taskQueue, task, taskAttempt, taskAttemptHistory, taskSchedule, taskScheduleFire, migrations };
}

/** The drizzle model of one Underway schema. */
export type UnderwaySchema = ReturnType<typeof createUnderwaySchema>;

/** The drizzle model of the default schema, `underway`. */
export const underwaySchema: UnderwaySchema = createUnderwaySchema();
