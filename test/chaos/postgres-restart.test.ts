import { afterAll, describe, expect, it } from "vitest";
import pg from "pg";
import { Queue } from "@underway/core";
import { PgStorage, runMigrations } from "@underway/queue-pg";
import { countTasksByState, createEffectsTable, effectStats } from "@underway/queue-pg/testing";
import { startPrivatePostgres, type PrivatePostgres } from "../../packages/worker/test/support/private-postgres.js";
import { waitFor } from "../support/source-process.js";
import { chaosTask, type ChaosInput } from "./support/chaos-task.js";
import { reportFigures, seconds } from "./support/figures.js";
import { killAll, startWorkerProcess, type WorkerProcess } from "./support/worker-processes.js";

const TASKS = 4_000;
const RESTARTS = 2;
const HEARTBEAT_MS = 500;
const QUEUE_NAME = "chaos-restart";

// A private throwaway cluster: restarting the shared server would break every other suite.
describe("Postgres restart chaos", () => {
  let server: PrivatePostgres | undefined;
  let pool: pg.Pool | undefined;
  let storage: PgStorage | undefined;
  const workers: WorkerProcess[] = [];

  afterAll(async () => {
    await killAll(workers);
    await storage?.close().catch(() => undefined);
    await pool?.end().catch(() => undefined);
    server?.destroy();
  });

  it(`drains ${TASKS} tasks exactly once across ${RESTARTS} server restarts mid-drain`, async () => {
    server = await startPrivatePostgres();
    pool = new pg.Pool({ connectionString: server.url, max: 4, connectionTimeoutMillis: 5_000 });
    pool.on("error", () => undefined);
    await runMigrations(pool);
    await createEffectsTable(pool);
    storage = new PgStorage(pool);
    const queue = await Queue.builder<ChaosInput>().name(QUEUE_NAME).storage(storage).build();
    const task = chaosTask({ mode: "effect", heartbeatMs: HEARTBEAT_MS });
    await queue.enqueueMany(task, Array.from({ length: TASKS }, (_, n) => ({ n })));
    const environment = { DATABASE_URL: server.url, QUEUE_NAME, MODE: "effect", HEARTBEAT_MS: String(HEARTBEAT_MS), POLL_INTERVAL_MS: "250" };
    const started = Date.now();
    // The second worker runs its attempts in pipelined commit groups, restarted mid-group too.
    workers.push(...(await Promise.all([startWorkerProcess(environment), startWorkerProcess({ ...environment, GROUP_COMMIT: "5", GROUP_PIPELINE: "1" })])));

    const database = pool;
    // Reads during and right after a restart fail; they count as "not yet".
    const succeeded = async () => (await countTasksByState(database, QUEUE_NAME)).byState.succeeded;
    const recoveries: number[] = [];
    for (let restart = 1; restart <= RESTARTS; restart += 1) {
      const before = await waitFor(async () => {
        const count = await succeeded();
        return count >= (restart * TASKS) / (RESTARTS + 2) ? count : 0;
      }, { timeoutMs: 90_000, message: `progress before restart ${restart}` });
      const restartedAt = Date.now();
      server.restart();
      await waitFor(async () => (await succeeded()) >= before + 100, { timeoutMs: 90_000, intervalMs: 100, message: `progress after restart ${restart}` });
      recoveries.push(Date.now() - restartedAt);
    }
    await waitFor(async () => (await succeeded()) === TASKS, { timeoutMs: 120_000, intervalMs: 100, message: "every task to succeed" });
    const drainMs = Date.now() - started;

    const stats = await effectStats(pool);
    const counts = await countTasksByState(pool, QUEUE_NAME);
    reportFigures("postgres-restart", {
      tasks: TASKS,
      restarts: RESTARTS,
      effects: stats.rows,
      duplicates: stats.duplicateKeys,
      lost: TASKS - stats.distinctKeys,
      stuck: counts.total - counts.byState.succeeded,
      recover_max: seconds(Math.max(...recoveries)),
      drain: seconds(drainMs),
    });
    const exitedWorkers = workers
      .filter((worker) => worker.process.child.exitCode !== null)
      .map((worker) => `worker ${worker.pid} exited with code ${worker.process.child.exitCode}; last stdout: ${worker.process.lines.slice(-5).join(" | ")}; stderr: ${worker.process.stderrTail().slice(-3_000)}`);
    expect(workers.every((worker) => worker.process.child.exitCode === null), exitedWorkers.join("\n")).toBe(true);
    expect(stats).toEqual({ rows: TASKS, distinctKeys: TASKS, duplicateKeys: 0 });
    expect(counts).toMatchObject({ total: TASKS, byState: { succeeded: TASKS, in_progress: 0, pending: 0 } });
  });
});
