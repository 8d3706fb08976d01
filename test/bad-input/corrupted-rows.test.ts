import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Queue, type Task } from "@underway/core";
import { Job, To, createJobEnvelope, type JobEnvelope } from "@underway/job";
import { createEffectsTable, createTestDatabase, effectStats, insertEffect, type TestDatabase } from "@underway/queue-pg/testing";
import type { PgStorage } from "@underway/queue-pg";
import { Worker } from "@underway/worker";
import { waitFor } from "../support/source-process.js";
import { recordUnhandledRejections } from "./support/outcome.js";

type Tx = ReturnType<PgStorage["transactionOpen"]>["tx"];
const unhandledRejections = recordUnhandledRejections();
const quiet = { debug() {}, info() {}, warn() {}, error() {} };

/** A hand-written Standard Schema (the interface zod, valibot and arktype implement). */
const orderSchema = {
  "~standard": {
    version: 1 as const,
    vendor: "underway-tests",
    validate(value: unknown) {
      const orderId = (value as { orderId?: unknown } | null)?.orderId;
      return Number.isInteger(orderId)
        ? { value: { orderId: orderId as number } }
        : { issues: [{ message: `orderId must be an integer, got ${JSON.stringify(orderId)}`, path: ["orderId"] }] };
    },
  },
};

// A corrupted row is written the way it happens in production: by an older or careless producer
// that enqueues into the same queue without the schema (or with another job version), never by SQL.
describe("corrupted rows", () => {
  let db: TestDatabase;

  beforeAll(async () => {
    db = await createTestDatabase({ poolSize: 6 });
    await createEffectsTable(db.pool);
  });

  afterAll(async () => {
    await db.drop();
    expect(unhandledRejections).toEqual([]);
  });

  it("an input that fails the task's schema fails that task fatally with the schema's message; the others run", async () => {
    type Order = { orderId: number };
    const queue = await Queue.builder<Order>().name("corrupted-schema").storage(db.storage).build();
    const strict: Task<Order, unknown, Tx> = {
      schema: orderSchema,
      retryPolicy: { maxAttempts: 5, initialIntervalMs: 10, maxIntervalMs: 10 },
      async execute(cx, { orderId }) {
        await insertEffect(cx.tx, `order-${orderId}`);
      },
    };
    const careless: Task<unknown, unknown, Tx> = { execute: () => undefined };
    const good = await queue.enqueueMany(strict, Array.from({ length: 20 }, (_, orderId) => ({ orderId })));
    const corrupted = await (queue as unknown as Queue<unknown, Tx>).enqueue(careless, { orderId: "'; drop table app_effect; --" });
    // The schema is checked at enqueue too: the strict task refuses the same input outright.
    await expect(queue.enqueue(strict, { orderId: "x" } as unknown as Order)).rejects.toMatchObject({ code: "VALIDATION" });

    const worker = new Worker(queue, strict, { concurrency: 4, pollIntervalMs: 100, logger: quiet });
    const running = worker.run();
    await waitFor(async () => {
      const records = await Promise.all([...good, corrupted].map((taskId) => db.storage.taskGet({ taskId })));
      return records.every((record) => record?.state === "succeeded" || record?.state === "failed");
    }, { timeoutMs: 20_000, message: "every task to finish" });
    await worker.shutdown();
    await running;

    const failed = await db.storage.taskGet({ taskId: corrupted });
    expect(failed).toMatchObject({ state: "failed", attemptCount: 1 });
    const [attempt] = await db.storage.taskAttempts({ taskId: corrupted });
    expect(attempt?.errorMessage).toMatch(/orderId/);
    for (const taskId of good) expect((await db.storage.taskGet({ taskId }))?.state).toBe("succeeded");
    expect(await effectStats(db.pool)).toMatchObject({ rows: 20, duplicateKeys: 0 });
  });

  it("a job row naming a step the job does not have, or an unreadable envelope, fails fatally with a clear message; other runs finish", async () => {
    const job = await Job.builder<Tx>()
      .step(async (_cx, { n }: { n: number }) => To.next({ doubled: n * 2 }))
      .step(async (cx, { doubled }: { doubled: number }) => {
        await insertEffect(cx.tx, `job-${doubled}`);
        return To.done(doubled);
      })
      .name("corrupted-job")
      .storage(db.storage)
      .build();
    const runs = await job.enqueueMany(Array.from({ length: 10 }, (_, n) => ({ n })));
    const foreign: Task<unknown, unknown, Tx> = { execute: () => undefined };
    const jobQueue = job.queue as unknown as Queue<unknown, Tx>;
    const unknownStep = await jobQueue.enqueue(foreign, createJobEnvelope("run-from-a-newer-version", 7, { n: 1 }) as JobEnvelope);
    const notAnEnvelope = await jobQueue.enqueue(foreign, { hello: "world" });

    const worker = job.worker({ concurrency: 4, pollIntervalMs: 100, logger: quiet });
    const running = worker.run();
    await waitFor(async () => {
      const results = await Promise.all(runs.map((run) => run.status()));
      const strays = await Promise.all([unknownStep, notAnEnvelope].map((taskId) => db.storage.taskGet({ taskId })));
      return results.every((status) => status.state === "succeeded") && strays.every((record) => record?.state === "failed");
    }, { timeoutMs: 20_000, message: "every run to finish and both strays to fail" });
    await worker.shutdown();
    await running;

    const [unknownAttempt] = await db.storage.taskAttempts({ taskId: unknownStep });
    expect(unknownAttempt?.errorMessage).toMatch(/Unknown job step 7/);
    const [envelopeAttempt] = await db.storage.taskAttempts({ taskId: notAnEnvelope });
    expect(envelopeAttempt?.errorMessage).toMatch(/Unreadable job envelope/);
    expect((await db.storage.taskGet({ taskId: unknownStep }))?.attemptCount).toBe(1);
    expect(await Promise.all(runs.map((run) => run.result({ timeoutMs: 5_000 })))).toEqual(Array.from({ length: 10 }, (_, n) => n * 2));
  });
});
