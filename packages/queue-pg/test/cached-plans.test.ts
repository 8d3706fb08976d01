import type { ClaimedTask } from "@underway/core";
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

/**
 * The statements prepared on the pool's connection whose text matches `pattern`, each with the plan
 * Postgres cached for it (or makes for `queueName`, where it plans each run afresh).
 */
async function cachedPlans(pattern: string, queueName = "cached-plans", on: TestDatabase = database): Promise<Array<{ statement: string; plan: string }>> {
  const client = await on.pool.connect();
  try {
    const prepared = await client.query("select name, statement, parameter_types::text[] as types from pg_prepared_statements where statement like $1", [pattern]);
    const plans: Array<{ statement: string; plan: string }> = [];
    for (const { name, statement, types } of prepared.rows as Array<{ name: string; statement: string; types: string[] }>) {
      const values = types.map((type) => (type === "text" ? `'${queueName}'` : "null"));
      const plan = await client.query(`explain execute ${name}(${values.join(", ")})`);
      plans.push({ statement, plan: plan.rows.map((row) => row["QUERY PLAN"]).join("\n") });
    }
    return plans;
  } finally {
    client.release();
  }
}

/** A completion statement: it joins the completions given to the tasks they name. */
function isCompletion(statement: string): boolean {
  return statement.includes("from completion c");
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
  for (const { statement, plan } of plans) {
    if (!isCompletion(statement)) expect(plan).not.toMatch(/Seq Scan on task(_attempt)?\b/);
  }
  // A completion joins its completions to their tasks by id, and on a small table the cheapest way
  // is to read the table whole. Postgres makes the plan again once the table has been analyzed
  // (autovacuum's work), and then finds each task by its key.
  await database.pool.query("analyze underway.task");
  const completions = (await cachedPlans("%underway%.task%")).filter(({ statement }) => isCompletion(statement));
  expect(completions.length).toBeGreaterThanOrEqual(2);
  for (const { plan } of completions) expect(plan).not.toMatch(/Seq Scan on task(_attempt)?\b/);
});

it("finds a running task by its id without reading the other running tasks, with statistics taken while none ran", async () => {
  const storage = new PgStorage(database.pool);
  const queueName = "many-running";
  for (let chunk = 0; chunk < 4; chunk += 1) {
    await storage.taskEnqueue({ queueName, tasks: Array.from({ length: 500 }, (_, n) => newTask({ chunk, n })) });
  }
  // The statistics now say that no task runs; then 2,000 start.
  await database.pool.query("analyze underway.task");
  const running: ClaimedTask[] = [];
  for (let claim = 0; claim < 4; claim += 1) running.push(...(await storage.taskClaim({ queueName, limit: 500, reclaimExpired: false })));
  expect(running).toHaveLength(2_000);
  // Past the five runs after which Postgres keeps a statement's generic plan.
  for (let round = 0; round < 8; round += 1) {
    const [beat, retried, failed, completed, ...acknowledged] = running.splice(0, 6);
    const ref = (task: ClaimedTask) => ({ queueName, taskId: task.id, attempt: task.attempt });
    await storage.taskHeartbeat(ref(beat!));
    await storage.taskRetry({ ...ref(retried!), delayMs: 60_000, errorMessage: "later" });
    await storage.taskFail({ ...ref(failed!), errorMessage: "for good" });
    await storage.taskComplete({ ...ref(completed!), output: null });
    await storage.taskCompleteMany({ attempts: acknowledged.map((task) => ({ ...ref(task), output: null })) });
  }
  const lookups = await cachedPlans("%underway%.task t%");
  const byId = lookups.filter(({ statement }) => isCompletion(statement) || statement.includes("t.id = $3::uuid"));
  expect(byId.length).toBeGreaterThanOrEqual(4);
  // The partial index of running tasks looks empty to the planner here; reading it would visit
  // every running task of the queue for each one looked up.
  for (const { plan } of byId) expect(plan).not.toMatch(/task_lease_expiry_idx/);
});

it("claims hundreds of tasks by fetching their rows, not by reading the whole table, where it is small enough to read", async () => {
  // A database of its own: the table holds these tasks alone.
  const own = await createTestDatabase({ poolSize: 1 });
  try {
    await claimHundreds(own);
  } finally {
    await own.drop();
  }
});

async function claimHundreds(own: TestDatabase): Promise<void> {
  const storage = new PgStorage(own.pool);
  const queueName = "claims-of-hundreds";
  for (let chunk = 0; chunk < 20; chunk += 1) {
    await storage.taskEnqueue({ queueName, tasks: Array.from({ length: 1_000 }, (_, n) => newTask({ chunk, n })) });
  }
  // 20,000 tasks, with statistics: the planner costs one sequential scan of this table below
  // fetching 500 rows one by one.
  await own.pool.query("analyze underway.task");
  // Past the five runs after which Postgres keeps a statement's generic plan, with and without the
  // lease-expiry work.
  for (let round = 0; round < 7; round += 1) {
    for (const reclaimExpired of [false, true]) {
      const claimed = await storage.taskClaim({ queueName, limit: 500, reclaimExpired });
      expect(claimed).toHaveLength(500);
    }
  }
  // The claims of 500 (a claim's limit is part of its text).
  const claims = (await cachedPlans("%for update skip locked%", queueName, own)).filter(({ statement }) => statement.includes("claimed as") && statement.includes("limit 500"));
  expect(claims).toHaveLength(2);
  for (const { plan } of claims) {
    expect(plan).toMatch(/Tid Scan on task/);
    expect(plan).not.toMatch(/Seq Scan on task\b/);
  }
}
