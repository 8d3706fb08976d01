import { PgStorage } from "@underway/queue-pg";
import { createTestDatabase, type TestDatabase } from "@underway/queue-pg/testing";
import { afterAll, beforeAll, expect, it } from "vitest";
import { newTask } from "./support/new-task.js";

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
