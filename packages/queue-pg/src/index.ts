/**
 * `@underway/queue-pg` is the Postgres storage of Underway: the schema and its migrations, every
 * SQL statement (SKIP LOCKED claims, leases and attempt fencing, dead-letter moves, schedules),
 * LISTEN/NOTIFY and advisory locks. It runs on a node-postgres `pg.Pool` or on PGlite, the
 * embedded Postgres, which makes a server optional.
 *
 * @example
 * ```ts
 * import pg from "pg";
 * import { Queue, type Task } from "@underway/core";
 * import { PgStorage, runMigrations, type PgQueryable } from "@underway/queue-pg";
 *
 * const pool = new pg.Pool({ connectionString: process.env.DATABASE_URL });
 * await runMigrations(pool);
 * const storage = new PgStorage(pool);
 *
 * const sendWelcomeEmail: Task<{ userId: number }, void, PgQueryable> = {
 *   async execute(cx, { userId }) {
 *     // ... send the email
 *   },
 * };
 * const queue = await Queue.builder<{ userId: number }>().name("welcome-email").storage(storage).build();
 * const client = await pool.connect();
 * await client.query("BEGIN");
 * await client.query("insert into users (id) values ($1)", [42]);
 * await queue.enqueue(sendWelcomeEmail, { userId: 42 }, { tx: client }); // visible at COMMIT only
 * await client.query("COMMIT");
 * client.release();
 * ```
 *
 * @packageDocumentation
 */
export { PgStorage, type PgStorageOptions } from "./pg-storage.js";
export type { PgQueryable } from "./pg-queryable.js";
export { runMigrations, loadMigrations, migrationsFingerprint, type MigrationOptions, type Migration } from "./migrate.js";
export { openEmbeddedPostgres, type EmbeddedPostgresOptions } from "./embedded-postgres.js";
export { notificationChannels, type NotificationChannels } from "./notification-channels.js";
export { LISTENER_APPLICATION_NAME, LOCK_APPLICATION_NAME } from "./drivers/pool-driver.js";
export { DEFAULT_SCHEMA } from "./schema-name.js";
export { createUnderwaySchema, underwaySchema, type UnderwaySchema } from "./schema.js";
