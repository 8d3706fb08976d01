import { runStorageConformance } from "@underway/core/conformance";
import { Queue, type Task } from "@underway/core";
import { PgStorage, type PgQueryable, type PgStorageOptions } from "@underway/queue-pg";
import { createEffectsTable, createTestDatabase, effectStats, insertEffect, type TestDatabase } from "@underway/queue-pg/testing";
import { Worker } from "@underway/worker";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { poolHarness } from "../../packages/queue-pg/test/support/pool-harness.js";
import { startPrivatePgBouncer, type PrivatePgBouncer } from "../support/private-pgbouncer.js";

// Behind PgBouncer in transaction pooling mode (1.18, Debian's: no prepared statements across
// transactions), with `preparedStatements: false` and the session connections (LISTEN, leadership
// locks) going straight to the server.
let database: TestDatabase;
let bouncer: PrivatePgBouncer;
let pool: pg.Pool;

beforeAll(async () => {
  database = await createTestDatabase();
  bouncer = await startPrivatePgBouncer(database.url);
  pool = new pg.Pool({ connectionString: bouncer.urlThrough(database.url), max: 60 });
  pool.on("error", () => undefined);
  await createEffectsTable(pool);
});

afterAll(async () => {
  await pool?.end();
  await bouncer?.stop();
  await database?.drop();
});

/** What a storage behind the pooler needs: no prepared statements, session connections to the server. */
function connectionOptions(): PgStorageOptions {
  return { preparedStatements: false, sessionConnection: database.url };
}

runStorageConformance<PgQueryable>("PgStorage behind PgBouncer in transaction mode", async (options) =>
  poolHarness(pool, options, connectionOptions()),
);

describe("a worker behind PgBouncer in transaction mode", () => {
  it("drains tasks exactly once, half of them writing through cx.tx, woken by notifications", async () => {
    const storage = new PgStorage(pool, connectionOptions());
    const queue = await Queue.builder<{ n: number }>().name("behind-pgbouncer").storage(storage).build();
    const task: Task<{ n: number }, number, PgQueryable> = {
      async execute(cx, { n }) {
        if (n % 2 === 0) await insertEffect(cx.tx, `bouncer-${n}`);
        return n;
      },
    };
    // Polling would find the tasks only after a minute: the notifications must wake the worker.
    const worker = new Worker(queue, task, { concurrency: 10, pollIntervalMs: 60_000 });
    const succeeded = new Set<string>();
    const total = 300;
    const reached = (count: number) =>
      new Promise<void>((resolve) => {
        const check = () => succeeded.size >= count && resolve();
        worker.on("task:succeeded", check);
        check();
      });
    worker.on("task:succeeded", ({ taskId }) => void succeeded.add(taskId));
    const running = worker.run();
    await queue.enqueueMany(task, Array.from({ length: total / 2 }, (_, n) => ({ n })));
    await reached(total / 2);
    // The worker is idle now, waiting: only a notification can bring it the next task in time.
    for (let n = total / 2; n < total; n += 1) await queue.enqueue(task, { n });
    await reached(total);
    await worker.shutdown();
    await running;
    await storage.close();
    expect(succeeded.size).toBe(total);
    expect(await effectStats(pool)).toEqual({ rows: total / 2, distinctKeys: total / 2, duplicateKeys: 0 });
  });

});
