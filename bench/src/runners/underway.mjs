// Underway through its public API, from the built @underway/* packages: Queue.enqueue /
// enqueueMany to enqueue, Worker to process, Job for multi-step runs. A package that is missing
// or not built yet makes its metrics n/a instead of failing the benchmark.
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { performance } from "node:perf_hooks";
import pg from "pg";
import { NotAvailable, chunk, numberedInputs, runRunner, sampleLatency, waitFor, timeSequentialCalls } from "../runner-main.mjs";
import { drainWithWorkerProcesses, serveWorkerProcess } from "../worker-processes.mjs";

const thisFile = fileURLToPath(import.meta.url);
const queueName = "bench";
const jobName = "bench-job";
const poolSize = 20;

/**
 * Worker settings per profile: "default" is the worker's defaults at concurrency 10 (claim batch
 * = concurrency); "best" is the setting that drained no-op tasks fastest here; "appRow" the one
 * that drained cx.tx tasks fastest (group commit: 50 attempts share a transaction, under the 64
 * subtransactions Postgres caches per session; pipelined, so one round trip serves many attempts).
 */
const workerProfiles = {
  default: { concurrency: 10 },
  best: { concurrency: 500, claimBatchSize: 500 },
  appRow: { concurrency: 200, claimBatchSize: 200, groupCommit: 50, groupPipeline: true },
};

function version() {
  const manifest = JSON.parse(readFileSync(new URL("../../node_modules/@underway/core/package.json", import.meta.url), "utf8"));
  return manifest.version;
}

async function importPackage(name) {
  try {
    return await import(name);
  } catch (error) {
    throw new NotAvailable(`${name} is not available (not built yet?): ${error.message.split("\n")[0]}`);
  }
}

function requireExport(module, packageName, exportName) {
  if (module[exportName] === undefined) throw new NotAvailable(`${packageName} does not export ${exportName} yet`);
  return module[exportName];
}

async function loadUnderway({ worker = false, job = false } = {}) {
  const core = await importPackage("@underway/core");
  const queuePg = await importPackage("@underway/queue-pg");
  const loaded = {
    Queue: requireExport(core, "@underway/core", "Queue"),
    PgStorage: requireExport(queuePg, "@underway/queue-pg", "PgStorage"),
    runMigrations: requireExport(queuePg, "@underway/queue-pg", "runMigrations"),
  };
  if (worker) loaded.Worker = requireExport(await importPackage("@underway/worker"), "@underway/worker", "Worker");
  if (job) {
    const jobModule = await importPackage("@underway/job");
    loaded.Job = requireExport(jobModule, "@underway/job", "Job");
    loaded.To = requireExport(jobModule, "@underway/job", "To");
  }
  return loaded;
}

async function openQueue(params, options = {}) {
  const underway = await loadUnderway(options);
  const pool = new pg.Pool({ connectionString: params.databaseUrl, max: poolSize });
  pool.on("error", () => {});
  await underway.runMigrations(pool);
  const storage = new underway.PgStorage(pool);
  const queue = await underway.Queue.builder().name(queueName).storage(storage).build();
  return { ...underway, pool, storage, queue };
}

async function closeStorage(opened) {
  await opened.storage.close?.();
  await opened.pool.end();
}

const noOpTask = { execute: async () => {} };
const appRowTask = {
  execute: async (cx, input) => {
    await cx.tx.query("insert into bench_app_row (task_number) values ($1)", [input.n]);
  },
};

function buildJob(opened, onLastStep = () => {}) {
  const { Job, To } = opened;
  return Job.builder()
    .step(async (_cx, input) => To.next(input))
    .step(async (_cx, input) => To.next(input))
    .step(async () => {
      onLastStep();
      return To.done();
    })
    .name(jobName)
    .storage(opened.storage)
    .build();
}

async function countSucceeded(pool) {
  const { rows } = await pool.query("select count(*)::int as finished from underway.task where state = 'succeeded'");
  return rows[0].finished;
}

function throughput(count, elapsedMs) {
  return (count / elapsedMs) * 1000;
}

async function drain(params, { profile, processes, appRow }) {
  const opened = await openQueue(params, { worker: true });
  if (appRow) await opened.pool.query("create table bench_app_row (id bigserial primary key, task_number integer not null, created_at timestamptz not null default now())");
  for (const inputs of chunk(numberedInputs(params.count), 5000)) await opened.queue.enqueueMany(noOpTask, inputs);
  const outcome = await drainWithWorkerProcesses({
    runnerFile: thisFile,
    workerMetric: "worker",
    params: { ...params, profile, appRow },
    processes,
    expected: params.count,
    countFinished: () => countSucceeded(opened.pool),
    timeoutMs: params.timeoutMs,
  });
  let written;
  if (appRow) written = (await opened.pool.query("select count(*)::int as written from bench_app_row")).rows[0].written;
  await closeStorage(opened);
  if (appRow && written !== params.count) throw new Error(`wrote ${written} app rows for ${params.count} tasks`);
  return {
    value: throughput(params.count, outcome.elapsedMs),
    unit: "tasks/s",
    count: params.count,
    settings: { ...workerProfiles[profile], processes, pool: `pg.Pool max ${poolSize}`, appRowWrite: appRow ? "cx.tx (atomic with completion)" : undefined },
    extra: { elapsedMs: outcome.elapsedMs, perProcess: outcome.perProcess, machineCpu: outcome.machineCpu, appRowsWritten: written },
  };
}

const metrics = {
  async "enqueue-single"(params) {
    const opened = await openQueue(params);
    const elapsedMs = await timeSequentialCalls({ count: params.count, warmUp: params.warmUp, call: (n) => opened.queue.enqueue(noOpTask, { n }) });
    await closeStorage(opened);
    return { value: throughput(params.count, elapsedMs), unit: "tasks/s", count: params.count, settings: { call: "queue.enqueue(task, input), sequential", warmUp: params.warmUp } };
  },

  async "enqueue-batch"(params) {
    const opened = await openQueue(params);
    const batches = chunk(numberedInputs(params.count + params.warmUpCalls * params.batchSize), params.batchSize);
    const elapsedMs = await timeSequentialCalls({ count: params.count / params.batchSize, warmUp: params.warmUpCalls, call: (n) => opened.queue.enqueueMany(noOpTask, batches[n]) });
    await closeStorage(opened);
    return { value: throughput(params.count, elapsedMs), unit: "tasks/s", count: params.count, settings: { call: `queue.enqueueMany(task, inputs) with ${params.batchSize} inputs per call, sequential`, warmUpCalls: params.warmUpCalls } };
  },

  async "enqueue-one-call"(params) {
    const opened = await openQueue(params);
    const inputs = numberedInputs(params.count);
    const started = performance.now();
    await opened.queue.enqueueMany(noOpTask, inputs);
    const elapsedMs = performance.now() - started;
    await closeStorage(opened);
    return { value: throughput(params.count, elapsedMs), unit: "tasks/s", count: params.count, settings: { call: `one queue.enqueueMany(task, inputs) of ${params.count} inputs` } };
  },

  "drain-default": (params) => drain(params, { profile: "default", processes: 1, appRow: false }),
  "drain-best": (params) => drain(params, { profile: "best", processes: 1, appRow: false }),
  "drain-app-row": (params) => drain(params, { profile: "appRow", processes: 1, appRow: true }),
  "drain-2-processes": (params) => drain(params, { profile: "default", processes: 2, appRow: false }),

  async "job-3-step"(params) {
    const opened = await openQueue(params, { job: true });
    const job = await buildJob(opened);
    for (const inputs of chunk(numberedInputs(params.runs), 5000)) await job.enqueueMany(inputs);
    const outcome = await drainWithWorkerProcesses({
      runnerFile: thisFile,
      workerMetric: "job-worker",
      params,
      processes: 1,
      expected: params.runs,
      // One task row per step: a run is finished when its three step tasks have succeeded.
      countFinished: async () => Math.floor((await countSucceeded(opened.pool)) / 3),
      timeoutMs: params.timeoutMs,
    });
    await closeStorage(opened);
    return {
      value: throughput(params.runs, outcome.elapsedMs),
      unit: "runs/s",
      count: params.runs,
      settings: { job: "Job.builder() with three steps, job.start() defaults", pool: `pg.Pool max ${poolSize}` },
      extra: { elapsedMs: outcome.elapsedMs, perProcess: outcome.perProcess, machineCpu: outcome.machineCpu },
    };
  },

  async latency(params) {
    const opened = await openQueue(params, { worker: true });
    let onStart;
    const task = { execute: async () => onStart?.() };
    const worker = new opened.Worker(opened.queue, task, workerProfiles.default);
    const running = worker.run();
    running.catch?.((error) => console.error(`worker stopped: ${error?.message ?? error}`));
    const latency = await sampleLatency({
      samples: params.samples,
      gapMs: params.gapMs,
      measureOne: async (round) => {
        const handlerStarted = new Promise((resolve) => (onStart = () => resolve(performance.now())));
        const began = performance.now();
        await opened.queue.enqueue(task, { round });
        const elapsed = (await handlerStarted) - began;
        await waitFor(async () => (await countSucceeded(opened.pool)) === round + 1, { timeoutMs: 30_000, intervalMs: 2, what: "completion" });
        return elapsed;
      },
    });
    await worker.shutdown();
    await closeStorage(opened);
    return { ...latency, settings: { ...workerProfiles.default, notify: "LISTEN/NOTIFY (always on)" } };
  },

  // Worker-process side of the drains.
  async worker(params) {
    let opened;
    let worker;
    let running;
    await serveWorkerProcess({
      prepare: async () => {
        opened = await openQueue(params, { worker: true });
        worker = new opened.Worker(opened.queue, params.appRow ? appRowTask : noOpTask, workerProfiles[params.profile]);
      },
      start: async (onHandled) => {
        worker.on("task:succeeded", () => onHandled(1));
        running = worker.run();
      },
      stop: async () => {
        await worker.shutdown();
        await running;
        await closeStorage(opened);
      },
    });
  },

  async "job-worker"(params) {
    let opened;
    let job;
    let handle;
    let onHandled = () => {};
    await serveWorkerProcess({
      prepare: async () => {
        opened = await openQueue(params, { job: true });
        job = await buildJob(opened, () => onHandled(1));
      },
      start: async (reportHandled) => {
        onHandled = reportHandled;
        handle = job.start();
      },
      stop: async () => {
        await handle.shutdown();
        await closeStorage(opened);
      },
    });
  },
};

await runRunner({ library: "underway", version, metrics });
