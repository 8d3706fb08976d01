// A worker in its own process, for the chaos scenarios. Configured by environment:
//   DATABASE_URL, QUEUE_NAME, MODE (effect | long | noop), HEARTBEAT_MS, WORK_MS, CONCURRENCY,
//   POLL_INTERVAL_MS, GROUP_COMMIT (the worker's groupCommit), GROUP_PIPELINE=1 (its groupPipeline), EVENTS=1 (print every task event), RSS_EVERY_MS (print memory periodically).
// Prints `ready <pid>` once the worker runs, then one line per reported fact, and `stopped` after
// a graceful shutdown (SIGTERM).
import pg from "pg";
import { Queue, silentLogger } from "@underway/core";
import { PgStorage } from "@underway/queue-pg";
import { Worker } from "@underway/worker";
import { WORKER_APPLICATION_NAME, chaosTask, type ChaosInput, type ChaosMode } from "./chaos-task.js";

const environment = process.env;
const databaseUrl = environment.DATABASE_URL;
const queueName = environment.QUEUE_NAME;
if (!databaseUrl || !queueName) throw new Error("chaos-worker needs DATABASE_URL and QUEUE_NAME");
const concurrency = Number(environment.CONCURRENCY ?? "10");

const say = (line: string) => process.stdout.write(`${line}\n`);

const pool = new pg.Pool({ connectionString: databaseUrl, max: concurrency + 4, connectionTimeoutMillis: 5_000, application_name: WORKER_APPLICATION_NAME });
pool.on("error", () => undefined);
const storage = new PgStorage(pool);
const queue = await Queue.builder<ChaosInput>().name(queueName).storage(storage).build();
const task = chaosTask({
  mode: (environment.MODE ?? "effect") as ChaosMode,
  heartbeatMs: Number(environment.HEARTBEAT_MS ?? "500"),
  workMs: Number(environment.WORK_MS ?? "0"),
});
const worker = new Worker(queue, task, {
  concurrency,
  claimBatchSize: concurrency,
  pollIntervalMs: Number(environment.POLL_INTERVAL_MS ?? "250"),
  groupCommit: Number(environment.GROUP_COMMIT ?? "1"),
  groupPipeline: environment.GROUP_PIPELINE === "1",
  shutdownTimeoutMs: 5_000,
  logger: silentLogger,
});

let succeeded = 0;
worker.on("task:succeeded", () => {
  succeeded += 1;
});
worker.on("worker:error", ({ error }) => say(`worker:error ${String(error).replace(/\s+/g, " ").slice(0, 200)}`));
if (environment.EVENTS === "1") {
  for (const event of ["task:claimed", "task:succeeded", "task:lease-lost", "task:retry", "task:failed", "task:timed-out"] as const) {
    worker.on(event, (payload) => say(`${event} ${payload.taskId} ${payload.attempt}`));
  }
}
const rssEveryMs = Number(environment.RSS_EVERY_MS ?? "0");
const rssTimer = rssEveryMs > 0 ? setInterval(() => say(`rss ${process.memoryUsage().rss} ${succeeded}`), rssEveryMs) : undefined;

process.once("SIGTERM", () => void worker.shutdown());
say(`ready ${process.pid}`);
await worker.run();
if (rssTimer) clearInterval(rssTimer);
await storage.close();
await pool.end();
say(`stopped ${succeeded}`);
