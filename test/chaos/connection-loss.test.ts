import { afterAll, describe, expect, it } from "vitest";
import { Queue } from "@underway/core";
import {
  countConnections,
  countTasksByState,
  createEffectsTable,
  createTestDatabase,
  effectStats,
  terminateConnections,
  type TestDatabase,
} from "@underway/queue-pg/testing";
import { waitFor } from "../support/source-process.js";
import { WORKER_APPLICATION_NAME, chaosTask, type ChaosInput } from "./support/chaos-task.js";
import { reportFigures, seconds } from "./support/figures.js";
import { killAll, startWorkerProcess, type WorkerProcess } from "./support/worker-processes.js";

const HEARTBEAT_MS = 500;

describe("pg_terminate_backend chaos", () => {
  let db: TestDatabase | undefined;
  const workers: WorkerProcess[] = [];

  afterAll(async () => {
    await killAll(workers);
    await db?.drop();
  });

  it("workers whose LISTEN connection is cut reconnect and still hear new work", async () => {
    db ??= await createTestDatabase({ poolSize: 4 });
    const queueName = "chaos-listener-cut";
    const queue = await Queue.builder<ChaosInput>().name(queueName).storage(db.storage).build();
    const task = chaosTask({ mode: "noop", heartbeatMs: HEARTBEAT_MS });
    // Polling is an hour away: only notifications can bring the new tasks in time.
    const environment = { DATABASE_URL: db.url, QUEUE_NAME: queueName, MODE: "noop", HEARTBEAT_MS: String(HEARTBEAT_MS), POLL_INTERVAL_MS: "3600000" };
    workers.push(...(await Promise.all([startWorkerProcess(environment), startWorkerProcess(environment)])));
    const database = db;
    const succeeded = async () => (await countTasksByState(database.pool, queueName)).byState.succeeded;

    await queue.enqueue(task, { n: 0 });
    await waitFor(async () => (await succeeded()) === 1, { timeoutMs: 10_000, message: "the first task, before any cut" });

    const cuts: number[] = [];
    const pickups: number[] = [];
    const listeners = { databaseName: database.name, listenersOnly: true };
    for (let round = 1; round <= 3; round += 1) {
      // A listener cut in the round before may still be reconnecting (its backoff): cut both.
      await waitFor(async () => (await countConnections(database.pool, listeners)) >= 2, { timeoutMs: 20_000, message: `both listeners connected before cut ${round}` });
      cuts.push(await terminateConnections(database.pool, listeners));
      const cutAt = Date.now();
      // Tasks enqueued while the listeners are down are announced to nobody; the reconnected
      // listener must catch up on its own. Enqueue now and once more a bit later.
      await queue.enqueue(task, { n: round * 10 });
      await waitFor(async () => (await succeeded()) === 1 + (round - 1) * 2 + 1, { timeoutMs: 20_000, message: `the task enqueued during cut ${round}` });
      pickups.push(Date.now() - cutAt);
      const enqueuedAt = Date.now();
      await queue.enqueue(task, { n: round * 10 + 1 });
      await waitFor(async () => (await succeeded()) === 1 + round * 2, { timeoutMs: 20_000, message: `the task enqueued after cut ${round}` });
      pickups.push(Date.now() - enqueuedAt);
    }
    const counts = await countTasksByState(database.pool, queueName);
    reportFigures("listener-cut", {
      cuts: cuts.length,
      listeners_terminated: cuts.reduce((sum, count) => sum + count, 0),
      tasks: counts.total,
      lost: counts.total - counts.byState.succeeded,
      worst_pickup: seconds(Math.max(...pickups)),
      poll_interval: "3600s",
    });
    // Two processes, each with its one listening connection, cut three times.
    expect(cuts.every((count) => count >= 2)).toBe(true);
    expect(counts).toMatchObject({ total: 7, byState: { succeeded: 7 } });
    expect(Math.max(...pickups)).toBeLessThan(20_000);
  });

  it("drains 3 000 tasks exactly once while every executing connection is terminated, three times", async () => {
    db ??= await createTestDatabase({ poolSize: 4 });
    await createEffectsTable(db.pool);
    const queueName = "chaos-executing-cut";
    const tasks = 3_000;
    const queue = await Queue.builder<ChaosInput>().name(queueName).storage(db.storage).build();
    const task = chaosTask({ mode: "effect", heartbeatMs: HEARTBEAT_MS });
    const environment = { DATABASE_URL: db.url, QUEUE_NAME: queueName, MODE: "effect", HEARTBEAT_MS: String(HEARTBEAT_MS), POLL_INTERVAL_MS: "250" };
    // The second worker runs its attempts in pipelined commit groups, cut mid-group too.
    const cutWorkers = await Promise.all([startWorkerProcess(environment), startWorkerProcess({ ...environment, GROUP_COMMIT: "5", GROUP_PIPELINE: "1" })]);
    workers.push(...cutWorkers);
    await queue.enqueueMany(task, Array.from({ length: tasks }, (_, n) => ({ n })));
    const database = db;
    const succeeded = async () => (await countTasksByState(database.pool, queueName)).byState.succeeded;

    let terminated = 0;
    const recoveries: number[] = [];
    for (let round = 1; round <= 3; round += 1) {
      const before = await waitFor(async () => {
        const count = await succeeded();
        return count >= (round * tasks) / 5 ? count : 0;
      }, { timeoutMs: 60_000, message: `progress before cut ${round}` });
      terminated += await terminateConnections(database.pool, { databaseName: database.name, applicationName: WORKER_APPLICATION_NAME });
      const cutAt = Date.now();
      await waitFor(async () => (await succeeded()) >= before + 100, { timeoutMs: 60_000, message: `progress after cut ${round}` });
      recoveries.push(Date.now() - cutAt);
    }
    await waitFor(async () => (await succeeded()) === tasks, { timeoutMs: 120_000, message: "every task to succeed" });

    const stats = await effectStats(db.pool);
    const counts = await countTasksByState(db.pool, queueName);
    const workerErrors = cutWorkers.reduce((sum, worker) => sum + worker.process.lines.filter((line) => line.startsWith("worker:error")).length, 0);
    reportFigures("executing-cut", {
      tasks,
      cuts: recoveries.length,
      connections_terminated: terminated,
      worker_errors_survived: workerErrors,
      duplicates: stats.duplicateKeys,
      lost: tasks - stats.distinctKeys,
      stuck: counts.total - counts.byState.succeeded,
      recover_max: seconds(Math.max(...recoveries)),
    });
    expect(terminated).toBeGreaterThanOrEqual(3);
    expect(cutWorkers.every((worker) => worker.process.child.exitCode === null)).toBe(true);
    expect(stats).toEqual({ rows: tasks, distinctKeys: tasks, duplicateKeys: 0 });
    expect(counts).toMatchObject({ total: tasks, byState: { succeeded: tasks } });
  });
});
