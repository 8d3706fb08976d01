import { FatalError } from "@underway/core";
import { MemoryStorage, type MemoryTransactionHandle } from "@underway/core/testing";
import { describe, expect, it } from "vitest";
import { Job, JobFailedError, To } from "../src/index.js";

// A job's own unit tests need no database: the in-memory storage runs it as Postgres would,
// as docs/jobs.md ("Testing a job") shows.
describe("Job on MemoryStorage", () => {
  it("runs every step and resolves with the last step's result", async () => {
    type GenerateReceipt = { orderId: number };
    type EmailReceipt = { receiptKey: string };
    const storage = new MemoryStorage();
    const job = await Job.builder<MemoryTransactionHandle>()
      .step(async (_cx, { orderId }: GenerateReceipt) => To.next({ receiptKey: `receipts/${orderId}.pdf` }))
      .step(async (_cx, { receiptKey }: EmailReceipt) => To.done({ sent: receiptKey }))
      .name("order-receipt")
      .storage(storage)
      .build();

    const run = await job.enqueue({ orderId: 42 });
    const handle = job.start();
    try {
      await expect(run.result({ timeoutMs: 10_000 })).resolves.toEqual({ sent: "receipts/42.pdf" });
      const status = await run.status();
      expect(status.state).toBe("succeeded");
      expect(status.steps.map((step) => [step.stepIndex, step.state])).toEqual([
        [0, "succeeded"],
        [1, "succeeded"],
      ]);
    } finally {
      await handle.shutdown();
    }
  });

  it("keeps one run per dedupe key while it is pending or running, as on Postgres", async () => {
    const job = await Job.builder<MemoryTransactionHandle>()
      .step(async (_cx, { orderId }: { orderId: number }) => To.next({ orderId }))
      .step(async (_cx, { orderId }: { orderId: number }) => To.done(orderId))
      .name("keyed-order")
      .storage(new MemoryStorage())
      .build();

    const run = await job.enqueue({ orderId: 1 }, { dedupeKey: "order-1" });
    const again = await job.enqueue({ orderId: 1 }, { dedupeKey: "order-1" });
    expect([again.id, again.deduplicated]).toEqual([run.id, true]);
    const handle = job.start();
    try {
      await expect(run.result({ timeoutMs: 10_000 })).resolves.toBe(1);
      expect((await run.status()).steps).toHaveLength(2);
      const next = await job.enqueue({ orderId: 1 }, { dedupeKey: "order-1" });
      expect([next.deduplicated, next.id === run.id]).toEqual([false, false]);
      await expect(next.result({ timeoutMs: 10_000 })).resolves.toBe(1);
    } finally {
      await handle.shutdown();
    }
  });

  it("fails the run when a step fails for good", async () => {
    const job = await Job.builder<MemoryTransactionHandle>()
      .step(async (_cx, { orderId }: { orderId: number }) => {
        throw new FatalError(`order ${orderId} does not exist`);
      })
      .name("missing-order")
      .storage(new MemoryStorage())
      .build();

    const run = await job.enqueue({ orderId: 7 });
    const handle = job.start();
    try {
      const failure = await run.result({ timeoutMs: 10_000 }).catch((error: unknown) => error);
      expect(failure).toBeInstanceOf(JobFailedError);
      expect(String((failure as Error).message)).toMatch(/order 7 does not exist/);
    } finally {
      await handle.shutdown();
    }
  });
});
