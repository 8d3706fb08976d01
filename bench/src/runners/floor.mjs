// The SQL floors: what Postgres itself allows for each metric, with no library in the way. Each
// uses a task table shaped like a real queue's (uuid id, jsonb input, state, priority, run_at,
// attempt count, lease) with a partial index matching the claim order, and named (prepared)
// statements.
import { performance } from "node:perf_hooks";
import pg from "pg";
import { chunk, numberedInputs, runRunner, sampleLatency, timeSequentialCalls } from "../runner-main.mjs";
import { measureMachineCpu } from "../machine-cpu.mjs";

const queueName = "bench";

const schemaStatements = [
  `create table floor_task (
     id uuid primary key default gen_random_uuid(),
     queue_name text not null,
     input jsonb not null,
     state text not null default 'pending',
     priority integer not null default 0,
     run_at timestamptz not null default now(),
     created_at timestamptz not null default now(),
     attempt_count integer not null default 0,
     lease_expires_at timestamptz,
     completed_at timestamptz)`,
  "create index floor_task_claim on floor_task (queue_name, priority desc, run_at, created_at, id) where state = 'pending'",
  "create table bench_app_row (id bigserial primary key, task_number integer not null, created_at timestamptz not null default now())",
];

const insertOne = { name: "floor_insert_one", text: "insert into floor_task (queue_name, input) values ($1, $2)" };
const insertMany = {
  name: "floor_insert_many",
  text: "insert into floor_task (queue_name, input) select $1, unnest($2::jsonb[])",
};
// The claim every queue on Postgres makes: SKIP LOCKED lets concurrent claimers pass over each
// other's rows instead of queueing on them, and the order matches floor_task_claim exactly.
const claimText = (limit) => `
  update floor_task set state = 'in_progress', attempt_count = attempt_count + 1,
         lease_expires_at = now() + interval '90 seconds'
   where id in (select id from floor_task
                 where queue_name = $1 and state = 'pending' and run_at <= now()
                 order by priority desc, run_at, created_at, id
                 limit ${limit} for update skip locked)
  returning id, input`;
const claimOne = { name: "floor_claim_one", text: claimText("1") };
const claimBatch = { name: "floor_claim_batch", text: claimText("$2") };
const completeOne = {
  name: "floor_complete_one",
  text: "update floor_task set state = 'succeeded', completed_at = now() where id = $1 and state = 'in_progress'",
};
const completeBatch = {
  name: "floor_complete_batch",
  text: "update floor_task set state = 'succeeded', completed_at = now() where id = any($1::uuid[]) and state = 'in_progress'",
};
const insertAppRow = { name: "floor_insert_app_row", text: "insert into bench_app_row (task_number) values ($1)" };

async function openPool(params, max = 20) {
  const pool = new pg.Pool({ connectionString: params.databaseUrl, max });
  pool.on("error", () => {});
  for (const statement of schemaStatements) await pool.query(statement);
  return pool;
}

async function seed(pool, count) {
  for (const inputs of chunk(numberedInputs(count), 1000)) {
    await pool.query({ ...insertMany, values: [queueName, inputs.map((input) => JSON.stringify(input))] });
  }
}

async function countSucceeded(pool) {
  const { rows } = await pool.query("select count(*)::int as finished from floor_task where state = 'succeeded'");
  return rows[0].finished;
}

/**
 * Runs `loops` async loops of `body` until each reports an empty claim; returns the elapsed ms
 * and the machine's CPU over the drain (per task of `count`).
 */
async function timeLoops(loops, count, body) {
  const started = performance.now();
  const stopCpu = measureMachineCpu();
  await Promise.all(Array.from({ length: loops }, async () => {
    while (await body());
  }));
  return { elapsedMs: performance.now() - started, machineCpu: stopCpu(count) };
}

function throughput(count, elapsedMs) {
  return (count / elapsedMs) * 1000;
}

const metrics = {
  async "enqueue-single"(params) {
    const pool = await openPool(params);
    const client = await pool.connect();
    const elapsedMs = await timeSequentialCalls({
      count: params.count,
      warmUp: params.warmUp,
      call: (n) => client.query({ ...insertOne, values: [queueName, JSON.stringify({ n })] }),
    });
    client.release();
    await pool.end();
    return { value: throughput(params.count, elapsedMs), unit: "tasks/s", count: params.count, settings: { statement: "one-row INSERT per task, one connection, sequential", warmUp: params.warmUp } };
  },

  async "enqueue-batch"(params) {
    const pool = await openPool(params);
    const batches = chunk(numberedInputs(params.count + params.warmUpCalls * params.batchSize), params.batchSize).map((inputs) => inputs.map((input) => JSON.stringify(input)));
    const elapsedMs = await timeSequentialCalls({ count: params.count / params.batchSize, warmUp: params.warmUpCalls, call: (n) => pool.query({ ...insertMany, values: [queueName, batches[n]] }) });
    await pool.end();
    return { value: throughput(params.count, elapsedMs), unit: "tasks/s", count: params.count, settings: { statement: `INSERT ... SELECT unnest($2::jsonb[]), ${params.batchSize} rows per statement, sequential`, warmUpCalls: params.warmUpCalls } };
  },

  async "enqueue-one-call"(params) {
    const pool = await openPool(params);
    const batches = chunk(numberedInputs(params.count), 1000).map((inputs) => inputs.map((input) => JSON.stringify(input)));
    const started = performance.now();
    for (const batch of batches) await pool.query({ ...insertMany, values: [queueName, batch] });
    const elapsedMs = performance.now() - started;
    await pool.end();
    return { value: throughput(params.count, elapsedMs), unit: "tasks/s", count: params.count, settings: { statement: "INSERT ... SELECT unnest(...) per 1,000 rows, sequential" } };
  },

  async "drain-default"(params) {
    const pool = await openPool(params);
    await seed(pool, params.count);
    const loops = params.concurrency;
    const { elapsedMs, machineCpu } = await timeLoops(loops, params.count, async () => {
      const { rows } = await pool.query({ ...claimOne, values: [queueName] });
      if (rows.length === 0) return false;
      await pool.query({ ...completeOne, values: [rows[0].id] });
      return true;
    });
    const finished = await countSucceeded(pool);
    await pool.end();
    if (finished !== params.count) throw new Error(`drained ${finished} of ${params.count}`);
    return { value: throughput(params.count, elapsedMs), unit: "tasks/s", count: params.count, settings: { loops, statement: "claim 1 (SKIP LOCKED) + complete 1, autocommit, per loop" }, extra: { machineCpu } };
  },

  async "drain-best"(params) {
    const pool = await openPool(params);
    await seed(pool, params.count);
    const loops = params.floorLoops;
    const batchSize = params.floorBatchSize;
    const { elapsedMs, machineCpu } = await timeLoops(loops, params.count, async () => {
      const { rows } = await pool.query({ ...claimBatch, values: [queueName, batchSize] });
      if (rows.length === 0) return false;
      await pool.query({ ...completeBatch, values: [rows.map((row) => row.id)] });
      return true;
    });
    const finished = await countSucceeded(pool);
    await pool.end();
    if (finished !== params.count) throw new Error(`drained ${finished} of ${params.count}`);
    return { value: throughput(params.count, elapsedMs), unit: "tasks/s", count: params.count, settings: { loops, batchSize, statement: `claim ${batchSize} + complete ${batchSize} per statement, no attempt rows` }, extra: { machineCpu } };
  },

  async "drain-app-row"(params) {
    const pool = await openPool(params);
    await seed(pool, params.count);
    const loops = params.concurrency;
    const { elapsedMs, machineCpu } = await timeLoops(loops, params.count, async () => {
      const client = await pool.connect();
      try {
        await client.query("begin");
        const { rows } = await client.query({ ...claimOne, values: [queueName] });
        if (rows.length === 0) {
          await client.query("commit");
          return false;
        }
        await client.query({ ...insertAppRow, values: [rows[0].input.n] });
        await client.query({ ...completeOne, values: [rows[0].id] });
        await client.query("commit");
        return true;
      } finally {
        client.release();
      }
    });
    const finished = await countSucceeded(pool);
    const { rows } = await pool.query("select count(*)::int as written from bench_app_row");
    await pool.end();
    if (finished !== params.count || rows[0].written !== params.count) throw new Error(`drained ${finished}, wrote ${rows[0].written} of ${params.count}`);
    return { value: throughput(params.count, elapsedMs), unit: "tasks/s", count: params.count, settings: { loops, statement: "BEGIN; claim 1; insert app row; complete; COMMIT, per task" }, extra: { machineCpu } };
  },

  async latency(params) {
    const pool = await openPool(params, 4);
    const listener = await pool.connect();
    const claimer = await pool.connect();
    await listener.query("listen floor_wakeup");
    let wake;
    listener.on("notification", () => wake?.());
    const latency = await sampleLatency({
      samples: params.samples,
      gapMs: params.gapMs,
      measureOne: async (round) => {
        const woken = new Promise((resolve) => (wake = resolve));
        const started = performance.now();
        await pool.query({
          name: "floor_insert_notify",
          text: "with inserted as (insert into floor_task (queue_name, input) values ($1, $2) returning id) select pg_notify('floor_wakeup', id::text) from inserted",
          values: [queueName, JSON.stringify({ n: round })],
        });
        await woken;
        const { rows } = await claimer.query({ ...claimOne, values: [queueName] });
        const elapsed = performance.now() - started;
        if (rows.length !== 1) throw new Error("the notified task was not claimable");
        await claimer.query({ ...completeOne, values: [rows[0].id] });
        return elapsed;
      },
    });
    listener.release();
    claimer.release();
    await pool.end();
    return { ...latency, settings: { path: "INSERT + pg_notify in one statement; LISTEN connection wakes a claimer; claim 1 (SKIP LOCKED)" } };
  },
};

await runRunner({ library: "floor", version: "SQL", metrics });
