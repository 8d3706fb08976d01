import { afterAll, describe, expect, it } from "vitest";
import { Queue } from "@underway/core";
import { countTasksByState, createEffectsTable, createTestDatabase, effectStats, type TestDatabase } from "@underway/queue-pg/testing";
import { waitFor } from "../support/source-process.js";
import { chaosTask, type ChaosInput } from "./support/chaos-task.js";
import { reportFigures, seconds } from "./support/figures.js";
import { killAll, startWorkerProcess, type WorkerProcess } from "./support/worker-processes.js";

const TASKS = 10_000;
const WORKERS = 3;
const HEARTBEAT_MS = 500;
const QUEUE_NAME = "chaos-sigkill";

/** Task ids a worker process claimed and had not finished when its output stopped. */
function unfinishedClaims(worker: WorkerProcess): string[] {
  const open = new Set<string>();
  for (const line of worker.process.lines) {
    const [event, taskId] = line.split(" ");
    if (taskId === undefined) continue;
    if (event === "task:claimed") open.add(taskId);
    else if (event === "task:succeeded" || event === "task:failed" || event === "task:lease-lost" || event === "task:retry") open.delete(taskId);
  }
  return [...open];
}

describe("SIGKILL chaos", () => {
  let db: TestDatabase | undefined;
  const workers: Array<WorkerProcess | undefined> = [];
  const retired: WorkerProcess[] = [];

  afterAll(async () => {
    await killAll([...workers, ...retired]);
    await db?.drop();
  });

  it(`drains ${TASKS} tasks exactly once while a random one of ${WORKERS} worker processes is killed about every second`, async () => {
    db = await createTestDatabase({ poolSize: 4 });
    await createEffectsTable(db.pool);
    const queue = await Queue.builder<ChaosInput>().name(QUEUE_NAME).storage(db.storage).build();
    const task = chaosTask({ mode: "effect", heartbeatMs: HEARTBEAT_MS });
    for (let start = 0; start < TASKS; start += 2_000) {
      await queue.enqueueMany(task, Array.from({ length: 2_000 }, (_, offset) => ({ n: start + offset })));
    }
    const environment = { DATABASE_URL: db.url, QUEUE_NAME, MODE: "effect", HEARTBEAT_MS: String(HEARTBEAT_MS), CONCURRENCY: "10", EVENTS: "1" };
    // The first slot's worker commits in groups of 5 and the second in pipelined groups of 5, so
    // both kinds of group are killed mid-group too.
    const environmentFor = (slot: number) =>
      slot === 0 ? { ...environment, GROUP_COMMIT: "5" } : slot === 1 ? { ...environment, GROUP_COMMIT: "5", GROUP_PIPELINE: "1" } : environment;
    const started = Date.now();
    workers.push(...(await Promise.all(Array.from({ length: WORKERS }, (_, slot) => startWorkerProcess(environmentFor(slot))))));

    const database = db;
    const allSucceeded = async () => (await countTasksByState(database.pool, QUEUE_NAME)).byState.succeeded === TASKS;
    const recoveries: Array<Promise<number>> = [];
    let kills = 0;
    let orphanedTasks = 0;
    while (!(await allSucceeded())) {
      // Chaos pacing, not synchronisation: the next kill comes 0.75 to 1.25 s after the last one.
      await new Promise((resolve) => setTimeout(resolve, 750 + Math.random() * 500));
      if (await allSucceeded()) break;
      const running = workers.flatMap((worker, slot) => (worker ? [slot] : []));
      if (running.length === 0) continue;
      const slot = running[Math.floor(Math.random() * running.length)]!;
      const victim = workers[slot]!;
      workers[slot] = undefined;
      victim.signal("SIGKILL");
      const killedAt = Date.now();
      await victim.process.exited;
      kills += 1;
      retired.push(victim);
      const orphans = unfinishedClaims(victim);
      orphanedTasks += orphans.length;
      // Time to recover: until every task the victim held has succeeded elsewhere.
      recoveries.push(
        waitFor(async () => {
          const records = await Promise.all(orphans.map((taskId) => database.storage.taskGet({ taskId })));
          return records.every((record) => record?.state === "succeeded");
        }, { timeoutMs: 60_000, intervalMs: 50, message: `the tasks of killed worker ${victim.pid} to succeed elsewhere` }).then(() => Date.now() - killedAt),
      );
      void startWorkerProcess(environmentFor(slot)).then((replacement) => {
        workers[slot] = replacement;
      });
    }
    const drainMs = Date.now() - started;
    const recoveryTimes = (await Promise.all(recoveries)).sort((a, b) => a - b);
    await waitFor(() => workers.every((worker) => worker !== undefined), { timeoutMs: 60_000, message: "replacement workers to start" });

    const counts = await countTasksByState(db.pool, QUEUE_NAME);
    const stats = await effectStats(db.pool);
    const worstRecoveryMs = recoveryTimes.at(-1) ?? 0;
    reportFigures("sigkill", {
      tasks: TASKS,
      workers: WORKERS,
      kills,
      orphaned_in_flight: orphanedTasks,
      effects: stats.rows,
      duplicates: stats.duplicateKeys,
      lost: TASKS - stats.distinctKeys,
      stuck: counts.total - counts.byState.succeeded,
      recover_median: seconds(recoveryTimes[Math.floor(recoveryTimes.length / 2)] ?? 0),
      recover_max: seconds(worstRecoveryMs),
      drain: seconds(drainMs),
    });

    expect(kills).toBeGreaterThanOrEqual(3);
    expect(orphanedTasks).toBeGreaterThan(0);
    expect(counts).toMatchObject({ total: TASKS, byState: { succeeded: TASKS, pending: 0, in_progress: 0, failed: 0, cancelled: 0 } });
    expect(stats).toEqual({ rows: TASKS, distinctKeys: TASKS, duplicateKeys: 0 });
    // A killed worker's tasks come back once their lease (3 × 500 ms) expires, plus a poll.
    expect(worstRecoveryMs).toBeLessThan(15_000);
  });
});
