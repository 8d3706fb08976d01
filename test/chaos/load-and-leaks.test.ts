import { afterAll, describe, expect, it } from "vitest";
import { Queue } from "@underway/core";
import { countTasksByState, createTestDatabase, taskTableTuples, vacuumTaskTable, type TestDatabase } from "@underway/queue-pg/testing";
import { waitFor } from "../support/source-process.js";
import { chaosTask, type ChaosInput } from "./support/chaos-task.js";
import { reportFigures, seconds } from "./support/figures.js";
import { killAll, startWorkerProcess, type WorkerProcess } from "./support/worker-processes.js";

const TASKS = 100_000;
const QUEUE_NAME = "chaos-load";
const MB = 1024 * 1024;

/** The latest RSS a worker process reported, in bytes. */
function latestRss(worker: WorkerProcess): number {
  const line = worker.process.lines.findLast((candidate) => candidate.startsWith("rss "));
  return line === undefined ? 0 : Number(line.split(" ")[1]);
}

describe("Load and leaks", () => {
  let db: TestDatabase | undefined;
  const workers: WorkerProcess[] = [];

  afterAll(async () => {
    await killAll(workers);
    await db?.drop();
  });

  it(`drains ${TASKS} tasks through 2 worker processes with flat memory, and VACUUM reclaims the dead tuples`, async () => {
    db = await createTestDatabase({ poolSize: 4 });
    const queue = await Queue.builder<ChaosInput>().name(QUEUE_NAME).storage(db.storage).build();
    const task = chaosTask({ mode: "noop", heartbeatMs: 5_000 });
    const enqueueStarted = Date.now();
    for (let start = 0; start < TASKS; start += 5_000) {
      await queue.enqueueMany(task, Array.from({ length: 5_000 }, (_, offset) => ({ n: start + offset })));
    }
    const enqueueMs = Date.now() - enqueueStarted;

    const environment = { DATABASE_URL: db.url, QUEUE_NAME, MODE: "noop", HEARTBEAT_MS: "5000", CONCURRENCY: "50", RSS_EVERY_MS: "200", POLL_INTERVAL_MS: "1000" };
    const drainStarted = Date.now();
    workers.push(...(await Promise.all([startWorkerProcess(environment), startWorkerProcess(environment)])));
    const database = db;
    const rssAt: Record<string, number[]> = {};
    for (const percent of [10, 50, 100]) {
      await waitFor(async () => (await countTasksByState(database.pool, QUEUE_NAME)).byState.succeeded >= (TASKS * percent) / 100, {
        timeoutMs: 300_000,
        intervalMs: 100,
        message: `${percent} % of the tasks to succeed`,
      });
      // The next RSS report after the milestone, from each process.
      const reportsSoFar = workers.map((worker) => worker.process.lines.length);
      await waitFor(() => workers.every((worker, index) => worker.process.lines.length > reportsSoFar[index]! && latestRss(worker) > 0), {
        message: "fresh memory reports",
      });
      rssAt[`${percent}%`] = workers.map(latestRss);
    }
    const drainMs = Date.now() - drainStarted;
    const counts = await countTasksByState(db.pool, QUEUE_NAME);

    // Statistics trail the writes; wait until they show the drain's dead row versions.
    const before = await waitFor(async () => {
      const tuples = await taskTableTuples(database.pool);
      return tuples.deadTuples >= TASKS / 2 ? tuples : undefined;
    }, { timeoutMs: 30_000, intervalMs: 250, message: "the drain's dead tuples to show in pg_stat_user_tables" });
    await vacuumTaskTable(db.pool);
    const after = await waitFor(async () => {
      const tuples = await taskTableTuples(database.pool);
      return tuples.deadTuples < before.deadTuples / 100 ? tuples : undefined;
    }, { timeoutMs: 30_000, intervalMs: 250, message: "VACUUM to reclaim the dead tuples" });

    const formatRss = (values: number[]) => values.map((value) => `${Math.round(value / MB)}MB`).join("/");
    reportFigures("load-and-leaks", {
      tasks: TASKS,
      processes: workers.length,
      enqueue: seconds(enqueueMs),
      drain: seconds(drainMs),
      drain_rate: `${Math.round(TASKS / (drainMs / 1000))}/s`,
      rss_10: formatRss(rssAt["10%"]!),
      rss_50: formatRss(rssAt["50%"]!),
      rss_100: formatRss(rssAt["100%"]!),
      dead_tuples_before_vacuum: before.deadTuples,
      dead_tuples_after_vacuum: after.deadTuples,
      live_tuples: after.liveTuples,
      lost: TASKS - counts.byState.succeeded,
    });

    expect(counts).toMatchObject({ total: TASKS, maxAttemptCount: 1, byState: { succeeded: TASKS } });
    // Flat after warm-up: from 10 % to 100 % of the drain, no process grows by more than half
    // its warmed-up size or 100 MB, whichever is larger (a leak of one object per task would not fit).
    for (let index = 0; index < workers.length; index += 1) {
      const warm = rssAt["10%"]![index]!;
      const end = rssAt["100%"]![index]!;
      expect(end - warm).toBeLessThan(Math.max(warm * 0.5, 100 * MB));
    }
    expect(after.deadTuples).toBeLessThan(before.deadTuples / 100);
  });
});
