import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Queue, type Task } from "@underway/core";
import { PgStorage, runMigrations } from "@underway/queue-pg";
import { createEffectsTable, effectStats, insertEffect } from "@underway/queue-pg/testing";
import pg from "pg";
import { waitFor } from "../../../test/support/source-process.js";
import { Worker } from "../src/index.js";
import { startPrivatePostgres, type PrivatePostgres } from "./support/private-postgres.js";
import { recordEvents } from "./support/worker-harness.js";

type Tx = ReturnType<PgStorage["transactionOpen"]>["tx"];

const quiet = { debug() {}, info() {}, warn() {}, error() {} };
const TASKS = 2_000;

describe("Worker across a Postgres restart", () => {
  let server: PrivatePostgres;
  let pool: pg.Pool;
  let storage: PgStorage;

  beforeAll(async () => {
    server = await startPrivatePostgres();
    pool = new pg.Pool({ connectionString: server.url, max: 20, connectionTimeoutMillis: 5_000 });
    pool.on("error", () => undefined);
    await runMigrations(pool);
    storage = new PgStorage(pool);
  });

  afterAll(async () => {
    await storage?.close().catch(() => undefined);
    await pool?.end().catch(() => undefined);
    server?.destroy();
  });

  it("completes every one of 2 000 tasks exactly once when the server restarts mid-drain", async () => {
    await createEffectsTable(pool);
    const queue = await Queue.builder<{ n: number }>().name("restart").storage(storage).build();
    const task: Task<{ n: number }, unknown, Tx> = {
      heartbeatMs: 1_000,
      retryPolicy: { maxAttempts: 50, initialIntervalMs: 50, maxIntervalMs: 500 },
      async execute(cx, { n }) {
        await insertEffect(cx.tx, `effect-${n}`);
      },
    };
    await queue.enqueueMany(task, Array.from({ length: TASKS }, (_, n) => ({ n })));
    const worker = new Worker(queue, task, { concurrency: 10, pollIntervalMs: 500, logger: quiet });
    const events = recordEvents(worker);
    const running = worker.run();

    await waitFor(() => events.of("task:succeeded").length >= 300, { message: "300 successes before the restart" });
    server.restart();
    const succeededAfterRestart = events.of("task:succeeded").length;
    const done = async () => {
      const stats = await effectStats(pool);
      return stats.rows >= TASKS;
    };
    await waitFor(done, { timeoutMs: 90_000, intervalMs: 250, message: "every effect" });
    await waitFor(async () => {
      const tasks = await storage.taskList({ queueName: "restart", limit: TASKS + 10 });
      return tasks.length === TASKS && tasks.every((record) => record.state === "succeeded");
    }, { timeoutMs: 30_000, intervalMs: 250, message: "every task succeeded" });
    await worker.shutdown();
    await running;

    expect(succeededAfterRestart).toBeLessThan(TASKS);
    expect(events.of("worker:error").length + events.of("task:retry").length + events.of("task:lease-lost").length).toBeGreaterThan(0);
    const stats = await effectStats(pool);
    expect(stats).toMatchObject({ rows: TASKS, distinctKeys: TASKS, duplicateKeys: 0 });
  }, 150_000);
});
