/**
 * `@underway/job`: typed multi-step jobs (step functions) on Postgres. A job is a sequence of
 * steps; each step's input is what the previous one passed to `To.next(...)`, checked by the
 * compiler. Every step is its own task with its own attempts and settings, and the next step is
 * enqueued in the same transaction as the step's success, so a run never skips or repeats a
 * committed step. Built on `@underway/worker` and `@underway/scheduler`, which stay usable without it.
 *
 * @example
 * ```ts
 * import pg from "pg";
 * import { Job, To } from "@underway/job";
 * import { PgStorage, runMigrations } from "@underway/queue-pg";
 *
 * type GenerateReceipt = { orderId: number };
 * type EmailReceipt = { receiptKey: string };
 *
 * const pool = new pg.Pool({ connectionString: process.env.DATABASE_URL });
 * await runMigrations(pool);
 *
 * const job = await Job.builder()
 *   .step(async (_cx, { orderId }: GenerateReceipt) => To.next({ receiptKey: `receipts/${orderId}.pdf` }))
 *   .step(async (_cx, { receiptKey }: EmailReceipt) => {
 *     console.log(`Emailing receipt ${receiptKey}`);
 *     return To.done();
 *   })
 *   .retryPolicy({ maxAttempts: 10 })
 *   .name("order-receipt")
 *   .storage(new PgStorage(pool))
 *   .build();
 *
 * await job.enqueue({ orderId: 42 });
 * const handle = job.start();
 * // ... later
 * await handle.shutdown();
 * ```
 *
 * @packageDocumentation
 */
export * from "./to.js";
export * from "./context.js";
export * from "./job.js";
export * from "./job-enqueue-options.js";
export * from "./job-builder.js";
export * from "./job-envelope.js";
export * from "./job-errors.js";
export * from "./job-handle.js";
export * from "./job-task.js";
export * from "./enqueued-job.js";
export * from "./step-definition.js";
/**
 * The schedule a job is scheduled on (`job.schedule(ZonedSchedule.parse(...), input)`), from
 * `@underway/scheduler`, so that scheduling a job needs no other import.
 */
export { ZonedSchedule, ScheduleParseError } from "@underway/scheduler";
