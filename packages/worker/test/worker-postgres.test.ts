import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { Queue, type Task } from "@underway/core";
import { PgStorage } from "@underway/queue-pg";
import { createEffectsTable, createTestDatabase, effectStats, insertEffect, listEffectKeys } from "@underway/queue-pg/testing";
import pg from "pg";
import { waitFor } from "../../../test/support/source-process.js";
import { CommitGroupRunner } from "../src/commit-group.js";
import { Worker, gracefulShutdown } from "../src/index.js";
import { aborted, deferred, recordEvents, work } from "./support/worker-harness.js";

type Tx = ReturnType<PgStorage["transactionOpen"]>["tx"];
type TestDatabase = Awaited<ReturnType<typeof createTestDatabase>>;
type Item = { n: number };

const quiet = { debug() {}, info() {}, warn() {}, error() {} };

describe("Worker on Postgres", () => {
  let db: TestDatabase;

  beforeEach(async () => {
    db = await createTestDatabase();
    await createEffectsTable(db.pool);
  });

  afterEach(async () => {
    await db.drop();
  });

  async function queueNamed(name: string) {
    return Queue.builder<Item>().name(name).storage(db.storage).build();
  }

  it("commits a cx.tx write with the success, and rolls it back when the task throws", async () => {
    const queue = await queueNamed("atomic");
    const task: Task<Item, unknown, Tx> = {
      retryPolicy: { maxAttempts: 1 },
      async execute(cx, { n }) {
        await insertEffect(cx.tx, `effect-${n}`);
        if (n === 1) throw new Error("failed after the insert");
        return { n };
      },
    };
    const [failing, succeeding] = await queue.enqueueMany(task, [{ n: 1 }, { n: 2 }]);
    const worker = new Worker(queue, task, { logger: quiet });
    expect(await worker.processNextTask()).toBe(failing);
    expect(await worker.processNextTask()).toBe(succeeding);

    expect(await listEffectKeys(db.pool)).toEqual(["effect-2"]);
    const [failedAttempt] = await db.storage.taskAttempts({ taskId: failing! });
    expect(failedAttempt).toMatchObject({ state: "failed", errorMessage: "failed after the insert" });
    expect(await db.storage.taskGet({ taskId: succeeding! })).toMatchObject({ state: "succeeded", output: { n: 2 } });
  });

  it("commits groups of cx.tx tasks together, rolling back only the writes of the task that failed", async () => {
    const queue = await queueNamed("grouped");
    const task: Task<Item, unknown, Tx> = {
      retryPolicy: { maxAttempts: 1 },
      async execute(cx, { n }) {
        const { rows } = await cx.tx.query("select txid_current()::text as txid");
        await insertEffect(cx.tx, `effect-${n}`, rows[0].txid);
        if (n === 7) throw new Error("failed after the insert");
        return { n };
      },
    };
    const ids = await queue.enqueueMany(task, Array.from({ length: 40 }, (_, n) => ({ n })));
    const worker = new Worker(queue, task, { concurrency: 20, groupCommit: 5, logger: quiet });
    const events = recordEvents(worker);
    const running = worker.run();
    await waitFor(() => events.of("task:succeeded").length === 39 && events.of("task:failed").length === 1, { message: "40 outcomes" });
    await worker.shutdown();
    await running;

    const keys = await listEffectKeys(db.pool);
    expect(keys).toHaveLength(39);
    expect(keys).not.toContain("effect-7");
    const { rows } = await db.pool.query("select count(distinct note)::int as transactions from app_effect");
    // Groups of up to 5 (a claim for fewer free slots makes a smaller one): far fewer commits than tasks.
    expect(rows[0].transactions).toBeLessThanOrEqual(13);
    expect(events.of("task:failed")).toMatchObject([{ taskId: ids[7] }]);
    const [failedAttempt] = await db.storage.taskAttempts({ taskId: ids[7]! });
    expect(failedAttempt).toMatchObject({ state: "failed", errorMessage: "failed after the insert" });
    expect(await db.storage.taskGet({ taskId: ids[8]! })).toMatchObject({ state: "succeeded", output: { n: 8 } });
  });

  it("keeps the lease of a grouped success while a later task of its group runs past that lease", async () => {
    const queue = await queueNamed("grouped-long");
    const task: Task<Item, unknown, Tx> = {
      heartbeatMs: 300,
      async execute(cx, { n }) {
        await insertEffect(cx.tx, `effect-${n}`);
        // More than two leases (3 × 300 ms) long; the first task's success waits all that time.
        if (n === 1) await work(2_000);
      },
    };
    await queue.enqueueMany(task, [{ n: 0 }, { n: 1 }]);
    const worker = new Worker(queue, task, { concurrency: 2, groupCommit: 2, logger: quiet });
    const events = recordEvents(worker);
    const running = worker.run();
    await waitFor(() => events.of("task:claimed").length === 2, { message: "both tasks started" });
    // A second worker polls every 50 ms, and every poll claim takes back expired leases.
    const other = new Worker(queue, task, { concurrency: 2, pollIntervalMs: 50, logger: quiet });
    const otherEvents = recordEvents(other);
    const otherRunning = other.run();
    await waitFor(() => events.of("task:succeeded").length === 2, { message: "2 successes" });
    await Promise.all([worker.shutdown(), other.shutdown()]);
    await Promise.all([running, otherRunning]);
    expect(events.of("task:succeeded").map((event) => event.attempt)).toEqual([1, 1]);
    expect(events.of("task:retry")).toEqual([]);
    expect(otherEvents.of("task:claimed")).toEqual([]);
    expect(await effectStats(db.pool)).toEqual({ rows: 2, distinctKeys: 2, duplicateKeys: 0 });
  });

  it("ends a grouped task cancelled while it waits for its turn, without running it; its group commits the rest", async () => {
    const queue = await queueNamed("grouped-cancelled");
    const firstRunning = deferred<void>();
    const firstMayEnd = deferred<void>();
    const ran: number[] = [];
    const task: Task<Item, unknown, Tx> = {
      async execute(cx, { n }) {
        ran.push(n);
        await insertEffect(cx.tx, `effect-${n}`);
        if (n === 0) {
          firstRunning.resolve();
          await firstMayEnd.promise;
        }
      },
    };
    const ids = await queue.enqueueMany(task, Array.from({ length: 3 }, (_, n) => ({ n })));
    const worker = new Worker(queue, task, { concurrency: 3, groupCommit: 3, logger: quiet });
    const events = recordEvents(worker);
    const running = worker.run();
    try {
      await firstRunning.promise;
      // Task 1 is claimed, waiting for task 0 to finish its turn in the group.
      expect(await queue.cancel(ids[1]!)).toBe(true);
      await waitFor(() => events.of("task:cancelled").some((event) => event.taskId === ids[1]), { message: "task 1 cancelled" });
    } finally {
      firstMayEnd.resolve();
    }
    await waitFor(() => events.of("task:succeeded").length === 2, { message: "2 successes" });
    await worker.shutdown();
    await running;

    expect(ran).toEqual([0, 2]);
    expect(events.of("task:claimed").map((event) => event.taskId)).not.toContain(ids[1]);
    expect(await listEffectKeys(db.pool)).toEqual(["effect-0", "effect-2"]);
    expect(await db.storage.taskGet({ taskId: ids[1]! })).toMatchObject({ state: "cancelled" });
    expect(await db.storage.taskGet({ taskId: ids[2]! })).toMatchObject({ state: "succeeded" });
  });

  it.each([
    ["taking turns", false],
    ["pipelined", true],
  ])("retries the whole group (%s), writes included, when one of its tasks times out, and writes each effect once", async (_label, groupPipeline) => {
    const queue = await queueNamed(groupPipeline ? "pipelined-timeout" : "grouped-timeout");
    let slowAttempts = 0;
    const task: Task<Item, unknown, Tx> = {
      // Room for a loaded machine: only the deliberately stuck attempt may time out, and every
      // task has attempts to spare for the group it shares with that one.
      timeoutMs: 2_000,
      retryPolicy: { maxAttempts: 10, initialIntervalMs: 10, maxIntervalMs: 10, jitterFactor: 0 },
      async execute(cx, { n }) {
        await insertEffect(cx.tx, `effect-${n}`);
        if (n === 2 && ++slowAttempts === 1) await Promise.race([aborted(cx.signal), work(10_000)]);
      },
    };
    const ids = await queue.enqueueMany(task, Array.from({ length: 4 }, (_, n) => ({ n })));
    const worker = new Worker(queue, task, { concurrency: 4, groupCommit: 4, groupPipeline, logger: quiet });
    const events = recordEvents(worker);
    const running = worker.run();
    await waitFor(() => events.of("task:succeeded").length === 4, { message: "4 successes" });
    await worker.shutdown();
    await running;

    const timedOut = events.of("task:timed-out").map((event) => event.taskId);
    expect(timedOut.filter((id) => id === ids[2])).toHaveLength(1);
    if (groupPipeline) {
      // Task 3 started with the stuck task 2 and its results wait behind task 2's, so its own
      // deadline comes at the same moment (an attempt's timeout includes that wait): it may time
      // out too, in the same tick, before the group is discarded. No other task can.
      expect(timedOut.every((id) => id === ids[2] || id === ids[3])).toBe(true);
    } else {
      expect(timedOut).toEqual([ids[2]]);
    }
    // The two tasks that had finished before it in the group were sent back, not committed.
    expect(events.of("task:retry").length).toBeGreaterThanOrEqual(3);
    expect(await effectStats(db.pool)).toEqual({ rows: 4, distinctKeys: 4, duplicateKeys: 0 });
  });

  it.each([
    ["one statement", false],
    ["two statements", true],
  ])("pipelined groups (%s per task) commit side by side, rolling back only the writes of the task that failed", async (_label, readsFirst) => {
    const queue = await queueNamed(readsFirst ? "pipelined-two" : "pipelined-one");
    const task: Task<Item, unknown, Tx> = {
      retryPolicy: { maxAttempts: 1 },
      async execute(cx, { n }) {
        const txid = readsFirst ? (await cx.tx.query("select txid_current()::text as txid")).rows[0].txid : undefined;
        await insertEffect(cx.tx, `effect-${n}`, txid);
        if (n === 7) throw new Error("failed after the insert");
        return { n };
      },
    };
    const ids = await queue.enqueueMany(task, Array.from({ length: 40 }, (_, n) => ({ n })));
    const worker = new Worker(queue, task, { concurrency: 20, groupCommit: 5, groupPipeline: true, logger: quiet });
    const events = recordEvents(worker);
    const running = worker.run();
    await waitFor(() => events.of("task:succeeded").length === 39 && events.of("task:failed").length === 1, { message: "40 outcomes" });
    await worker.shutdown();
    await running;

    expect(await effectStats(db.pool)).toEqual({ rows: 39, distinctKeys: 39, duplicateKeys: 0 });
    expect(await listEffectKeys(db.pool)).not.toContain("effect-7");
    expect(events.of("task:failed")).toMatchObject([{ taskId: ids[7] }]);
    expect(events.of("task:retry")).toEqual([]);
    expect(await db.storage.taskGet({ taskId: ids[8]! })).toMatchObject({ state: "succeeded", output: { n: 8 } });
    if (readsFirst) {
      const { rows } = await db.pool.query("select count(distinct note)::int as transactions from app_effect");
      expect(rows[0].transactions).toBeLessThanOrEqual(13);
    }
  });

  it("rejects groupPipeline on a storage whose groups cannot pipeline", async () => {
    const queue = await queueNamed("pipelined-unsupported");
    const task: Task<Item, unknown, Tx> = { execute() {} };
    const withoutPipelines = {
      transactionOpenGroup: db.storage.transactionOpenGroup.bind(db.storage),
      capabilities: { ...db.storage.capabilities, groupPipeline: false },
    } as unknown as PgStorage;
    expect(() => new CommitGroupRunner(withoutPipelines, 2, quiet, true)).toThrow(/groupPipeline needs a storage/);
    expect(() => new CommitGroupRunner(withoutPipelines, 2, quiet, false)).not.toThrow();
    expect(() => new Worker(queue, task, { groupCommit: 2, groupPipeline: true, logger: quiet })).not.toThrow();
  });

  it("warns when groupCommit is above the 64 subtransactions Postgres caches per session", async () => {
    const queue = await queueNamed("grouped-large");
    const task: Task<Item, unknown, Tx> = { execute() {} };
    const warnings: string[] = [];
    const logger = { ...quiet, warn: (_fields: object, message: string) => void warnings.push(message) };
    new Worker(queue, task, { concurrency: 64, groupCommit: 64, logger });
    expect(warnings).toEqual([]);
    new Worker(queue, task, { concurrency: 65, groupCommit: 65, logger });
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toMatch(/groupCommit is above 64/);
  });

  it("drains 200 tasks that never touch cx.tx through bulk acknowledgements, opening no transaction", async () => {
    const queue = await queueNamed("bulk");
    const completeMany = vi.spyOn(db.storage, "taskCompleteMany");
    const completeOne = vi.spyOn(db.storage, "taskComplete");
    const transactions: Array<{ readonly isOpen: boolean }> = [];
    const open = db.storage.transactionOpen.bind(db.storage);
    vi.spyOn(db.storage, "transactionOpen").mockImplementation(() => {
      const trx = open();
      transactions.push(trx);
      return trx;
    });
    const task: Task<Item, unknown, Tx> = { execute: () => undefined };
    await queue.enqueueMany(task, Array.from({ length: 200 }, (_, n) => ({ n })));
    const worker = new Worker(queue, task, { concurrency: 10, logger: quiet });
    const events = recordEvents(worker);
    const running = worker.run();
    await waitFor(() => events.of("task:succeeded").length === 200, { message: "200 successes" });
    await worker.shutdown();
    await running;

    expect(completeOne).not.toHaveBeenCalled();
    expect(completeMany.mock.calls.reduce((sum, [params]) => sum + params.attempts.length, 0)).toBe(200);
    expect(completeMany.mock.calls.length).toBeLessThan(200);
    // The transaction behind cx.tx is made only when a task asks for it.
    expect(transactions).toHaveLength(0);
    const tasks = await db.storage.taskList({ queueName: "bulk", limit: 1_000 });
    expect(tasks.filter((record) => record.state === "succeeded")).toHaveLength(200);
  });

  it("runs at most `concurrency` tasks at once", async () => {
    const queue = await queueNamed("concurrency");
    let runningNow = 0;
    let mostAtOnce = 0;
    const task: Task<Item, unknown, Tx> = {
      async execute() {
        runningNow += 1;
        mostAtOnce = Math.max(mostAtOnce, runningNow);
        await work(200);
        runningNow -= 1;
      },
    };
    await queue.enqueueMany(task, Array.from({ length: 10 }, (_, n) => ({ n })));
    const worker = new Worker(queue, task, { concurrency: 2, logger: quiet });
    const events = recordEvents(worker);
    const running = worker.run();
    await waitFor(() => events.of("task:succeeded").length === 10, { message: "10 successes" });
    await worker.shutdown();
    await running;
    expect(mostAtOnce).toBe(2);
  });

  it("starts a task delayed by 2 s between 2 s and 3 s later, with a 60 s poll", async () => {
    const queue = await queueNamed("delayed");
    let startedAt = 0;
    const task: Task<Item, unknown, Tx> = {
      execute() {
        startedAt = Date.now();
      },
    };
    const worker = new Worker(queue, task, { pollIntervalMs: 60_000, logger: quiet });
    const events = recordEvents(worker);
    const running = worker.run();
    await waitFor(() => events.of("worker:started").length === 1);
    const enqueuedAt = Date.now();
    await queue.enqueue(task, { n: 1 }, { delayMs: 2_000 });
    await waitFor(() => events.of("task:succeeded").length === 1, { message: "the delayed task" });
    await worker.shutdown();
    await running;
    expect(startedAt - enqueuedAt).toBeGreaterThanOrEqual(1_950);
    expect(startedAt - enqueuedAt).toBeLessThan(3_000);
  });

  it("starts a retry with 1 s backoff between 1 s and 2 s after the failure, with a 60 s poll", async () => {
    const queue = await queueNamed("retried");
    const startTimes: number[] = [];
    const task: Task<Item, unknown, Tx> = {
      retryPolicy: { maxAttempts: 2, initialIntervalMs: 1_000, maxIntervalMs: 1_000, jitterFactor: 0 },
      execute(cx) {
        startTimes.push(Date.now());
        if (cx.attempt === 1) throw new Error("first attempt fails");
      },
    };
    const worker = new Worker(queue, task, { pollIntervalMs: 60_000, logger: quiet });
    const events = recordEvents(worker);
    const running = worker.run();
    await queue.enqueue(task, { n: 1 });
    await waitFor(() => events.of("task:succeeded").length === 1, { message: "the retried task" });
    await worker.shutdown();
    await running;
    const failedAt = events.entries.find((entry) => entry.event === "task:retry")!.at;
    expect(events.of("task:retry")).toMatchObject([{ delayMs: 1_000 }]);
    expect(startTimes[1]! - failedAt).toBeGreaterThanOrEqual(950);
    expect(startTimes[1]! - failedAt).toBeLessThan(2_000);
  });

  it("times out after 100 ms, retries, and drops the write the stale attempt makes afterwards", async () => {
    const queue = await queueNamed("timeouts");
    const lateWrite = deferred<string>();
    const task: Task<Item, unknown, Tx> = {
      timeoutMs: 100,
      retryPolicy: { maxAttempts: 2, initialIntervalMs: 60_000, maxIntervalMs: 60_000 },
      async execute(cx) {
        await Promise.race([aborted(cx.signal), work(5_000)]);
        try {
          await insertEffect(cx.tx, "written-after-timeout");
          lateWrite.resolve("accepted");
        } catch {
          lateWrite.resolve("refused");
        }
      },
    };
    const id = await queue.enqueue(task, { n: 1 });
    const worker = new Worker(queue, task, { logger: quiet });
    const events = recordEvents(worker);
    await worker.processNextTask();
    await lateWrite.promise;
    expect(events.of("task:timed-out")).toMatchObject([{ taskId: id, timeoutMs: 100 }]);
    expect(events.of("task:retry")).toMatchObject([{ taskId: id }]);
    const [attempt] = await db.storage.taskAttempts({ taskId: id });
    expect(attempt?.state).toBe("failed");
    expect(attempt?.errorMessage).toMatch(/timed out after 100 ms/);
    expect((await db.storage.taskGet({ taskId: id }))?.state).toBe("pending");
    expect((await effectStats(db.pool)).rows).toBe(0);
  });

  it("lets five in-flight 1 s tasks finish on shutdown, claims nothing new, and resolves run()", async () => {
    const queue = await queueNamed("shutdown");
    const task: Task<Item, unknown, Tx> = { execute: () => work(1_000) };
    const first = await queue.enqueueMany(task, Array.from({ length: 5 }, (_, n) => ({ n })));
    const worker = new Worker(queue, task, { concurrency: 5, logger: quiet });
    const events = recordEvents(worker);
    const running = worker.run();
    await waitFor(() => events.of("task:claimed").length === 5, { message: "five claims" });
    const later = await queue.enqueue(task, { n: 99 });
    await worker.shutdown();
    await running;
    expect(events.of("task:succeeded").map((event) => event.taskId).sort()).toEqual([...first].sort());
    expect(events.of("task:claimed")).toHaveLength(5);
    expect((await db.storage.taskGet({ taskId: later }))?.state).toBe("pending");
  });

  it("stops when gracefulShutdown is sent from another storage instance", async () => {
    const queue = await queueNamed("remote-stop");
    const task: Task<Item, unknown, Tx> = { execute() {} };
    const subscribe = vi.spyOn(db.storage, "subscribe");
    const worker = new Worker(queue, task, { logger: quiet });
    const events = recordEvents(worker);
    const running = worker.run();
    await waitFor(() => subscribe.mock.results.length === 1, { message: "the worker's subscription" });
    await subscribe.mock.results[0]!.value;

    const otherPool = new pg.Pool({ connectionString: db.url, max: 2 });
    otherPool.on("error", () => undefined);
    const otherStorage = new PgStorage(otherPool);
    try {
      await gracefulShutdown(otherStorage, { queue: "remote-stop" });
      await running;
    } finally {
      await otherStorage.close();
      await otherPool.end();
    }
    expect(events.of("worker:stopped")).toHaveLength(1);
  });

  it("stops the workers of every queue when gracefulShutdown names none, sent from another storage instance", async () => {
    const task: Task<Item, unknown, Tx> = { execute() {} };
    const subscribe = vi.spyOn(db.storage, "subscribe");
    const earlier = subscribe.mock.results.length;
    const workers = [new Worker(await queueNamed("stop-all-a"), task, { logger: quiet }), new Worker(await queueNamed("stop-all-b"), task, { logger: quiet })];
    const stopped = workers.map((worker) => recordEvents(worker));
    const running = workers.map((worker) => worker.run());
    await waitFor(() => subscribe.mock.results.length === earlier + 2, { message: "both workers' subscriptions" });
    await Promise.all(subscribe.mock.results.slice(earlier).map((result) => result.value));

    const otherPool = new pg.Pool({ connectionString: db.url, max: 2 });
    otherPool.on("error", () => undefined);
    const otherStorage = new PgStorage(otherPool);
    try {
      await gracefulShutdown(otherStorage);
      await Promise.all(running);
    } finally {
      await otherStorage.close();
      await otherPool.end();
    }
    expect(stopped.map((events) => events.of("worker:stopped").length)).toEqual([1, 1]);
  });

  it("fires the signal with TaskCancelledError when a running task is cancelled", async () => {
    const queue = await queueNamed("cancel");
    const started = deferred();
    let reason: unknown;
    const task: Task<Item, unknown, Tx> = {
      async execute(cx) {
        await insertEffect(cx.tx, "cancelled-task-write");
        started.resolve();
        reason = await Promise.race([aborted(cx.signal), work(10_000).then(() => "not aborted")]);
      },
    };
    const id = await queue.enqueue(task, { n: 1 });
    const worker = new Worker(queue, task, { logger: quiet });
    const events = recordEvents(worker);
    const running = worker.run();
    await started.promise;
    await queue.cancel(id);
    await waitFor(() => events.of("task:cancelled").length === 1, { message: "the cancellation" });
    await worker.shutdown();
    await running;
    expect((reason as Error).name).toBe("TaskCancelledError");
    expect((await db.storage.taskGet({ taskId: id }))?.state).toBe("cancelled");
    expect((await effectStats(db.pool)).rows).toBe(0);
  });
});
