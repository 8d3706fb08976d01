// pg-boss 12 through its public API: send / insert to enqueue, work() to process.
import { fileURLToPath } from "node:url";
import { performance } from "node:perf_hooks";
import pg from "pg";
import { PgBoss } from "pg-boss";
import { chunk, installedVersion, numberedInputs, runRunner, sampleLatency, waitFor, timeSequentialCalls } from "../runner-main.mjs";
import { drainWithWorkerProcesses, serveWorkerProcess } from "../worker-processes.mjs";

const version = installedVersion("pg-boss", import.meta.url);
const thisFile = fileURLToPath(import.meta.url);
const queueName = "bench";
const jobQueueName = "bench-job";

/**
 * Work settings per profile. pg-boss's documented default for work() is one job per fetch and a
 * 2 s poll after every fetch (about 5 jobs/s for ten workers), which cannot drain a backlog in
 * any reasonable time; "default" therefore keeps batchSize 1 and per-job completion but turns on
 * the documented backlog trigger `burstWhenReadyExceeds: 1` (its minimum), so workers fetch again at
 * once while the queue's ready count (refreshed before the run) shows a backlog.
 */
const workProfiles = {
  default: { localConcurrency: 10, burstWhenReadyExceeds: 1 },
  best: { localConcurrency: 4, batchSize: 500, burstWhenBatchFull: true },
};

async function startBoss(params, options = {}) {
  const boss = new PgBoss({ connectionString: params.databaseUrl, ...options });
  boss.on("error", (error) => console.error(`pg-boss error: ${error.message}`));
  await boss.start();
  return boss;
}

function openPool(params, max = 4) {
  const pool = new pg.Pool({ connectionString: params.databaseUrl, max });
  pool.on("error", () => {});
  return pool;
}

async function seedJobs(boss, name, inputs) {
  for (const part of chunk(inputs, 5000)) await boss.insert(name, part.map((data) => ({ data })));
}

async function countCompleted(pool, name, extraCondition = "") {
  const { rows } = await pool.query(`select count(*)::int as finished from pgboss.job where name = $1 and state = 'completed' ${extraCondition}`, [name]);
  return rows[0].finished;
}

function throughput(count, elapsedMs) {
  return (count / elapsedMs) * 1000;
}

async function drain(params, { profile, processes, appRow }) {
  const boss = await startBoss(params);
  await boss.createQueue(queueName);
  const pool = openPool(params);
  if (appRow) await pool.query("create table bench_app_row (id bigserial primary key, task_number integer not null, created_at timestamptz not null default now())");
  await seedJobs(boss, queueName, numberedInputs(params.count));
  // Fills the ready count that burstWhenReadyExceeds reads; worker processes load it at start.
  await boss.getQueueStats(queueName, { force: true });
  await boss.stop({ graceful: true });
  const outcome = await drainWithWorkerProcesses({
    runnerFile: thisFile,
    workerMetric: "worker",
    params: { ...params, profile, appRow },
    processes,
    expected: params.count,
    countFinished: () => countCompleted(pool, queueName),
    timeoutMs: params.timeoutMs,
  });
  let written = null;
  if (appRow) written = (await pool.query("select count(*)::int as written from bench_app_row")).rows[0].written;
  await pool.end();
  return {
    value: throughput(params.count, outcome.elapsedMs),
    unit: "tasks/s",
    count: params.count,
    settings: { ...workProfiles[profile], processes, appRowWrite: appRow ? "own pg.Pool (max 10), not atomic with completion" : undefined, pool: "pg-boss default (max 10)" },
    extra: { elapsedMs: outcome.elapsedMs, perProcess: outcome.perProcess, machineCpu: outcome.machineCpu, appRowsWritten: written ?? undefined },
  };
}

const metrics = {
  async "enqueue-single"(params) {
    const boss = await startBoss(params);
    await boss.createQueue(queueName);
    const elapsedMs = await timeSequentialCalls({ count: params.count, warmUp: params.warmUp, call: (n) => boss.send(queueName, { n }) });
    await boss.stop({ graceful: true });
    return { value: throughput(params.count, elapsedMs), unit: "tasks/s", count: params.count, settings: { call: "send(name, data), sequential", warmUp: params.warmUp } };
  },

  async "enqueue-batch"(params) {
    const boss = await startBoss(params);
    await boss.createQueue(queueName);
    const batches = chunk(numberedInputs(params.count + params.warmUpCalls * params.batchSize), params.batchSize).map((inputs) => inputs.map((data) => ({ data })));
    const elapsedMs = await timeSequentialCalls({ count: params.count / params.batchSize, warmUp: params.warmUpCalls, call: (n) => boss.insert(queueName, batches[n]) });
    await boss.stop({ graceful: true });
    return { value: throughput(params.count, elapsedMs), unit: "tasks/s", count: params.count, settings: { call: `insert(name, jobs) with ${params.batchSize} jobs per call, sequential`, warmUpCalls: params.warmUpCalls } };
  },

  async "enqueue-one-call"(params) {
    const boss = await startBoss(params);
    await boss.createQueue(queueName);
    const jobs = numberedInputs(params.count).map((data) => ({ data }));
    const started = performance.now();
    await boss.insert(queueName, jobs);
    const elapsedMs = performance.now() - started;
    await boss.stop({ graceful: true });
    return { value: throughput(params.count, elapsedMs), unit: "tasks/s", count: params.count, settings: { call: `one insert(name, jobs) of ${params.count} jobs` } };
  },

  "drain-default": (params) => drain(params, { profile: "default", processes: 1, appRow: false }),
  "drain-best": (params) => drain(params, { profile: "best", processes: 1, appRow: false }),
  "drain-app-row": (params) => drain(params, { profile: "best", processes: 1, appRow: true }),
  "drain-2-processes": (params) => drain(params, { profile: "default", processes: 2, appRow: false }),

  async "job-3-step"(params) {
    // pg-boss has no multi-step job; each step's handler sends the next step to the same queue
    // (not atomic with the step's completion).
    const boss = await startBoss(params);
    await boss.createQueue(jobQueueName);
    const pool = openPool(params);
    await seedJobs(boss, jobQueueName, numberedInputs(params.runs).map((input) => ({ ...input, step: 1 })));
    await boss.getQueueStats(jobQueueName, { force: true });
    await boss.stop({ graceful: true });
    const outcome = await drainWithWorkerProcesses({
      runnerFile: thisFile,
      workerMetric: "job-worker",
      params: { ...params, profile: "default" },
      processes: 1,
      expected: params.runs,
      countFinished: () => countCompleted(pool, jobQueueName, "and (data->>'step')::int = 3"),
      timeoutMs: params.timeoutMs,
    });
    await pool.end();
    return {
      value: throughput(params.runs, outcome.elapsedMs),
      unit: "runs/s",
      count: params.runs,
      settings: { ...workProfiles.default, chaining: "handler sends step n+1 to the same queue with send()" },
      extra: { elapsedMs: outcome.elapsedMs, perProcess: outcome.perProcess, machineCpu: outcome.machineCpu },
    };
  },

  async latency(params) {
    const boss = await startBoss(params, { useListenNotify: true });
    await boss.createQueue(queueName, { notify: true });
    let onStart;
    const workOptions = { localConcurrency: 10 };
    await boss.work(queueName, workOptions, async () => {
      onStart?.();
      return null;
    });
    const pool = openPool(params, 2);
    const latency = await sampleLatency({
      samples: params.samples,
      gapMs: params.gapMs,
      measureOne: async (round) => {
        const handlerStarted = new Promise((resolve) => (onStart = () => resolve(performance.now())));
        const began = performance.now();
        await boss.send(queueName, { round });
        const elapsed = (await handlerStarted) - began;
        await waitFor(async () => (await countCompleted(pool, queueName)) === round + 1, { timeoutMs: 30_000, intervalMs: 2, what: "completion" });
        return elapsed;
      },
    });
    await boss.stop({ graceful: true });
    await pool.end();
    return { ...latency, settings: { constructor: "useListenNotify: true", queue: "notify: true", work: workOptions } };
  },

  // Worker-process side of the drains.
  async worker(params) {
    let boss;
    let pool;
    await serveWorkerProcess({
      prepare: async () => {
        boss = await startBoss(params);
        if (params.appRow) pool = openPool(params, 10);
      },
      start: async (onHandled) => {
        await boss.work(queueName, workProfiles[params.profile], async (jobs) => {
          // One insert per job, as many at once as the application pool allows.
          if (pool) await Promise.all(jobs.map((job) => pool.query("insert into bench_app_row (task_number) values ($1)", [job.data.n])));
          onHandled(jobs.length);
        });
      },
      stop: async () => {
        await boss.stop({ graceful: true, timeout: 30_000 });
        await pool?.end();
      },
    });
  },

  async "job-worker"(params) {
    let boss;
    await serveWorkerProcess({
      prepare: async () => {
        boss = await startBoss(params);
      },
      start: async (onHandled) => {
        await boss.work(jobQueueName, workProfiles[params.profile], async (jobs) => {
          for (const job of jobs) {
            if (job.data.step < 3) await boss.send(jobQueueName, { ...job.data, step: job.data.step + 1 });
            else onHandled(1);
          }
        });
      },
      stop: () => boss.stop({ graceful: true, timeout: 30_000 }),
    });
  },
};

await runRunner({ library: "pg-boss", version, metrics });
