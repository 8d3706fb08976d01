import { PgStorage } from "@underway/queue-pg";
import { createTestDatabase, type TestDatabase } from "@underway/queue-pg/testing";
import { afterAll, beforeAll, expect, it } from "vitest";
import { newTask } from "./support/new-task.js";

// One connection, so every statement below is prepared, and its plan cached, on that connection.
let database: TestDatabase;
beforeAll(async () => {
  database = await createTestDatabase({ poolSize: 1 });
});
afterAll(() => database?.drop());

/** The plans Postgres cached on the pool's connection for the prepared statements matching `pattern`. */
async function cachedPlans(pattern: string): Promise<string[]> {
  const client = await database.pool.connect();
  try {
    const prepared = await client.query("select name, parameter_types::text[] as types from pg_prepared_statements where statement like $1", [pattern]);
    const plans: string[] = [];
    for (const { name, types } of prepared.rows as Array<{ name: string; types: string[] }>) {
      const values = types.map((type) => (type === "text" ? "'cached-plans'" : "null"));
      const plan = await client.query(`explain execute ${name}(${values.join(", ")})`);
      plans.push(plan.rows.map((row) => row["QUERY PLAN"]).join("\n"));
    }
    return plans;
  } finally {
    client.release();
  }
}

it("keeps plans that do not scan the whole task table, though they were cached while it was small", async () => {
  const storage = new PgStorage(database.pool);
  const queueName = "cached-plans";
  // Past the five runs after which Postgres keeps a statement's generic plan, on a small table.
  for (let round = 0; round < 8; round += 1) {
    await storage.taskEnqueue({ queueName, tasks: [newTask({ round })] });
    for (const reclaimExpired of [false, true]) {
      const claimed = await storage.taskClaim({ queueName, limit: 10, reclaimExpired });
      if (claimed.length > 0) await storage.taskCompleteMany({ attempts: claimed.map((task) => ({ queueName, taskId: task.id, attempt: task.attempt, output: null })) });
    }
    const [task] = await storage.taskEnqueue({ queueName, tasks: [newTask({ round, retried: true })] });
    const [claimed] = await storage.taskClaim({ queueName, limit: 1, reclaimExpired: false });
    expect(claimed?.id).toBe(task!.id);
    await storage.taskHeartbeat({ queueName, taskId: claimed!.id, attempt: claimed!.attempt });
    await storage.taskRetry({ queueName, taskId: claimed!.id, attempt: claimed!.attempt, delayMs: 0, errorMessage: "once more" });
    const [again] = await storage.taskClaim({ queueName, limit: 1, reclaimExpired: false });
    await storage.taskFail({ queueName, taskId: again!.id, attempt: again!.attempt, errorMessage: "for good" });
    await storage.taskNextRunAt({ queueName });
    await storage.taskGet({ taskId: task!.id });
    await storage.taskAttempts({ taskId: task!.id });
    // Listing a whole queue reads every task of it by design; a job run's tasks are found by index.
    await storage.taskList({ queueName, correlationId: `run-${round}`, limit: 5 });
    await storage.taskCancel({ queueName, taskId: task!.id });
    await storage.taskCancel({ queueName, correlationId: `run-${round}` });
    await storage.taskPrune({ queueName });
    // Dedupe keys, and completions that write follow-ups.
    const keyed = newTask({ round }, { dedupeKey: `key-${round}` });
    await storage.taskEnqueue({ queueName, tasks: [keyed, newTask({ round }, { dedupeKey: `key-${round}` })] });
    const [parent] = await storage.taskClaim({ queueName, limit: 1, reclaimExpired: false });
    await storage.taskCompleteMany({
      attempts: [{ queueName, taskId: parent!.id, attempt: parent!.attempt, output: null, followUps: [{ queueName, task: newTask({ next: round }) }] }],
    });
    await storage.taskComplete({ queueName, taskId: (await storage.taskClaim({ queueName, limit: 1, reclaimExpired: false }))[0]!.id, attempt: 1, output: null, followUps: [{ queueName, task: newTask({ last: round }, { priority: 1 }) }] });
    for (const leftover of await storage.taskClaim({ queueName, limit: 10, reclaimExpired: false })) {
      await storage.taskCompleteMany({ attempts: [{ queueName, taskId: leftover.id, attempt: leftover.attempt, output: null }] });
    }
  }
  // Many finished tasks later, the cached plans are the ones every claim now runs.
  await database.pool.query(
    `insert into underway.task (id, task_queue_name, input, state, completed_at)
     select gen_random_uuid(), $1, '{}', 'succeeded', now() from generate_series(1, 5000)`,
    [queueName],
  );
  const claims = await cachedPlans("%for update skip locked%");
  expect(claims.length).toBeGreaterThanOrEqual(2);
  const plans = await cachedPlans("%underway%.task%");
  expect(plans.length).toBeGreaterThanOrEqual(claims.length + 10);
  for (const plan of plans) expect(plan).not.toMatch(/Seq Scan on task(_attempt)?\b/);
});
