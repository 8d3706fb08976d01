import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Queue, type Task } from "@underway/core";
import type { PgStorage } from "@underway/queue-pg";
import { createEffectsTable, createPgliteStorage, effectStats, insertEffect } from "@underway/queue-pg/testing";
import { waitFor } from "../../../test/support/source-process.js";
import { Worker } from "../src/index.js";
import { recordEvents } from "./support/worker-harness.js";

type Tx = ReturnType<PgStorage["transactionOpen"]>["tx"];

const quiet = { debug() {}, info() {}, warn() {}, error() {} };

describe("Worker on PGlite (one transaction at a time)", () => {
  let embedded: Awaited<ReturnType<typeof createPgliteStorage>>;

  beforeAll(async () => {
    embedded = await createPgliteStorage();
    await createEffectsTable(embedded.pglite);
  });

  afterAll(async () => {
    await embedded?.close();
  });

  it("runs tasks that write through cx.tx alongside tasks that do not, with concurrency, without deadlocking", async () => {
    const queue = await Queue.builder<{ n: number }>().name("embedded").storage(embedded.storage).build();
    const task: Task<{ n: number }, unknown, Tx> = {
      heartbeatMs: 1_000,
      async execute(cx, { n }) {
        if (n % 2 === 0) await insertEffect(cx.tx, `effect-${n}`);
        if (n % 5 === 0) throw new Error("fails once");
        return n;
      },
      retryPolicy: { maxAttempts: 1 },
    };
    await queue.enqueueMany(task, Array.from({ length: 40 }, (_, n) => ({ n })));
    const worker = new Worker(queue, task, { concurrency: 4, logger: quiet });
    const events = recordEvents(worker);
    const running = worker.run();
    await waitFor(() => events.of("task:succeeded").length + events.of("task:failed").length === 40, { message: "all 40 outcomes" });
    await worker.shutdown();
    await running;
    expect(events.of("task:succeeded")).toHaveLength(32);
    expect(events.of("task:failed")).toHaveLength(8);
    // Even tasks wrote; those that also failed (multiples of 10) rolled their write back.
    const stats = await effectStats(embedded.pglite);
    expect(stats).toMatchObject({ rows: 16, distinctKeys: 16, duplicateKeys: 0 });
  });
});
