import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { Queue, type Task } from "@underway/core";
import type { PgStorage } from "@underway/queue-pg";
import { createEffectsTable, createTestDatabase, effectStats, insertEffect, listEffectKeys } from "@underway/queue-pg/testing";
import { spawnSourceProcess, waitFor, type SourceProcess } from "../../../test/support/source-process.js";
import { Worker } from "../src/index.js";
import { recordEvents } from "./support/worker-harness.js";

type Tx = ReturnType<PgStorage["transactionOpen"]>["tx"];
type TestDatabase = Awaited<ReturnType<typeof createTestDatabase>>;

const fixture = new URL("./fixtures/effect-worker.ts", import.meta.url).pathname;
const quiet = { debug() {}, info() {}, warn() {}, error() {} };

/** Same settings as the fixture's task; the successor finishes at once. */
const effectTask: Task<{ n: number }, unknown, Tx> = {
  heartbeatMs: 1_000,
  retryPolicy: { maxAttempts: 5, initialIntervalMs: 100, maxIntervalMs: 100 },
  async execute(cx) {
    await insertEffect(cx.tx, `${cx.taskId}:${cx.attempt}`, "successor");
  },
};

describe("Worker processes that die or stall", () => {
  let db: TestDatabase;
  let child: SourceProcess | undefined;
  let workerPid: number | undefined;

  /** Starts the fixture and returns the pid of the process that runs its worker. */
  async function startChildWorker(workMs: number): Promise<number> {
    child = spawnSourceProcess(fixture, [], { DATABASE_URL: db.url, WORK_MS: String(workMs) });
    const ready = await child.waitForLine((line) => line.startsWith("ready "));
    workerPid = Number(ready.slice("ready ".length));
    return workerPid;
  }

  function signalWorker(signal: NodeJS.Signals): void {
    if (workerPid === undefined) return;
    try {
      process.kill(workerPid, signal);
    } catch {
      // Already gone.
    }
  }

  function workerAlive(): boolean {
    if (workerPid === undefined) return false;
    try {
      process.kill(workerPid, 0);
      return true;
    } catch {
      return false;
    }
  }

  beforeEach(async () => {
    db = await createTestDatabase();
    await createEffectsTable(db.pool);
  });

  afterEach(async () => {
    signalWorker("SIGCONT");
    signalWorker("SIGKILL");
    if (child) {
      await child.kill("SIGKILL");
      child = undefined;
    }
    workerPid = undefined;
    await db.drop();
  });

  it("completes a task whose worker was SIGKILLed, once its lease expired", async () => {
    const queue = await Queue.builder<{ n: number }>().name("effects").storage(db.storage).build();
    const id = await queue.enqueue(effectTask, { n: 1 });
    await startChildWorker(60_000);
    await child!.waitForLine((line) => line === `started ${id} 1`);
    signalWorker("SIGKILL");
    await waitFor(() => !workerAlive(), { message: "the killed worker to be gone" });
    const killedAt = Date.now();

    const successor = new Worker(queue, effectTask, { pollIntervalMs: 250, logger: quiet });
    const events = recordEvents(successor);
    const running = successor.run();
    await waitFor(() => events.of("task:succeeded").length === 1, { timeoutMs: 15_000, message: "the successor's success" });
    const recoveredAfterMs = Date.now() - killedAt;
    await successor.shutdown();
    await running;

    // Not before the lease (3 × 1 s heartbeat) expired, and soon after it did.
    expect(recoveredAfterMs).toBeGreaterThan(1_500);
    expect(recoveredAfterMs).toBeLessThan(4_500);
    expect(events.of("task:succeeded")).toMatchObject([{ taskId: id, attempt: 2 }]);
    expect((await db.storage.taskGet({ taskId: id }))?.state).toBe("succeeded");
    const attempts = await db.storage.taskAttempts({ taskId: id });
    expect(attempts.map((attempt) => attempt.state)).toEqual(["failed", "succeeded"]);
    expect(attempts[0]?.errorMessage).toMatch(/lease/i);
    // The killed attempt's write died with its connection; only the successor's landed.
    expect(await listEffectKeys(db.pool)).toEqual([`${id}:2`]);
  });

  it("rejects the late completion of a worker paused past its lease and rolls back its writes", async () => {
    const queue = await Queue.builder<{ n: number }>().name("effects").storage(db.storage).build();
    const id = await queue.enqueue(effectTask, { n: 1 });
    await startChildWorker(1_500);
    await child!.waitForLine((line) => line === `started ${id} 1`);
    signalWorker("SIGSTOP");

    const successor = new Worker(queue, effectTask, { pollIntervalMs: 250, logger: quiet });
    const events = recordEvents(successor);
    const running = successor.run();
    await waitFor(() => events.of("task:succeeded").length === 1, { timeoutMs: 15_000, message: "the successor's success" });
    await successor.shutdown();
    await running;

    signalWorker("SIGCONT");
    await child!.waitForLine((line) => line === `task:lease-lost ${id} 1`, 15_000);
    expect(child!.lines.some((line) => line.startsWith(`task:succeeded ${id}`))).toBe(false);
    const stats = await effectStats(db.pool);
    expect(stats.rows).toBe(1);
    expect(await listEffectKeys(db.pool)).toEqual([`${id}:2`]);
    expect((await db.storage.taskGet({ taskId: id }))?.state).toBe("succeeded");
  });
});
