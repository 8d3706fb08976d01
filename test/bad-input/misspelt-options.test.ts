import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ConfigError, Queue, RetryPolicy, type Task } from "@underway/core";
import { MemoryStorage } from "@underway/core/testing";
import { Job, To } from "@underway/job";
import { openEmbeddedPostgres, PgStorage, runMigrations } from "@underway/queue-pg";
import { createTestDatabase, type TestDatabase } from "@underway/queue-pg/testing";
import { Scheduler, ZonedSchedule } from "@underway/scheduler";
import { gracefulShutdown, Worker } from "@underway/worker";
import { recordUnhandledRejections } from "./support/outcome.js";

const unhandledRejections = recordUnhandledRejections();
const noop: Task<unknown> = { execute: () => undefined };
const SOME_TASK_ID = "00000000-0000-7000-8000-000000000000";

/** Runs `call`, expecting a ConfigError that names the misspelt option `name`. */
async function expectMisspelt(call: () => unknown, name: string): Promise<void> {
  let thrown: unknown;
  try {
    await call();
  } catch (error) {
    thrown = error;
  }
  expect(thrown, `the option ${name}`).toBeInstanceOf(ConfigError);
  expect((thrown as Error).message).toContain(`has no option "${name}"`);
}

// A misspelt option (`delay` for `delayMs`) would otherwise be silently ignored: the call would
// succeed and do something else than asked.
describe("options of another name are refused with a ConfigError, before anything changes", () => {
  let storage: MemoryStorage;
  let queue: Queue<unknown, unknown>;
  let db: TestDatabase;

  beforeAll(async () => {
    storage = new MemoryStorage();
    queue = await Queue.builder().name("misspelt").storage(storage).build();
    db = await createTestDatabase({ poolSize: 2 });
  });

  afterAll(async () => {
    await db.drop();
    expect(unhandledRejections).toEqual([]);
  });

  const rows = async () => (await storage.taskList({ queueName: "misspelt" })).length;

  it("by the queue's calls, naming the options it has", async () => {
    await expect(queue.enqueue(noop, {}, { delay: 1_000 } as never)).rejects.toThrow(
      'enqueue() has no option "delay"; its options are tx, delayMs, correlationId',
    );
    await expectMisspelt(() => queue.enqueueMany(noop, [{}], { delayMS: 1_000 } as never), "delayMS");
    await expectMisspelt(() => queue.prepare(noop, {}, { tx: {} } as never), "tx");
    await expectMisspelt(() => queue.cancel(SOME_TASK_ID, { transaction: {} } as never), "transaction");
    await expectMisspelt(() => queue.retry(SOME_TASK_ID, { attempt: 3 } as never), "attempt");
    await expectMisspelt(() => queue.unschedule({ trx: {} } as never), "trx");
    expect(await rows()).toBe(0);
    // The right names still work.
    await queue.enqueue(noop, {}, { delayMs: 1_000, correlationId: "c" });
    expect(await rows()).toBe(1);
  });

  it("in retry policies, whether given to a task or to new RetryPolicy", async () => {
    const before = await rows();
    await expectMisspelt(() => queue.enqueue({ ...noop, retryPolicy: { maxAttempt: 10 } as never }, {}), "maxAttempt");
    await expectMisspelt(() => new RetryPolicy({ initialInterval: 100 } as never), "initialInterval");
    await expectMisspelt(() => Job.builder().step(async () => To.done()).retryPolicy({ maxAttempt: 3 } as never), "maxAttempt");
    expect(await rows()).toBe(before);
  });

  it("by the worker, the scheduler and gracefulShutdown", async () => {
    await expectMisspelt(() => new Worker(queue, noop, { concurency: 5 } as never), "concurency");
    await expectMisspelt(() => new Scheduler(queue, noop, { missedFire: "skip" } as never), "missedFire");
    const notify = storage.notifyShutdown.bind(storage);
    let notified = 0;
    storage.notifyShutdown = async (params) => {
      notified += 1;
      await notify(params);
    };
    await expectMisspelt(() => gracefulShutdown(storage, { queues: "misspelt" } as never), "queues");
    expect(notified).toBe(0);
  });

  it("by jobs and their runs", async () => {
    const job = await Job.builder().step(async () => To.done("ok")).name("misspelt-job").storage(storage).build();
    await expectMisspelt(() => job.enqueue(undefined, { dedupe: "k" } as never), "dedupe");
    await expectMisspelt(() => job.enqueueAfter(undefined, 10, { dedupeKeys: "k" } as never), "dedupeKeys");
    await expectMisspelt(() => job.enqueueMany([undefined], { key: () => "k" } as never), "key");
    await expectMisspelt(() => job.start({ workers: { concurrency: 2 } } as never), "workers");
    await expectMisspelt(() => job.schedule(ZonedSchedule.parse("@daily[UTC]"), undefined, { task: noop } as never), "task");
    expect(await job.queue.getSchedule()).toBeNull();
    await expectMisspelt(() => job.start({ worker: { concurency: 2 } } as never), "concurency");
    expect(await storage.taskList({ queueName: "misspelt-job" })).toEqual([]);
    const run = job.get(SOME_TASK_ID);
    await expectMisspelt(() => run.result({ timeout: 10 } as never), "timeout");
    await expectMisspelt(() => run.retry({ attempt: 2 } as never), "attempt");
    const pending = await job.enqueue(undefined);
    await expectMisspelt(() => pending.cancel({ txx: {} } as never), "txx");
    await expect(pending.cancel(null as never)).rejects.toThrow(ConfigError);
    expect(await pending.status()).toMatchObject({ state: "pending" });
  });

  it("by the storages and the migrations", async () => {
    await expectMisspelt(() => new MemoryStorage({ clok: { now: () => new Date() } } as never), "clok");
    await expectMisspelt(() => new PgStorage(db.pool, { schemaName: "jobs" } as never), "schemaName");
    await expectMisspelt(() => openEmbeddedPostgres({ dataDr: "data" } as never), "dataDr");
    await expect(openEmbeddedPostgres({ dataDir: 42 } as never)).rejects.toThrow(ConfigError);
    await expectMisspelt(() => runMigrations(db.pool, { schemaName: "misspelt_schema" } as never), "schemaName");
    const schemas = await db.pool.query("select 1 from information_schema.schemata where schema_name = 'misspelt_schema'");
    expect(schemas.rowCount).toBe(0);
  });
});
