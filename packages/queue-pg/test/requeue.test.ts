import { Queue } from "@underway/core";
import { PgStorage, runMigrations } from "@underway/queue-pg";
import { createTestDatabase, type TestDatabase } from "@underway/queue-pg/testing";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { newTask, waitFor } from "./support/new-task.js";

let database: TestDatabase;
beforeAll(async () => {
  database = await createTestDatabase({ poolSize: 25 });
});
afterAll(() => database?.drop());


/** Enqueues tasks into `queueName`, then claims and fails each for good. */
async function failForGood(storage: PgStorage, queueName: string, tasks: ReturnType<typeof newTask>[]): Promise<void> {
  await storage.taskEnqueue({ queueName, tasks });
  const claimed = await storage.taskClaim({ queueName, limit: tasks.length });
  expect(claimed).toHaveLength(tasks.length);
  for (const task of claimed) {
    await storage.taskFail({ queueName, taskId: task.id, attempt: task.attempt, errorMessage: "broken" });
  }
}

/** Runs `requeue` on 20 connections held at once, so the statements really run side by side. */
async function onTwentyConnections(requeue: (storage: PgStorage, index: number) => Promise<boolean>): Promise<boolean[]> {
  const clients = await Promise.all(Array.from({ length: 20 }, () => database.pool.connect()));
  clients.forEach((client) => client.release());
  return Promise.all(Array.from({ length: 20 }, (_, index) => requeue(new PgStorage(database.pool), index)));
}

/** Resolves once the backend `pid` waits on a lock: its statement is blocked by another transaction. */
async function waitForLockWait(pid: number): Promise<void> {
  await waitFor(async () => {
    const { rows } = await database.pool.query("select wait_event_type from pg_stat_activity where pid = $1", [pid]);
    return rows[0]?.wait_event_type === "Lock";
  }, `backend ${pid} waiting on a lock`);
}

describe("requeue on Postgres", () => {
  it("requeues a dead-lettered task once when 20 connections ask at the same time", async () => {
    const queue = await Queue.builder<{ n: number }>().name("requeue-race").deadLetterQueue("requeue-race-dlq").storage(database.storage).build();
    const task = newTask({ n: 1 });
    await failForGood(database.storage, queue.name, [task]);
    const outcomes = await onTwentyConnections((storage) => storage.taskRequeue({ queueName: queue.name, taskId: task.id, attempts: 1, delayMs: 0 }));
    expect(outcomes.filter(Boolean)).toHaveLength(1);
    expect(await queue.getTask(task.id)).toMatchObject({ state: "pending", queueName: queue.name, retryPolicy: { maxAttempts: 2 } });
    const [claimed] = await database.storage.taskClaim({ queueName: queue.name, limit: 10 });
    expect([claimed!.id, claimed!.attempt]).toEqual([task.id, 2]);
  });

  it("requeues one of 20 failed tasks that share a dedupe key, racing, and refuses the others without an error", async () => {
    const queueName = "requeue-dedupe-race";
    await database.storage.queueUpsert({ queueName });
    const tasks = Array.from({ length: 20 }, (_, n) => newTask({ n }, { dedupeKey: "invoice-9" }));
    // One at a time: each must be live alone before it fails.
    for (const task of tasks) await failForGood(database.storage, queueName, [task]);
    const outcomes = await onTwentyConnections((storage, index) =>
      storage.taskRequeue({ queueName, taskId: tasks[index]!.id, attempts: 1, delayMs: 0 }),
    );
    expect(outcomes.filter(Boolean)).toHaveLength(1);
    const states = await database.pool.query(`select state::text, count(*)::int from underway.task where task_queue_name = $1 group by 1 order by 1`, [queueName]);
    expect(states.rows).toEqual([
      { state: "failed", count: 19 },
      { state: "pending", count: 1 },
    ]);
  });

  it("inside the caller's transaction, refuses a requeue that a task of its dedupe key, live meanwhile, stops, and leaves the transaction usable", async () => {
    const queueName = "requeue-in-transaction-race";
    await database.storage.queueUpsert({ queueName });
    const failed = newTask({ n: 1 }, { dedupeKey: "invoice-12" });
    await failForGood(database.storage, queueName, [failed]);

    const enqueuer = await database.pool.connect();
    const requeuer = await database.pool.connect();
    try {
      // A task of the same key, written but not yet committed: the requeue cannot see it, and the
      // unique index on live keys makes the requeue wait for its transaction.
      await enqueuer.query("begin");
      const rival = newTask({ n: 2 }, { dedupeKey: "invoice-12" });
      await database.storage.taskEnqueue({ queueName, tasks: [rival], tx: enqueuer });

      await requeuer.query("begin");
      const { rows } = await requeuer.query("select pg_backend_pid() as pid");
      await requeuer.query("create temporary table requeue_caller_work (note text) on commit drop");
      const requeued = database.storage.taskRequeue({ queueName, taskId: failed.id, attempts: 1, delayMs: 0, tx: requeuer });
      await waitForLockWait(rows[0].pid);
      await enqueuer.query("commit");

      expect(await requeued).toBe(false);
      // The caller's transaction goes on: its own work before and after the requeue commits.
      await requeuer.query("insert into requeue_caller_work values ('after the requeue')");
      expect((await requeuer.query("select count(*)::int as n from requeue_caller_work")).rows).toEqual([{ n: 1 }]);
      await requeuer.query("commit");
    } finally {
      await enqueuer.query("rollback").catch(() => undefined);
      await requeuer.query("rollback").catch(() => undefined);
      enqueuer.release();
      requeuer.release();
    }
    const states = await database.pool.query(`select id::text, state::text from underway.task where task_queue_name = $1 order by state`, [queueName]);
    expect(states.rows).toEqual([
      { id: failed.id, state: "failed" },
      { id: expect.any(String), state: "pending" },
    ]);
  });

  it("keeps tasks dead-lettered before the queue they failed in was recorded: they count as failed in the dead-letter queue", async () => {
    const schema = "requeue_upgrade";
    await runMigrations(database.pool, { schema });
    await database.pool.query(`alter table ${schema}.task drop column dead_lettered_from; delete from ${schema}.underway_migrations where version >= 4`);
    const before = new PgStorage(database.pool, { schema });
    await before.queueUpsert({ queueName: "orders", deadLetterQueueName: "orders-dlq" });
    const task = newTask({ n: 2 });
    await before.taskEnqueue({ queueName: "orders", tasks: [task] });
    // Failed and moved as the earlier schema's statements did it: no record of where it came from.
    await database.pool.query(
      `update ${schema}.task set state = 'failed', task_queue_name = 'orders-dlq', attempt_count = 1, current_attempt = 1,
         last_attempt_at = now(), completed_at = now() where id = $1;`,
      [task.id],
    );
    await database.pool.query(
      `insert into ${schema}.task_attempt (task_id, task_queue_name, attempt_number, state, error_message, started_at, updated_at, completed_at)
       values ($1, 'orders-dlq', 1, 'failed', 'broken', now(), now(), now())`,
      [task.id],
    );

    expect(await runMigrations(database.pool, { schema })).toBe(1);
    const storage = new PgStorage(database.pool, { schema });
    expect(await storage.taskGet({ taskId: task.id })).toMatchObject({ state: "failed", queueName: "orders-dlq", deadLetteredFrom: null });
    expect(await storage.taskRequeue({ queueName: "orders", taskId: task.id, attempts: 1, delayMs: 0 })).toBe(false);
    expect(await storage.taskRequeue({ queueName: "orders-dlq", taskId: task.id, attempts: 1, delayMs: 0 })).toBe(true);
    expect(await storage.taskGet({ taskId: task.id })).toMatchObject({ state: "pending", queueName: "orders-dlq" });
    await database.pool.query(`drop schema ${schema} cascade`);
  });
});
