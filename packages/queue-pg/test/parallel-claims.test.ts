import { PgStorage } from "@underway/queue-pg";
import { createTestDatabase, type TestDatabase } from "@underway/queue-pg/testing";
import { afterAll, beforeAll, expect, it } from "vitest";
import { newTask, waitFor } from "./support/new-task.js";

let database: TestDatabase;
beforeAll(async () => {
  database = await createTestDatabase({ poolSize: 55 });
});
afterAll(() => database?.drop());

it("hands each of 1 000 tasks to exactly one of 50 claimers on separate connections", async () => {
  const tasks = Array.from({ length: 1_000 }, (_, index) => newTask({ index }));
  await database.storage.taskEnqueue({ queueName: "parallel", tasks });
  // Hold 50 connections at once so every claimer's statements really run side by side.
  const clients = await Promise.all(Array.from({ length: 50 }, () => database.pool.connect()));
  clients.forEach((client) => client.release());
  const claimers = Array.from({ length: 50 }, () => new PgStorage(database.pool));
  const perClaimer = await Promise.all(
    claimers.map(async (claimer) => {
      const mine: string[] = [];
      for (;;) {
        const batch = await claimer.taskClaim({ queueName: "parallel", limit: 5 });
        if (batch.length === 0) return mine;
        mine.push(...batch.map((task) => task.id));
      }
    }),
  );
  const claimed = perClaimer.flat();
  expect(claimed).toHaveLength(1_000);
  expect(new Set(claimed).size).toBe(1_000);
  expect(perClaimer.filter((ids) => ids.length > 0).length).toBeGreaterThan(10);
  const counts = await database.pool.query(
    `select count(*)::int as attempts, count(distinct task_id)::int as tasks,
            (select count(*)::int from underway.task where state = 'in_progress' and attempt_count = 1) as running
     from underway.task_attempt_history where task_queue_name = 'parallel'`,
  );
  expect(counts.rows[0]).toEqual({ attempts: 1_000, tasks: 1_000, running: 1_000 });
});

it("claims again when a parallel claimer took another task of the same concurrency key first, and never runs two", async () => {
  const queueName = "key-race";
  const { storage, pool } = database;
  await storage.queueUpsert({ queueName });
  const first = newTask({ order: 1 }, { concurrencyKey: "account-1" });
  await storage.taskEnqueue({ queueName, tasks: [first] });
  // Another claimer has taken `first` and not committed yet.
  const other = await pool.connect();
  try {
    await other.query("begin");
    await other.query(
      `update underway.task set state = 'in_progress', attempt_count = 1, current_attempt = 1,
         lease_expires_at = now() + interval '1 minute' where id = $1`,
      [first.id],
    );
    // A task of the same key that goes before it arrives; to the next claim the key looks free.
    const urgent = newTask({ order: 2 }, { concurrencyKey: "account-1", priority: 10 });
    await storage.taskEnqueue({ queueName, tasks: [urgent] });
    const outcome = storage.taskClaim({ queueName, limit: 10 }).then(
      (claimed) => ({ claimed }),
      (error: unknown) => ({ error }),
    );
    // The claim took `urgent` and waits on the unique index of running keys for the other claimer.
    await waitFor(async () => {
      const waiting = await pool.query(
        `select count(*)::int as n from pg_stat_activity
         where datname = current_database() and wait_event_type = 'Lock' and wait_event = 'transactionid'`,
      );
      return waiting.rows[0].n === 1;
    }, "the claim waiting on the other claimer's key");
    await other.query("commit");
    expect(await outcome).toEqual({ claimed: [] });
    const rows = await pool.query(`select id, state from underway.task where task_queue_name = $1 order by priority`, [queueName]);
    expect(rows.rows).toEqual([
      { id: first.id, state: "in_progress" },
      { id: urgent.id, state: "pending" },
    ]);
  } finally {
    other.release();
  }
});
