import { afterAll, describe, expect, it } from "vitest";
import { Queue } from "@underway/core";
import { countTasksByState, createEffectsTable, createTestDatabase, effectStats, listEffectKeys, type TestDatabase } from "@underway/queue-pg/testing";
import { waitFor } from "../support/source-process.js";
import { chaosTask, effectKey, type ChaosInput } from "./support/chaos-task.js";
import { reportFigures, seconds } from "./support/figures.js";
import { killAll, startWorkerProcess, type WorkerProcess } from "./support/worker-processes.js";

const TASKS = 5;
const HEARTBEAT_MS = 500;
const QUEUE_NAME = "chaos-sigstop";

describe("SIGSTOP / SIGCONT chaos", () => {
  let db: TestDatabase | undefined;
  const workers: WorkerProcess[] = [];

  afterAll(async () => {
    await killAll(workers);
    await db?.drop();
  });

  it("rejects the late writes of a worker paused past its lease; each task completes once elsewhere", async () => {
    db = await createTestDatabase({ poolSize: 4 });
    await createEffectsTable(db.pool);
    const queue = await Queue.builder<ChaosInput>().name(QUEUE_NAME).storage(db.storage).build();
    const task = chaosTask({ mode: "long", heartbeatMs: HEARTBEAT_MS });
    const base = { DATABASE_URL: db.url, QUEUE_NAME, MODE: "long", HEARTBEAT_MS: String(HEARTBEAT_MS), EVENTS: "1" };

    // The first worker takes every task and works on each for 3 s; it is frozen in the middle.
    const paused = await startWorkerProcess({ ...base, WORK_MS: "3000", CONCURRENCY: String(TASKS) });
    workers.push(paused);
    const ids = await queue.enqueueMany(task, Array.from({ length: TASKS }, (_, n) => ({ n })));
    await waitFor(() => ids.every((id) => paused.process.lines.includes(`task:claimed ${id} 1`)), { message: "the first worker to claim every task" });
    paused.signal("SIGSTOP");
    const stoppedAt = Date.now();

    // The second worker finishes at once; it can only claim after the frozen one's lease expired.
    const rescuer = await startWorkerProcess({ ...base, WORK_MS: "0", CONCURRENCY: String(TASKS) });
    workers.push(rescuer);
    await waitFor(async () => (await countTasksByState(db!.pool, QUEUE_NAME)).byState.succeeded === TASKS, {
      timeoutMs: 30_000,
      message: "the rescuer to complete every task",
    });
    const recoveredMs = Date.now() - stoppedAt;

    paused.signal("SIGCONT");
    await waitFor(() => ids.every((id) => paused.process.lines.includes(`task:lease-lost ${id} 1`)), {
      timeoutMs: 20_000,
      message: "the resumed worker to learn that it lost every lease",
    });
    const pausedMs = Date.now() - stoppedAt;
    const lateSuccesses = paused.process.lines.filter((line) => line.startsWith("task:succeeded ")).length;
    const stats = await effectStats(db.pool);
    const counts = await countTasksByState(db.pool, QUEUE_NAME);
    reportFigures("sigstop", {
      tasks: TASKS,
      paused: seconds(pausedMs),
      late_writes_rejected: ids.filter((id) => paused.process.lines.includes(`task:lease-lost ${id} 1`)).length,
      late_successes: lateSuccesses,
      duplicates: stats.duplicateKeys,
      lost: TASKS - stats.distinctKeys,
      recover: seconds(recoveredMs),
    });

    expect(lateSuccesses).toBe(0);
    expect(counts).toMatchObject({ total: TASKS, maxAttemptCount: 2, byState: { succeeded: TASKS } });
    // The frozen attempts' rows were rolled back with their transactions: one effect per task.
    expect(await listEffectKeys(db.pool)).toEqual(Array.from({ length: TASKS }, (_, n) => effectKey(n)).sort());
    for (const id of ids) {
      const attempts = await db.storage.taskAttempts({ taskId: id });
      expect(attempts.map((attempt) => attempt.state)).toEqual(["failed", "succeeded"]);
    }
    // Not before the lease (3 × heartbeat) ran out.
    expect(recoveredMs).toBeGreaterThan(3 * HEARTBEAT_MS);
  });
});
