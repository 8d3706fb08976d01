import { afterAll, describe, expect, it } from "vitest";
import { Queue } from "@underway/core";
import { countTasksByState, createEffectsTable, createTestDatabase, effectStats, type TestDatabase } from "@underway/queue-pg/testing";
import { waitFor } from "../support/source-process.js";
import { chaosTask, type ChaosInput } from "./support/chaos-task.js";
import { reportFigures, seconds } from "./support/figures.js";
import { killAll, startWorkerProcess, type WorkerProcess } from "./support/worker-processes.js";

const HEARTBEAT_MS = 500;
const QUEUE_NAME = "chaos-long";
// From 3 to 12 heartbeats; the lease is 3 heartbeats, so all but the first outlive several leases.
const WORK_MS = [1_500, 2_000, 3_000, 4_000, 5_000, 6_000];

describe("Long tasks", () => {
  let db: TestDatabase | undefined;
  const workers: WorkerProcess[] = [];

  afterAll(async () => {
    await killAll(workers);
    await db?.drop();
  });

  it("keep their lease through heartbeats and are never reclaimed while alive, with a second worker waiting", async () => {
    db = await createTestDatabase({ poolSize: 4 });
    await createEffectsTable(db.pool);
    const queue = await Queue.builder<ChaosInput>().name(QUEUE_NAME).storage(db.storage).build();
    const task = chaosTask({ mode: "long", heartbeatMs: HEARTBEAT_MS });
    const environment = { DATABASE_URL: db.url, QUEUE_NAME, MODE: "long", HEARTBEAT_MS: String(HEARTBEAT_MS), CONCURRENCY: "3", EVENTS: "1", POLL_INTERVAL_MS: "100" };
    workers.push(...(await Promise.all([startWorkerProcess(environment), startWorkerProcess(environment)])));
    const started = Date.now();
    const ids = await queue.enqueueMany(task, WORK_MS.map((workMs, n) => ({ n, workMs })));
    await waitFor(async () => (await countTasksByState(db!.pool, QUEUE_NAME)).byState.succeeded === ids.length, {
      timeoutMs: 60_000,
      message: "every long task to succeed",
    });
    const elapsedMs = Date.now() - started;

    const lines = workers.flatMap((worker) => worker.process.lines);
    const leaseLosses = lines.filter((line) => line.startsWith("task:lease-lost ")).length;
    const reclaims = lines.filter((line) => line.startsWith("task:claimed ") && !line.endsWith(" 1")).length;
    const stats = await effectStats(db.pool);
    const counts = await countTasksByState(db.pool, QUEUE_NAME);
    reportFigures("long-tasks", {
      tasks: ids.length,
      heartbeat_ms: HEARTBEAT_MS,
      longest: seconds(Math.max(...WORK_MS)),
      max_attempts: counts.maxAttemptCount,
      reclaims,
      lease_losses: leaseLosses,
      duplicates: stats.duplicateKeys,
      elapsed: seconds(elapsedMs),
    });

    expect(counts.maxAttemptCount).toBe(1);
    expect(reclaims).toBe(0);
    expect(leaseLosses).toBe(0);
    expect(stats).toEqual({ rows: ids.length, distinctKeys: ids.length, duplicateKeys: 0 });
    for (const id of ids) {
      const record = await db.storage.taskGet({ taskId: id });
      expect(record).toMatchObject({ state: "succeeded", attemptCount: 1 });
      // The heartbeats kept the lease moving: the last one came well after the claim.
      expect(record!.lastHeartbeatAt!.getTime()).toBeGreaterThan(record!.lastAttemptAt!.getTime());
    }
  });
});
