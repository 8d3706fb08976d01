/**
 * `@underway/worker` runs the tasks of a queue: it claims them in batches, executes each inside
 * the worker's transaction (opened only when the task first uses `cx.tx`) with a heartbeat, a
 * timeout and an abort signal, retries failures with backoff, and shuts down gracefully. It talks
 * to storage only through `@underway/core`'s contract, so it runs on every storage.
 *
 * @example
 * ```ts
 * import pg from "pg";
 * import { Queue, type Task } from "@underway/core";
 * import { PgStorage, type PgQueryable } from "@underway/queue-pg";
 * import { Worker } from "@underway/worker";
 *
 * const storage = new PgStorage(new pg.Pool({ connectionString: process.env.DATABASE_URL }));
 * const queue = await Queue.builder<{ userId: number }>().name("welcome-email").storage(storage).build();
 * const sendWelcomeEmail: Task<{ userId: number }, void, PgQueryable> = {
 *   async execute(cx, { userId }) {
 *     await cx.tx.query("insert into sent_email (user_id) values ($1)", [userId]);
 *   },
 * };
 *
 * const worker = new Worker(queue, sendWelcomeEmail, { concurrency: 10 });
 * process.once("SIGTERM", () => void worker.shutdown());
 * await worker.run();
 * ```
 *
 * @packageDocumentation
 */
export * from "./worker.js";
export * from "./worker-events.js";
export * from "./worker-options.js";
export * from "./graceful-shutdown.js";
