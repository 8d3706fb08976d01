import { ConfigError, FatalError, Queue, TimeoutError, newTaskId, silentLogger, type StorageAdapter } from "@underway/core";
import { MemoryStorage } from "@underway/core/testing";
import type { PgQueryable } from "@underway/queue-pg";
import { createEffectsTable, createTestDatabase, insertEffect, type TestDatabase } from "@underway/queue-pg/testing";
import { ZonedSchedule } from "@underway/scheduler";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { waitFor } from "../../../test/support/source-process.js";
import { Job, JobCancelledError, JobFailedError, To, createJobEnvelope, type JobHandle } from "../src/index.js";

let db: TestDatabase;
let storage: StorageAdapter<PgQueryable>;
const handles: JobHandle[] = [];

beforeAll(async () => {
  db = await createTestDatabase();
  storage = db.storage;
  await createEffectsTable(db.pool);
});

afterAll(async () => {
  await Promise.all(handles.map((handle) => handle.shutdown()));
  await db?.drop();
});

function start(job: { start: Job<unknown, PgQueryable, unknown, unknown>["start"] }): JobHandle {
  const handle = job.start({ worker: { pollIntervalMs: 1_000 } });
  handles.push(handle);
  return handle;
}

let counter = 0;
const uniqueName = (prefix: string) => `${prefix}-${process.pid}-${(counter += 1)}`;

describe("Job", () => {
  it("runs the welcome-email example: one step, done", async () => {
    type WelcomeEmail = { userId: number; email: string; name: string };
    const sent: string[] = [];
    const job = await Job.builder<PgQueryable>()
      .step(async (_cx, { userId, email, name }: WelcomeEmail) => {
        sent.push(`Sending welcome email to ${name} <${email}> (user_id: ${userId})`);
        return To.done();
      })
      .name(uniqueName("welcome-email"))
      .storage(storage)
      .build();

    const enqueued = await job.enqueue({ userId: 42, email: "ferris@example.com", name: "Ferris" });
    expect(enqueued.id).toMatch(/^[0-9a-f-]{36}$/);
    const handle = start(job);
    await expect(enqueued.result({ timeoutMs: 20_000 })).resolves.toBeNull();
    await handle.shutdown();
    expect(sent).toEqual(["Sending welcome email to Ferris <ferris@example.com> (user_id: 42)"]);
    const status = await enqueued.status();
    expect(status.state).toBe("succeeded");
    expect(status.steps).toHaveLength(1);
  });

  it("passes each step's To.next value to the next step and resolves with To.done's result", async () => {
    type GenerateReceipt = { orderId: number };
    type EmailReceipt = { receiptKey: string };
    const job = await Job.builder<PgQueryable>()
      .step(async (_cx, { orderId }: GenerateReceipt) => To.next({ receiptKey: `receipts_bucket/${orderId}-receipt.pdf` }))
      .step(async (cx, { receiptKey }: EmailReceipt) => To.done({ emailed: receiptKey, step: cx.stepIndex, of: cx.stepCount }))
      .priority(7)
      .name(uniqueName("order-receipt"))
      .storage(storage)
      .build();
    const run = await job.enqueue({ orderId: 42 });
    start(job);
    await expect(run.result({ timeoutMs: 20_000 })).resolves.toEqual({ emailed: "receipts_bucket/42-receipt.pdf", step: 1, of: 2 });
    const status = await run.status();
    expect(status.steps.map((step) => [step.stepIndex, step.state])).toEqual([
      [0, "succeeded"],
      [1, "succeeded"],
    ]);
    const [first, second] = await Promise.all(status.steps.map((step) => storage.taskGet({ taskId: step.taskId })));
    expect(first!.priority).toBe(0);
    expect(second!.priority).toBe(7);
    expect(second!.correlationId).toBe(run.id);
  });

  it("retries a failing step alone, never redoing earlier steps", async () => {
    let firstRuns = 0;
    let secondRuns = 0;
    const job = await Job.builder<PgQueryable>()
      .step(async (_cx, { orderId }: { orderId: number }) => {
        firstRuns += 1;
        return To.next({ orderId });
      })
      .step(async (_cx, { orderId }: { orderId: number }) => {
        secondRuns += 1;
        if (secondRuns === 1) throw new Error("email service unavailable");
        return To.done(orderId);
      })
      .retryPolicy({ maxAttempts: 3, initialIntervalMs: 50, jitterFactor: 0 })
      .name(uniqueName("retry-alone"))
      .storage(storage)
      .build();
    const run = await job.enqueue({ orderId: 7 });
    start(job);
    await expect(run.result({ timeoutMs: 20_000 })).resolves.toBe(7);
    expect(firstRuns).toBe(1);
    expect(secondRuns).toBe(2);
    const status = await run.status();
    expect(status.steps[1]!.errors).toEqual(["email service unavailable"]);
    expect(status.steps[1]!.attempts.map((attempt) => attempt.state)).toEqual(["failed", "succeeded"]);
  });

  it("commits a step's cx.tx writes with its success and the next step, or none of them", async () => {
    const failKey = `fail-${newTaskId()}`;
    const okKey = `ok-${newTaskId()}`;
    const job = await Job.builder<PgQueryable>()
      .step(async (cx, { key }: { key: string }) => {
        await insertEffect(cx.tx, key, "step-0");
        if (key === failKey) throw new FatalError("refused after writing");
        return To.next({ key });
      })
      .step(async (cx, { key }: { key: string }) => {
        await insertEffect(cx.tx, key, "step-1");
        return To.done();
      })
      .name(uniqueName("atomic"))
      .storage(storage)
      .build();
    const failing = await job.enqueue({ key: failKey });
    const passing = await job.enqueue({ key: okKey });
    start(job);
    await expect(failing.result({ timeoutMs: 20_000 })).rejects.toSatisfy((error) => JobFailedError.isInstance(error));
    await expect(passing.result({ timeoutMs: 20_000 })).resolves.toBeNull();
    const failedStatus = await failing.status();
    expect(failedStatus.steps).toHaveLength(1);
    expect(failedStatus.steps[0]!.errors).toEqual(["refused after writing"]);
    const rows = await db.pool.query<{ key: string; note: string }>("select key, note from app_effect where key = any($1) order by note", [[failKey, okKey]]);
    expect(rows.rows).toEqual([
      { key: okKey, note: "step-0" },
      { key: okKey, note: "step-1" },
    ]);
  });

  it("cancels a pending run: the step never runs", async () => {
    let runs = 0;
    const job = await Job.builder<PgQueryable>()
      .step(async () => {
        runs += 1;
        return To.done();
      })
      .name(uniqueName("cancel-pending"))
      .storage(storage)
      .build();
    const run = await job.enqueueAfter(undefined, 60_000);
    await expect(run.cancel()).resolves.toBe(true);
    await expect(run.cancel()).resolves.toBe(false);
    start(job);
    await expect(run.result({ timeoutMs: 5_000 })).rejects.toSatisfy((error) => JobCancelledError.isInstance(error));
    expect((await run.status()).state).toBe("cancelled");
    expect(runs).toBe(0);
  });

  it("cancels a running step: its signal fires and no later step is enqueued", async () => {
    let secondRan = false;
    let abortReason: unknown;
    let markStarted: () => void = () => undefined;
    const started = new Promise<void>((resolve) => (markStarted = resolve));
    const job = await Job.builder<PgQueryable>()
      .step(async (cx) => {
        markStarted();
        await new Promise<void>((resolve) => cx.signal.addEventListener("abort", () => resolve(), { once: true }));
        abortReason = cx.signal.reason;
        return To.next({ after: "abort" });
      })
      .heartbeatMs(200)
      .step(async () => {
        secondRan = true;
        return To.done();
      })
      .name(uniqueName("cancel-running"))
      .storage(storage)
      .build();
    const run = await job.enqueue(undefined);
    start(job);
    await started;
    await expect(run.cancel()).resolves.toBe(true);
    await expect(run.result({ timeoutMs: 10_000 })).rejects.toSatisfy((error) => JobCancelledError.isInstance(error));
    expect((abortReason as Error).name).toBe("TaskCancelledError");
    const status = await run.status();
    expect(status.steps).toHaveLength(1);
    expect(secondRan).toBe(false);
  });

  it("enqueues inside the caller's transaction: nothing on rollback, a run on commit", async () => {
    const job = await Job.builder<PgQueryable>()
      .step(async (_cx, { n }: { n: number }) => To.done(n * 2))
      .name(uniqueName("transactional"))
      .storage(storage)
      .build();
    const client = await db.pool.connect();
    try {
      await client.query("begin");
      const rolledBack = await job.enqueue({ n: 1 }, { tx: client });
      await client.query("rollback");
      expect((await rolledBack.status()).steps).toHaveLength(0);
      await client.query("begin");
      const committed = await job.enqueue({ n: 2 }, { tx: client });
      await client.query("commit");
      start(job);
      await expect(committed.result({ timeoutMs: 20_000 })).resolves.toBe(4);
    } finally {
      client.release();
    }
  });

  it("enqueueMany creates one run per input, each with its own id", async () => {
    const job = await Job.builder<PgQueryable>()
      .step(async (_cx, { n }: { n: number }) => To.next({ n: n + 1 }))
      .step(async (_cx, { n }: { n: number }) => To.done(n))
      .name(uniqueName("many"))
      .storage(storage)
      .build();
    const runs = await job.enqueueMany([{ n: 1 }, { n: 2 }, { n: 3 }]);
    expect(new Set(runs.map((run) => run.id)).size).toBe(3);
    start(job);
    await expect(Promise.all(runs.map((run) => run.result({ timeoutMs: 20_000 })))).resolves.toEqual([2, 3, 4]);
  });

  it("delays the next step by To.delayFor", async () => {
    const job = await Job.builder<PgQueryable>()
      .step(async () => To.delayFor({ later: true }, 60_000))
      .step(async () => To.done())
      .name(uniqueName("delay-for"))
      .storage(storage)
      .build();
    const run = await job.enqueue(undefined);
    start(job);
    const status = await waitFor(async () => {
      const current = await run.status();
      return current.steps.length === 2 ? current : null;
    });
    const delayMs = status.steps[1]!.runAt.getTime() - status.steps[0]!.completedAt!.getTime();
    expect(delayMs).toBeGreaterThan(55_000);
    expect(delayMs).toBeLessThan(65_000);
    expect(status.steps[1]!.state).toBe("pending");
  });

  it("fails a run fatally, with a clear message, when its stored envelope is unreadable", async () => {
    const job = await Job.builder<PgQueryable>()
      .step(async () => To.done())
      .name(uniqueName("corrupt"))
      .storage(storage)
      .build();
    const healthy = await job.enqueue(undefined);
    const jobId = newTaskId();
    const corrupt = await job.queue.prepare(job.task, createJobEnvelope(jobId, 5, null), { correlationId: jobId });
    await storage.taskEnqueue({ queueName: job.name, tasks: [corrupt] });
    start(job);
    await expect(job.get(jobId).result({ timeoutMs: 20_000 })).rejects.toThrow(/Unknown job step 5: the job has steps 0 to 0/);
    const attempts = await storage.taskAttempts({ taskId: corrupt.id });
    expect(attempts).toHaveLength(1);
    await expect(healthy.result({ timeoutMs: 20_000 })).resolves.toBeNull();
  });

  it("times out waiting for a result", async () => {
    const job = await Job.builder<PgQueryable>()
      .step(async () => To.done())
      .name(uniqueName("result-timeout"))
      .storage(storage)
      .build();
    const run = await job.enqueueAfter(undefined, 60_000);
    await expect(run.result({ timeoutMs: 200 })).rejects.toSatisfy((error) => TimeoutError.isInstance(error));
  });

  it("starts a fresh run for every scheduled fire", async () => {
    const seen: string[] = [];
    const job = await Job.builder<PgQueryable>()
      .step(async (cx, { report }: { report: string }) => {
        seen.push(`${cx.jobId}:${report}`);
        return To.done();
      })
      .name(uniqueName("daily-report"))
      .storage(storage)
      .build();
    await job.schedule(ZonedSchedule.parse("* * * * * *[UTC]"), { report: "daily" });
    start(job);
    await waitFor(() => seen.length >= 2, { timeoutMs: 15_000, message: "two scheduled runs" });
    const ids = new Set(seen.map((entry) => entry.split(":")[0]));
    expect(ids.size).toBe(seen.length);
    expect(seen.every((entry) => entry.endsWith(":daily"))).toBe(true);
    await expect(job.unschedule()).resolves.toBe(true);
  });

  it("keeps the worker running when there is no schedule", async () => {
    const job = await Job.builder<PgQueryable>()
      .step(async (_cx, { n }: { n: number }) => To.done(n))
      .name(uniqueName("no-schedule"))
      .storage(storage)
      .build();
    const handle = start(job);
    const run = await job.enqueue({ n: 5 });
    await expect(run.result({ timeoutMs: 20_000 })).resolves.toBe(5);
    await handle.shutdown();
    await handle.shutdown();
    await expect(handle.done).resolves.toBeUndefined();
  });

  it("rejects a first input that cannot be stored, writing nothing", async () => {
    const job = await Job.builder<PgQueryable>()
      .step(async (_cx, _input: { id: bigint }) => To.done())
      .name(uniqueName("bad-input"))
      .storage(storage)
      .build();
    await expect(job.enqueue({ id: 1n })).rejects.toThrow(/BigInt/);
    expect(await storage.taskList({ queueName: job.name })).toHaveLength(0);
  });

  it("resumes a failed run from its failed step, out of the dead-letter queue, without repeating earlier steps", async () => {
    let firstStepRuns = 0;
    let secondStepRuns = 0;
    const job = await Job.builder<PgQueryable>()
      .step(async (_cx, { orderId }: { orderId: number }) => {
        firstStepRuns += 1;
        return To.next({ orderId, charged: true });
      })
      .step(async (_cx, { orderId }: { orderId: number; charged: boolean }) => {
        secondStepRuns += 1;
        if (secondStepRuns === 1) throw new FatalError("mail server refused");
        return To.done(`receipt ${orderId}`);
      })
      .name(uniqueName("resumable"))
      .deadLetterQueue(uniqueName("resumable-dlq"))
      .storage(storage)
      .build();
    const handle = start(job);
    const run = await job.enqueue({ orderId: 9 });
    await expect(run.result({ timeoutMs: 20_000 })).rejects.toBeInstanceOf(JobFailedError);
    const failed = await run.status();
    expect(failed.state).toBe("failed");
    expect((await storage.taskGet({ taskId: failed.steps[1]!.taskId }))!.queueName).toBe(job.queue.deadLetterQueueName);

    await expect(run.retry({ attempts: 0 })).rejects.toBeInstanceOf(ConfigError);
    expect(await run.retry()).toBe(true);
    await expect(run.result({ timeoutMs: 20_000 })).resolves.toBe("receipt 9");
    expect([firstStepRuns, secondStepRuns]).toEqual([1, 2]);
    const resumed = await run.status();
    expect(resumed.state).toBe("succeeded");
    expect(resumed.steps.map((step) => [step.stepIndex, step.state, step.errors])).toEqual([
      [0, "succeeded", []],
      [1, "succeeded", ["mail server refused"]],
    ]);
    expect(await run.retry()).toBe(false);
    expect(await job.get(run.id).retry()).toBe(false);
    await handle.shutdown();
  });

  describe("one run per key", () => {
    it("returns the live run holding a dedupe key at every step, and frees the key when the run ends", async () => {
      let releaseSecondStep!: () => void;
      const secondStepMayFinish = new Promise<void>((resolve) => (releaseSecondStep = resolve));
      let secondStepStarted!: () => void;
      const secondStepRunning = new Promise<void>((resolve) => (secondStepStarted = resolve));
      const job = await Job.builder<PgQueryable>()
        .step(async (_cx, { n }: { n: number }) => To.next({ n: n + 1 }))
        .step(async (_cx, { n }: { n: number }) => {
          secondStepStarted();
          await secondStepMayFinish;
          return To.next({ n: n + 1 });
        })
        .step(async (_cx, { n }: { n: number }) => To.done(n))
        .name(uniqueName("keyed"))
        .storage(storage)
        .build();

      const run = await job.enqueue({ n: 1 }, { dedupeKey: "order-1" });
      const whilePending = await job.enqueue({ n: 100 }, { dedupeKey: "order-1" });
      expect([run.deduplicated, whilePending.id, whilePending.deduplicated]).toEqual([false, run.id, true]);
      expect(await storage.taskList({ queueName: job.name })).toHaveLength(1);

      const handle = start(job);
      await secondStepRunning;
      const whileRunning = await job.enqueue({ n: 200 }, { dedupeKey: "order-1" });
      expect([whileRunning.id, whileRunning.deduplicated]).toEqual([run.id, true]);
      const otherKey = await job.enqueue({ n: 10 }, { dedupeKey: "order-2" });
      expect(otherKey.id).not.toBe(run.id);
      releaseSecondStep();
      await expect(run.result({ timeoutMs: 20_000 })).resolves.toBe(3);
      await expect(otherKey.result({ timeoutMs: 20_000 })).resolves.toBe(12);

      const steps = (await run.status()).steps;
      expect(steps.map((step) => step.state)).toEqual(["succeeded", "succeeded", "succeeded"]);
      const tasks = await Promise.all(steps.map((step) => storage.taskGet({ taskId: step.taskId })));
      expect(tasks.map((task) => task!.dedupeKey)).toEqual(["order-1", "order-1", "order-1"]);

      const afterwards = await job.enqueue({ n: 5 }, { dedupeKey: "order-1" });
      expect([afterwards.deduplicated, afterwards.id === run.id]).toEqual([false, false]);
      await expect(afterwards.result({ timeoutMs: 20_000 })).resolves.toBe(7);
      await handle.shutdown();
    });

    it("makes one run of parallel enqueues with the same key, and of the runs of one call that share one", async () => {
      const job = await Job.builder<PgQueryable>()
        .step(async (_cx, { n }: { n: number }) => To.done(n))
        .name(uniqueName("keyed-parallel"))
        .storage(storage)
        .build();
      const racing = await Promise.all(Array.from({ length: 12 }, (_, n) => job.enqueue({ n }, { dedupeKey: "nightly-report" })));
      expect(new Set(racing.map((run) => run.id)).size).toBe(1);
      expect(racing.filter((run) => !run.deduplicated)).toHaveLength(1);

      const many = await job.enqueueMany([{ n: 1 }, { n: 2 }, { n: 3 }, { n: 4 }], { dedupeKey: ({ n }) => (n <= 2 ? "pair" : n === 3 ? "nightly-report" : null) });
      expect(many[1]!.id).toBe(many[0]!.id);
      expect(many.map((run) => run.deduplicated)).toEqual([false, true, true, false]);
      expect(many[2]!.id).toBe(racing[0]!.id);
      expect(await storage.taskList({ queueName: job.name })).toHaveLength(3);

      const client = await db.pool.connect();
      try {
        await client.query("begin");
        const first = await job.enqueue({ n: 5 }, { dedupeKey: "in-tx", tx: client });
        const second = await job.enqueue({ n: 6 }, { dedupeKey: "in-tx", tx: client });
        expect([second.id, second.deduplicated]).toEqual([first.id, true]);
        // Outside the transaction, the same key waits for it to end, then names its run.
        const outside = job.enqueue({ n: 7 }, { dedupeKey: "in-tx" });
        await waitFor(async () => {
          const waiting = await db.pool.query("select count(*)::int as n from pg_stat_activity where datname = current_database() and wait_event_type = 'Lock'");
          return waiting.rows[0].n > 0;
        }, { message: "the outside enqueue waiting on the open transaction" });
        await client.query("commit");
        const afterCommit = await outside;
        expect([afterCommit.id, afterCommit.deduplicated]).toEqual([first.id, true]);
      } finally {
        client.release();
      }
      expect(await storage.taskList({ queueName: job.name })).toHaveLength(4);
    });

    it("takes each run's key from the job's .dedupeKey(...) unless the call gives its own, null for none", async () => {
      const job = await Job.builder<PgQueryable>()
        .step(async (_cx, { account }: { account: number }) => To.done(account))
        .name(uniqueName("keyed-by-job"))
        .dedupeKey(({ account }) => (account > 0 ? `account:${account}` : null))
        .storage(storage)
        .build();
      const first = await job.enqueue({ account: 1 });
      const same = await job.enqueueAfter({ account: 1 }, 60_000);
      expect([same.id, same.deduplicated]).toEqual([first.id, true]);
      const many = await job.enqueueMany([{ account: 1 }, { account: 2 }, { account: 2 }, { account: 0 }, { account: 0 }]);
      expect(many.map((run) => run.deduplicated)).toEqual([true, false, true, false, false]);
      expect([many[0]!.id, many[2]!.id]).toEqual([first.id, many[1]!.id]);
      // A key of the call's own replaces the job's; null writes a run without a key.
      const ownKey = await job.enqueue({ account: 1 }, { dedupeKey: "special" });
      const noKey = await job.enqueue({ account: 1 }, { dedupeKey: null });
      const manyOwn = await job.enqueueMany([{ account: 2 }], { dedupeKey: () => "special" });
      expect([ownKey.deduplicated, noKey.deduplicated, manyOwn[0]!.id]).toEqual([false, false, ownKey.id]);
      const tasks = await storage.taskList({ queueName: job.name });
      expect(tasks.map((task) => String(task.dedupeKey)).sort()).toEqual(["account:1", "account:2", "null", "null", "null", "special"]);

      const fixed = await Job.builder<PgQueryable>()
        .step(async (_cx, { n }: { n: number }) => To.done(n))
        .name(uniqueName("keyed-fixed"))
        .dedupeKey("one-at-a-time")
        .storage(storage)
        .build();
      const [a, b] = [await fixed.enqueue({ n: 1 }), await fixed.enqueue({ n: 2 })];
      expect([b.id, b.deduplicated]).toEqual([a.id, true]);
    });

    it("starts no scheduled run while a run holding the job's key is live, and the next one once it has ended", async () => {
      let release!: () => void;
      const mayFinish = new Promise<void>((resolve) => (release = resolve));
      const runs: string[] = [];
      const job = await Job.builder<PgQueryable>()
        .step(async (cx, { report }: { report: string }) => {
          runs.push(cx.jobId);
          await mayFinish;
          return To.done(report);
        })
        .name(uniqueName("keyed-schedule"))
        .dedupeKey(({ report }) => `report:${report}`)
        .storage(storage)
        .build();
      await job.schedule(ZonedSchedule.parse("* * * * * *[UTC]"), { report: "nightly" });
      const scheduler = job.scheduler({ logger: silentLogger });
      const deduplicated: Array<string | null> = [];
      scheduler.on("scheduler:skipped", ({ reason, taskId }) => reason === "deduplicated" && deduplicated.push(taskId));
      const controller = new AbortController();
      const running = Promise.all([job.worker({ pollIntervalMs: 1_000 }).run(controller.signal), scheduler.run(controller.signal)]);
      try {
        await waitFor(() => runs.length === 1 && deduplicated.length >= 2, { timeoutMs: 15_000, message: "a live run and two skipped occurrences" });
        const holders = await Promise.all(deduplicated.map((taskId) => storage.taskGet({ taskId: taskId! })));
        expect(holders.map((task) => task!.correlationId)).toEqual(deduplicated.map(() => runs[0]));
        expect(await storage.taskList({ queueName: job.name })).toHaveLength(1);
        release();
        await waitFor(() => runs.length >= 2, { timeoutMs: 15_000, message: "the next scheduled run" });
        expect(new Set(runs).size).toBe(runs.length);
      } finally {
        release();
        controller.abort();
        await running;
      }
      await job.unschedule();
    });

    it("rejects a job key that is not a non-empty string or a function", () => {
      const builder = () => Job.builder<PgQueryable>().step(async (_cx, { n }: { n: number }) => To.done(n));
      for (const key of ["", "k".repeat(513), 7, null]) {
        expect(() => builder().dedupeKey(key as string)).toThrow(ConfigError);
      }
    });

    it("skips a scheduled occurrence whose job key is invalid, and schedules nothing with one", async () => {
      const job = await Job.builder<PgQueryable>()
        .step(async (_cx, { name }: { name: string }) => To.done(name))
        .name(uniqueName("keyed-invalid-schedule"))
        .dedupeKey(({ name }) => name)
        .storage(storage)
        .build();
      await expect(job.schedule(ZonedSchedule.parse("* * * * * *[UTC]"), { name: "" })).rejects.toBeInstanceOf(ConfigError);
      expect(await storage.scheduleGet({ queueName: job.name })).toBeNull();
    });

    it("rejects a key that is not a non-empty string of at most 512 characters, writing nothing", async () => {
      const job = await Job.builder<PgQueryable>()
        .step(async (_cx, { n }: { n: number }) => To.done(n))
        .name(uniqueName("keyed-invalid"))
        .storage(storage)
        .build();
      for (const dedupeKey of ["", "k".repeat(513), 7 as unknown as string, "a\u0000b"]) {
        await expect(job.enqueue({ n: 1 }, { dedupeKey })).rejects.toBeInstanceOf(ConfigError);
      }
      await expect(job.enqueueMany([{ n: 1 }, { n: 2 }], { dedupeKey: ({ n }) => (n === 2 ? "" : "fine") })).rejects.toBeInstanceOf(ConfigError);
      expect(await storage.taskList({ queueName: job.name })).toHaveLength(0);
    });

    it("does not resume a failed run while another run holds its key", async () => {
      let attempts = 0;
      const job = await Job.builder<PgQueryable>()
        .step(async (_cx, { n }: { n: number }) => {
          attempts += 1;
          if (n === 1 && attempts === 1) throw new FatalError("first attempt refused");
          return To.done(n);
        })
        .name(uniqueName("keyed-retry"))
        .storage(storage)
        .build();
      let handle = start(job);
      const failed = await job.enqueue({ n: 1 }, { dedupeKey: "account-3" });
      await expect(failed.result({ timeoutMs: 20_000 })).rejects.toBeInstanceOf(JobFailedError);
      await handle.shutdown();

      const holder = await job.enqueue({ n: 2 }, { dedupeKey: "account-3" });
      expect(holder.deduplicated).toBe(false);
      expect(await failed.retry()).toBe(false);
      handle = start(job);
      await expect(holder.result({ timeoutMs: 20_000 })).resolves.toBe(2);
      expect(await failed.retry()).toBe(true);
      await expect(failed.result({ timeoutMs: 20_000 })).resolves.toBe(1);
      await handle.shutdown();
    });
  });

  describe("bad arguments: a ConfigError, and nothing written", () => {
    const build = (prefix: string) =>
      Job.builder<PgQueryable>()
        .step(async (_cx, { n }: { n: number }) => To.done(n))
        .name(uniqueName(prefix))
        .storage(storage)
        .build();

    it("enqueueMany takes only an array of inputs and a function as dedupeKey", async () => {
      const job = await build("bad-many");
      type Inputs = Parameters<typeof job.enqueueMany>[0];
      type ManyOptions = Parameters<typeof job.enqueueMany>[1];
      for (const inputs of ["abc", null, {}, { length: 2 }, 7]) {
        await expect(job.enqueueMany(inputs as unknown as Inputs)).rejects.toBeInstanceOf(ConfigError);
      }
      await expect(job.enqueueMany([{ n: 1 }], { dedupeKey: "k" } as unknown as ManyOptions)).rejects.toThrow(/dedupeKey option must be a function/);
      for (const options of [null, "x", []]) {
        await expect(job.enqueueMany([{ n: 1 }], options as unknown as ManyOptions)).rejects.toBeInstanceOf(ConfigError);
      }
      expect(await storage.taskList({ queueName: job.name })).toHaveLength(0);
    });

    it("get() refuses anything that is not a run's id, before giving a handle", async () => {
      const job = await build("bad-get");
      const longText = "x".repeat(10_000);
      for (const id of [null, undefined, 5, {}, "", "not-a-uuid", "a\u0000b", longText, ` ${newTaskId()}`, `${newTaskId()}0`]) {
        expect(() => job.get(id as unknown as string)).toThrow(ConfigError);
      }
      expect(() => job.get("not-a-uuid")).toThrow(/get\(jobId\) expects a job run's id, a UUID .*, got "not-a-uuid"/);
      let thrown: unknown;
      try {
        job.get(longText);
      } catch (error) {
        thrown = error;
      }
      expect((thrown as Error).message).toMatch(/got a string of 10000 characters$/);
      // A well-formed id finds its run in either case; one that no run has reads as a run without rows.
      const run = await job.enqueue({ n: 1 });
      const upper = job.get(run.id.toUpperCase());
      expect(upper.id).toBe(run.id);
      expect((await upper.status()).steps).toHaveLength(1);
      await expect(job.get(newTaskId()).status()).resolves.toMatchObject({ state: "pending", steps: [] });
    });

    it("scheduler() refuses options that are not an object, as worker() does", async () => {
      const job = await build("bad-scheduler");
      type SchedulerOptions = Parameters<typeof job.scheduler>[0];
      for (const options of [null, "x", [], 5, { fireInput: () => ({ input: null }) }, { missedFire: "skip" }, { missedFires: "replay" }]) {
        expect(() => job.scheduler(options as unknown as SchedulerOptions)).toThrow(ConfigError);
      }
      expect(() => job.scheduler(null as unknown as SchedulerOptions)).toThrow(/scheduler\(\) expects an options object \(or none\), got null/);
      expect(() => job.scheduler({ fireInput: null } as unknown as SchedulerOptions)).toThrow(/scheduler\(\) has no option "fireInput"/);
      expect(() => job.worker(null as unknown as {})).toThrow(ConfigError);
      expect(() => job.start({ scheduler: { fireInput: null } as unknown as SchedulerOptions })).toThrow(ConfigError);
      expect(job.scheduler({ logger: silentLogger, missedFires: { catchUp: 2 } }).isLeader).toBe(false);
      expect(job.scheduler().isLeader).toBe(false);
    });

    it("enqueue, enqueueAfter, enqueueMany, schedule and a run's cancel and retry refuse tx: null, writing nothing", async () => {
      const job = await build("null-tx");
      const nullTx = { tx: null } as unknown as {};
      await expect(job.enqueue({ n: 1 }, nullTx)).rejects.toThrow(/enqueue\(\): tx expects a transaction handle/);
      await expect(job.enqueueAfter({ n: 1 }, 10, nullTx)).rejects.toBeInstanceOf(ConfigError);
      await expect(job.enqueueMany([{ n: 1 }], nullTx)).rejects.toBeInstanceOf(ConfigError);
      await expect(job.schedule(ZonedSchedule.parse("@daily[UTC]"), { n: 1 }, nullTx)).rejects.toBeInstanceOf(ConfigError);
      expect(await job.queue.getSchedule()).toBeNull();
      expect(await storage.taskList({ queueName: job.name })).toHaveLength(0);
      const run = await job.enqueue({ n: 1 });
      await expect(run.cancel(nullTx)).rejects.toBeInstanceOf(ConfigError);
      await expect(run.retry(nullTx)).rejects.toBeInstanceOf(ConfigError);
      expect((await run.status()).state).toBe("pending");
    });

    it("enqueue, enqueueAfter and a run's retry refuse null options", async () => {
      const job = await build("bad-options");
      await expect(job.enqueue({ n: 1 }, null as unknown as {})).rejects.toBeInstanceOf(ConfigError);
      await expect(job.enqueueAfter({ n: 1 }, 1_000, null as unknown as {})).rejects.toBeInstanceOf(ConfigError);
      await expect(job.get(newTaskId()).retry(null as unknown as {})).rejects.toBeInstanceOf(ConfigError);
      expect(await storage.taskList({ queueName: job.name })).toHaveLength(0);
    });

    it("result() checks timeoutMs and signal before waiting", async () => {
      const job = await build("bad-result");
      const run = await job.enqueueAfter({ n: 1 }, 60_000);
      for (const timeoutMs of [Number.POSITIVE_INFINITY, 2 ** 31, -1, Number.NaN, "abc", 1.5]) {
        const outcome = run.result({ timeoutMs: timeoutMs as number });
        await expect(outcome).rejects.toBeInstanceOf(ConfigError);
        await expect(outcome).rejects.toThrow(/timeoutMs/);
      }
      for (const signal of ["x", null, {}, { aborted: true }]) {
        await expect(run.result({ signal: signal as unknown as AbortSignal })).rejects.toBeInstanceOf(ConfigError);
      }
      await expect(run.result(null as unknown as {})).rejects.toBeInstanceOf(ConfigError);
      // The largest timer Node accepts is valid, and an aborted signal still wins at once.
      const controller = new AbortController();
      controller.abort(new Error("stop"));
      await expect(run.result({ timeoutMs: 2 ** 31 - 1, signal: controller.signal })).rejects.toThrow("stop");
    });

    it("start() and run() refuse bad options before starting anything, and a good start() still works", async () => {
      const job = await build("bad-start");
      type StartOptions = Parameters<typeof job.start>[0];
      for (const options of [null, "x", { worker: null }, { scheduler: 5 }, { worker: { concurrency: 0 } }]) {
        expect(() => job.start(options as unknown as StartOptions)).toThrow(ConfigError);
        await expect(job.run(options as unknown as StartOptions)).rejects.toBeInstanceOf(ConfigError);
      }
      const run = await job.enqueue({ n: 5 });
      const handle = start(job);
      await expect(run.result({ timeoutMs: 20_000 })).resolves.toBe(5);
      await handle.shutdown();
    });

    it("the builder refuses a dead-letter queue or a storage that disagrees with .queue(...)", async () => {
      const name = uniqueName("bad-builder");
      const dlq = uniqueName("bad-builder-dlq");
      const queue = await Queue.builder<never>().name(name).deadLetterQueue(dlq).storage(storage).build();
      const builder = () => Job.builder<PgQueryable>().step(async () => To.done()).queue(queue as never);
      await expect(builder().deadLetterQueue(uniqueName("other-dlq")).build()).rejects.toThrow(/dead-letter queue/);
      await expect(builder().storage(new MemoryStorage() as never).build()).rejects.toBeInstanceOf(ConfigError);
      const withoutDlq = await Queue.builder<never>().name(uniqueName("bad-builder-no-dlq")).storage(storage).build();
      const plain = Job.builder<PgQueryable>().step(async () => To.done()).queue(withoutDlq as never);
      await expect(plain.deadLetterQueue(dlq).build()).rejects.toThrow(/has none/);
      // Settings that agree with the queue are accepted.
      const job = await builder().name(name).deadLetterQueue(dlq).storage(storage).build();
      expect([job.name, job.queue.deadLetterQueueName, job.queue.storage]).toEqual([name, dlq, storage]);
    });
  });
});
