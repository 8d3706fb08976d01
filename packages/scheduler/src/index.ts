/**
 * `@underway/scheduler` fires a queue's recurring schedule: `ZonedSchedule` reads a cron
 * expression in an IANA time zone (`"<cron>[<zone>]"`, as the Rust crate writes it), and
 * `Scheduler` enqueues the schedule's input at each occurrence, with one leader per queue across
 * every process, standbys that take over within seconds, schedule changes applied without a
 * restart, and a (queue, fire time) key that makes a double fire impossible. It talks to storage
 * only through `@underway/core`'s contract, so it runs on every storage.
 *
 * @example
 * ```ts
 * import pg from "pg";
 * import { Queue, type Task } from "@underway/core";
 * import { PgStorage } from "@underway/queue-pg";
 * import { Scheduler, ZonedSchedule } from "@underway/scheduler";
 *
 * const storage = new PgStorage(new pg.Pool({ connectionString: process.env.DATABASE_URL }));
 * const queue = await Queue.builder<{ report: string }>().name("daily-report").storage(storage).build();
 * const dailyReport: Task<{ report: string }> = {
 *   async execute(_cx, { report }) {
 *     console.log(`building the ${report} report`);
 *   },
 * };
 *
 * await queue.schedule(ZonedSchedule.parse("@daily[America/Los_Angeles]"), { report: "sales" });
 * const scheduler = new Scheduler(queue, dailyReport);
 * scheduler.on("scheduler:fired", ({ fireAt, taskId }) => console.log(`fired ${fireAt.toISOString()} as ${taskId}`));
 * void scheduler.run();
 * // on SIGTERM:
 * await scheduler.shutdown();
 * ```
 *
 * @packageDocumentation
 */
export * from "./zoned-schedule.js";
export * from "./schedule-parse-error.js";
export { CRON_MACROS } from "./cron-expression.js";
export * from "./scheduler.js";
export * from "./scheduler-events.js";
export * from "./scheduler-options.js";
