// result() and status() of a run with no visible rows: never enqueued, rolled back, not yet
// committed, or pruned after its TTL. A reader cannot tell these apart (rows of an open
// transaction are invisible too), so result() keeps waiting, bounded by its timeoutMs or signal,
// and status() reads "pending" with no steps (docs/jobs.md, "A run without rows").
import { newTaskId, TASK_DEFAULTS, TimeoutError, type TaskListParams } from "@underway/core";
import type { PgQueryable } from "@underway/queue-pg";
import { describe, expect, it, vi } from "vitest";
import { waitFor } from "../../../test/support/source-process.js";
import { Job, To, type EnqueuedJob, type JobHandle } from "../src/index.js";
import { useJobTestDatabase } from "./support/job-test-database.js";

const testDatabase = useJobTestDatabase();

let counter = 0;
/** A one-step job, on a queue of its own, whose result is twice its input. */
function doublingJob({ ttlMs = TASK_DEFAULTS.ttlMs } = {}) {
  return Job.builder<PgQueryable>()
    .step(async (_cx, { n }: { n: number }) => To.done(n * 2))
    .ttlMs(ttlMs)
    .name(`without-rows-${(counter += 1)}`)
    .storage(testDatabase.db.storage)
    .build();
}

/**
 * Starts `job`'s worker and scheduler. The worker never prunes (`pruneIntervalMs: 0`): the tests
 * prune runs of TTL 0 themselves, once they have read them; a worker's own prune, a second after
 * it starts, could take a run away before result() has seen it end.
 */
function start(job: { start: Job<unknown, PgQueryable, unknown, unknown>["start"] }): JobHandle {
  const handle = job.start({ worker: { pollIntervalMs: 1_000, pruneIntervalMs: 0 } });
  testDatabase.handles.push(handle);
  return handle;
}

/** What a run without rows looks like: result() times out, status() is pending with no steps. */
async function expectNoRows(run: EnqueuedJob<unknown, PgQueryable>): Promise<void> {
  await expect(run.result({ timeoutMs: 200 })).rejects.toSatisfy((error) => TimeoutError.isInstance(error) && error.timeoutMs === 200);
  await expect(run.status()).resolves.toEqual({ jobId: run.id, state: "pending", steps: [] });
}

describe("a run without rows", () => {
  it("of an id that was never enqueued: result() rejects with TimeoutError after timeoutMs, status() is pending", async () => {
    const job = await doublingJob();
    start(job);
    await expectNoRows(job.get(newTaskId()));
  });

  it("of an enqueue whose transaction rolled back: the same, although a worker is running", async () => {
    const job = await doublingJob();
    start(job);
    const client = await testDatabase.db.pool.connect();
    let run: EnqueuedJob<number, PgQueryable>;
    try {
      await client.query("begin");
      run = await job.enqueue({ n: 1 }, { tx: client });
      await client.query("rollback");
    } finally {
      client.release();
    }
    await expectNoRows(run);
  });

  it("of a finished run pruned after its TTL: the result is gone, and the run reads as one without rows", async () => {
    const job = await doublingJob({ ttlMs: 0 });
    const run = await job.enqueue({ n: 4 });
    start(job);
    await expect(run.result({ timeoutMs: 20_000 })).resolves.toBe(8);
    // The worker prunes on its own timer too; either way the run has no rows after this.
    await testDatabase.db.storage.taskPrune({ queueName: job.name });
    expect(await testDatabase.db.storage.taskList({ queueName: job.name, correlationId: run.id })).toEqual([]);
    await expectNoRows(run);
  });

  it("of a run whose last step was pruned before an earlier one: status() reads running, result() times out", async () => {
    const job = await Job.builder<PgQueryable>()
      .step(async (_cx, { n }: { n: number }) => To.next({ n }))
      .step(async (_cx, { n }: { n: number }) => To.done(n * 2))
      .ttlMs(0)
      .name(`without-rows-${(counter += 1)}`)
      .storage(testDatabase.db.storage)
      .build();
    const run = await job.enqueue({ n: 5 });
    start(job);
    await expect(run.result({ timeoutMs: 20_000 })).resolves.toBe(10);
    await testDatabase.db.storage.taskPrune({ queueName: job.name });
    // Only the first step is left, succeeded with To.next: the run's end is no longer known.
    const status = await run.status();
    expect([status.state, status.steps.map((step) => [step.stepIndex, step.state])]).toEqual(["running", [[0, "succeeded"]]]);
    await expect(run.result({ timeoutMs: 200 })).rejects.toSatisfy((error) => TimeoutError.isInstance(error));
  });

  it("stops waiting when the signal aborts, with the signal's reason", async () => {
    const job = await doublingJob();
    const controller = new AbortController();
    const waiting = job.get(newTaskId()).result({ signal: controller.signal });
    const reason = new Error("the caller gave up");
    controller.abort(reason);
    await expect(waiting).rejects.toBe(reason);
  });

  it("rejects at once, with the signal's reason, when the signal has already aborted", async () => {
    const job = await doublingJob();
    const reason = new Error("gave up before asking");
    await expect(job.get(newTaskId()).result({ signal: AbortSignal.abort(reason), timeoutMs: 20_000 })).rejects.toBe(reason);
  });

  it("resolves once the enqueuing transaction commits, when result() started before the commit", async () => {
    const job = await doublingJob();
    start(job);
    const taskList = vi.spyOn(testDatabase.db.storage, "taskList");
    const client = await testDatabase.db.pool.connect();
    try {
      await client.query("begin");
      const run = await job.enqueue({ n: 21 }, { tx: client });
      const waiting = run.result({ timeoutMs: 20_000 });
      // result() has looked for the run's rows and, the transaction being open, found none.
      const lookups = () =>
        taskList.mock.calls.flatMap(([params], index) => ((params as TaskListParams).correlationId === run.id ? [taskList.mock.results[index]!] : []));
      await waitFor(() => lookups().length > 0, { message: "result()'s first look for the run" });
      await expect(lookups()[0]!.value).resolves.toEqual([]);
      await client.query("commit");
      await expect(waiting).resolves.toBe(42);
    } finally {
      taskList.mockRestore();
      client.release();
    }
  });
});
