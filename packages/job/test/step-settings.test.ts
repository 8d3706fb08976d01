// Per-step settings (.retryPolicy, .timeoutMs, .delayMs, .heartbeatMs, .ttlMs, .priority,
// .concurrencyKey): each reaches the task row of its own step, and takes effect there.
import { RetryPolicy, TASK_DEFAULTS, TimeoutError, type TaskRecord } from "@underway/core";
import type { PgQueryable } from "@underway/queue-pg";
import { describe, expect, it } from "vitest";
import { waitFor } from "../../../test/support/source-process.js";
import { Job, JobFailedError, To, type EnqueuedJob, type JobHandle } from "../src/index.js";
import { useJobTestDatabase } from "./support/job-test-database.js";

const testDatabase = useJobTestDatabase();

function start(job: { start: Job<unknown, PgQueryable, unknown, unknown>["start"] }, concurrency?: number): JobHandle {
  const handle = job.start({ worker: { pollIntervalMs: 1_000, ...(concurrency === undefined ? {} : { concurrency }) } });
  testDatabase.handles.push(handle);
  return handle;
}

/** The stored task rows of a run's steps, by step index. */
async function stepRows(run: EnqueuedJob<unknown, PgQueryable>): Promise<TaskRecord[]> {
  const { steps } = await run.status();
  const rows = await Promise.all(steps.map((step) => testDatabase.db.storage.taskGet({ taskId: step.taskId })));
  return rows.map((row) => row!);
}

/** The settings columns of a task row. */
function settingsOf(row: TaskRecord) {
  return {
    retryPolicy: row.retryPolicy,
    timeoutMs: row.timeoutMs,
    delayMs: row.delayMs,
    heartbeatMs: row.heartbeatMs,
    ttlMs: row.ttlMs,
    priority: row.priority,
    concurrencyKey: row.concurrencyKey,
  };
}

const firstStepPolicy = { maxAttempts: 4, initialIntervalMs: 100, maxIntervalMs: 1_000, backoffCoefficient: 3, jitterFactor: 0 };
const secondStepPolicy = { maxAttempts: 7, initialIntervalMs: 200, maxIntervalMs: 5_000, backoffCoefficient: 2, jitterFactor: 0.5 };

describe("per-step settings", () => {
  it("stores each step's own settings in its row, for the first step and for a delayed next step", async () => {
    const job = await Job.builder<PgQueryable>()
      .step(async (_cx, { account }: { account: number }) => To.delayFor({ account }, 30_000))
      .retryPolicy(firstStepPolicy)
      .timeoutMs(11_000)
      .heartbeatMs(1_100)
      .ttlMs(3_600_000)
      .priority(3)
      .concurrencyKey(({ account }) => `account:${account}`)
      .step(async (_cx, { account }: { account: number }) => To.done(account))
      .retryPolicy(secondStepPolicy)
      .timeoutMs(22_000)
      .delayMs(60_000)
      .heartbeatMs(2_200)
      .ttlMs(7_200_000)
      .priority(9)
      .concurrencyKey("mailer")
      .name("settings-delayed")
      .storage(testDatabase.db.storage)
      .build();
    const run = await job.enqueue({ account: 5 });
    start(job);
    await waitFor(async () => (await run.status()).steps.length === 2, { message: "the second step's row" });

    const [first, second] = await stepRows(run);
    expect(settingsOf(first!)).toEqual({
      retryPolicy: firstStepPolicy,
      timeoutMs: 11_000,
      delayMs: 0,
      heartbeatMs: 1_100,
      ttlMs: 3_600_000,
      priority: 3,
      concurrencyKey: "account:5",
    });
    // The row's delay is the whole delay it was written with: the step's .delayMs() plus the
    // To.delayFor delay of the step before it.
    expect(settingsOf(second!)).toEqual({
      retryPolicy: secondStepPolicy,
      timeoutMs: 22_000,
      delayMs: 60_000 + 30_000,
      heartbeatMs: 2_200,
      ttlMs: 7_200_000,
      priority: 9,
      concurrencyKey: "mailer",
    });
    // Counted from the moment the row is written (createdAt and runAt come from one statement).
    expect(second!.state).toBe("pending");
    expect(second!.runAt.getTime() - second!.createdAt.getTime()).toBe(30_000 + 60_000);
    expect(first!.runAt.getTime()).toBe(first!.createdAt.getTime());
  });

  it("stores a next step's settings when it continues at once on the worker, and the defaults for a step without any", async () => {
    const job = await Job.builder<PgQueryable>()
      .step(async (_cx, { n }: { n: number }) => To.next({ n: n + 1 }))
      .step(async (_cx, { n }: { n: number }) => To.next({ n: n + 1 }))
      .retryPolicy(secondStepPolicy)
      .timeoutMs(22_000)
      .heartbeatMs(2_200)
      .ttlMs(7_200_000)
      .priority(-4)
      .step(async (_cx, { n }: { n: number }) => To.done(n))
      .name("settings-continued")
      .storage(testDatabase.db.storage)
      .build();
    const run = await job.enqueue({ n: 1 });
    start(job);
    await expect(run.result({ timeoutMs: 20_000 })).resolves.toBe(3);

    const [first, second, third] = await stepRows(run);
    const defaults = {
      retryPolicy: RetryPolicy.from(undefined).toJSON(),
      timeoutMs: TASK_DEFAULTS.timeoutMs,
      delayMs: TASK_DEFAULTS.delayMs,
      heartbeatMs: TASK_DEFAULTS.heartbeatMs,
      ttlMs: TASK_DEFAULTS.ttlMs,
      priority: TASK_DEFAULTS.priority,
      concurrencyKey: null,
    };
    expect(settingsOf(first!)).toEqual(defaults);
    expect(settingsOf(second!)).toEqual({
      retryPolicy: secondStepPolicy,
      timeoutMs: 22_000,
      delayMs: 0,
      heartbeatMs: 2_200,
      ttlMs: 7_200_000,
      priority: -4,
      concurrencyKey: null,
    });
    // A step's settings stay with it: the step after it is back to the defaults.
    expect(settingsOf(third!)).toEqual(defaults);
  });

  it("delays a run's first step by its .delayMs()", async () => {
    const job = await Job.builder<PgQueryable>()
      .step(async () => To.done())
      .delayMs(45_000)
      .name("settings-first-delay")
      .storage(testDatabase.db.storage)
      .build();
    const run = await job.enqueue(undefined);
    const [first] = await stepRows(run);
    expect(first!.delayMs).toBe(45_000);
    expect(first!.runAt.getTime() - first!.createdAt.getTime()).toBe(45_000);
    // Not claimable before then.
    expect(await testDatabase.db.storage.taskClaim({ queueName: job.name, limit: 1 })).toEqual([]);
  });

  it("aborts a step that outlives its .timeoutMs() with TimeoutError, and fails the attempt", async () => {
    let abortReason: unknown;
    const job = await Job.builder<PgQueryable>()
      .step(async (cx) => {
        await new Promise<void>((resolve) => cx.signal.addEventListener("abort", () => resolve(), { once: true }));
        abortReason = cx.signal.reason;
        return To.done();
      })
      .timeoutMs(100)
      .retryPolicy({ maxAttempts: 1 })
      .name("settings-timeout")
      .storage(testDatabase.db.storage)
      .build();
    const run = await job.enqueue(undefined);
    start(job);
    await expect(run.result({ timeoutMs: 20_000 })).rejects.toSatisfy((error) => JobFailedError.isInstance(error));
    expect(TimeoutError.isInstance(abortReason)).toBe(true);
    expect((abortReason as TimeoutError).timeoutMs).toBe(100);
    const [step] = (await run.status()).steps;
    expect(step!.errors).toEqual([expect.stringMatching(/timed out after 100 ms/)]);
  });

  it("renews a running step's lease every .heartbeatMs(), each time to three heartbeats ahead", async () => {
    let release!: () => void;
    const mayFinish = new Promise<void>((resolve) => (release = resolve));
    const job = await Job.builder<PgQueryable>()
      .step(async () => {
        await mayFinish;
        return To.done();
      })
      .heartbeatMs(100)
      .name("settings-heartbeat")
      .storage(testDatabase.db.storage)
      .build();
    const run = await job.enqueue(undefined);
    start(job);
    try {
      // With the default period (30 s) no heartbeat would come within this wait.
      const beaten = await waitFor(
        async () => {
          const [row] = await stepRows(run);
          return row?.state === "in_progress" && row.lastHeartbeatAt! > row.lastAttemptAt! ? row : null;
        },
        { timeoutMs: 10_000, message: "a heartbeat after the claim" },
      );
      // The lease is three heartbeats (see .heartbeatMs()).
      expect(beaten.leaseExpiresAt!.getTime() - beaten.lastHeartbeatAt!.getTime()).toBe(3 * 100);
    } finally {
      release();
    }
    await expect(run.result({ timeoutMs: 20_000 })).resolves.toBeNull();
  });

  it("prunes a step once its .ttlMs() has passed since it finished, keeping the steps with a longer one", async () => {
    const job = await Job.builder<PgQueryable>()
      .step(async () => To.next({ kept: true }))
      .ttlMs(0)
      .step(async () => To.done("kept"))
      .name("settings-ttl")
      .storage(testDatabase.db.storage)
      .build();
    const run = await job.enqueue(undefined);
    start(job);
    await expect(run.result({ timeoutMs: 20_000 })).resolves.toBe("kept");
    const [first, second] = (await run.status()).steps;

    // The worker prunes on its own timer too; either way the first step is gone after this.
    await testDatabase.db.storage.taskPrune({ queueName: job.name });
    expect(await testDatabase.db.storage.taskGet({ taskId: first!.taskId })).toBeNull();
    expect(await testDatabase.db.storage.taskGet({ taskId: second!.taskId })).not.toBeNull();
    // The run still reads as finished: its state comes from its last step.
    const status = await run.status();
    expect([status.state, status.steps.map((step) => step.stepIndex)]).toEqual(["succeeded", [1]]);
    await expect(run.result({ timeoutMs: 20_000 })).resolves.toBe("kept");
  });

  it("never runs two steps with the same .concurrencyKey() at once; the later one waits, others pass it", async () => {
    let releaseHolder!: () => void;
    const holderMayFinish = new Promise<void>((resolve) => (releaseHolder = resolve));
    let holderStarted!: () => void;
    const holderRunning = new Promise<void>((resolve) => (holderStarted = resolve));
    const job = await Job.builder<PgQueryable>()
      .step(async (_cx, { account, hold }: { account: number; hold: boolean }) => {
        if (hold) {
          holderStarted();
          await holderMayFinish;
        }
        return To.done(account);
      })
      .concurrencyKey(({ account }) => `account:${account}`)
      .name("settings-concurrency-key")
      .storage(testDatabase.db.storage)
      .build();
    const holder = await job.enqueue({ account: 1, hold: true });
    start(job, 4);
    let sameKey: EnqueuedJob<number, PgQueryable>;
    try {
      await holderRunning;
      // One enqueue, so every claim that sees one of these runs sees both; the worker has free
      // slots, and claims the other key's run while the same-key run waits.
      const [sameKeyRun, otherKeyRun] = await job.enqueueMany([
        { account: 1, hold: false },
        { account: 2, hold: false },
      ]);
      sameKey = sameKeyRun!;
      await expect(otherKeyRun!.result({ timeoutMs: 20_000 })).resolves.toBe(2);
      const [waiting] = await stepRows(sameKey);
      expect([waiting!.state, waiting!.attemptCount]).toEqual(["pending", 0]);
    } finally {
      releaseHolder();
    }
    await expect(holder.result({ timeoutMs: 20_000 })).resolves.toBe(1);
    await expect(sameKey.result({ timeoutMs: 20_000 })).resolves.toBe(1);
    const [holderAttempt] = (await holder.status()).steps[0]!.attempts;
    const [laterAttempt] = (await sameKey.status()).steps[0]!.attempts;
    expect(laterAttempt!.startedAt.getTime()).toBeGreaterThanOrEqual(holderAttempt!.completedAt!.getTime());
  });
});
