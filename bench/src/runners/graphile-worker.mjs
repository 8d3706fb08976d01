// graphile-worker 0.18 through its public API: addJob / addJobs to enqueue, run() to process.
import { fileURLToPath } from "node:url";
import { performance } from "node:perf_hooks";
import pg from "pg";
import { Logger, makeWorkerUtils, run, runMigrations } from "graphile-worker";
import { chunk, installedVersion, numberedInputs, runRunner, sampleLatency, waitFor, timeSequentialCalls } from "../runner-main.mjs";
import { drainWithWorkerProcesses, serveWorkerProcess } from "../worker-processes.mjs";

const version = installedVersion("graphile-worker", import.meta.url);
const thisFile = fileURLToPath(import.meta.url);
const taskIdentifier = "bench";
const jobTaskIdentifier = "bench_job_step";

/**
 * Runner settings per profile. "default" is the documented defaults (pollInterval 2 s, pool of
 * 10, no local queue, one completion statement per job) at concurrency 10; "best" adds the
 * batching the graphile-worker performance guide describes: a local queue and batched
 * completion.
 */
const runProfiles = {
  default: { concurrency: 10 },
  best: { concurrency: 10, preset: { worker: { localQueue: { size: 1000 }, completeJobBatchDelay: 10 } } },
};

// Errors still reach stderr; per-job info lines would cost the drain real time.
const quietLogger = new Logger(() => (level, message) => {
  if (level === "error") console.error(`graphile-worker: ${message}`);
});

function openPool(params, max = 10) {
  const pool = new pg.Pool({ connectionString: params.databaseUrl, max });
  pool.on("error", () => {});
  return pool;
}

async function openUtils(params) {
  const utils = await makeWorkerUtils({ connectionString: params.databaseUrl, logger: quietLogger });
  await utils.migrate();
  return utils;
}

async function countRemaining(pool) {
  const { rows } = await pool.query("select count(*)::int as remaining from graphile_worker._private_jobs");
  return rows[0].remaining;
}

function throughput(count, elapsedMs) {
  return (count / elapsedMs) * 1000;
}

function describeProfile(profile) {
  const { preset, ...rest } = runProfiles[profile];
  return { ...rest, ...(preset ? preset.worker : {}), pollInterval: 2000, maxPoolSize: 10 };
}

async function drain(params, { profile, processes, appRow }) {
  const utils = await openUtils(params);
  const pool = openPool(params, 4);
  if (appRow) await pool.query("create table bench_app_row (id bigserial primary key, task_number integer not null, created_at timestamptz not null default now())");
  for (const inputs of chunk(numberedInputs(params.count), 5000)) {
    await utils.addJobs(inputs.map((payload) => ({ identifier: taskIdentifier, payload })));
  }
  await utils.release();
  const outcome = await drainWithWorkerProcesses({
    runnerFile: thisFile,
    workerMetric: "worker",
    params: { ...params, profile, appRow },
    processes,
    expected: params.count,
    // Finished jobs are deleted; one whose completion is still batched stays in the table.
    countFinished: async () => params.count - (await countRemaining(pool)),
    timeoutMs: params.timeoutMs,
  });
  let written;
  if (appRow) written = (await pool.query("select count(*)::int as written from bench_app_row")).rows[0].written;
  await pool.end();
  return {
    value: throughput(params.count, outcome.elapsedMs),
    unit: "tasks/s",
    count: params.count,
    settings: { ...describeProfile(profile), processes, appRowWrite: appRow ? "own pg.Pool (max 10), not atomic with completion" : undefined },
    extra: { elapsedMs: outcome.elapsedMs, perProcess: outcome.perProcess, machineCpu: outcome.machineCpu, appRowsWritten: written },
  };
}

const metrics = {
  async "enqueue-single"(params) {
    const utils = await openUtils(params);
    const elapsedMs = await timeSequentialCalls({ count: params.count, warmUp: params.warmUp, call: (n) => utils.addJob(taskIdentifier, { n }) });
    await utils.release();
    return { value: throughput(params.count, elapsedMs), unit: "tasks/s", count: params.count, settings: { call: "workerUtils.addJob(identifier, payload), sequential", warmUp: params.warmUp } };
  },

  async "enqueue-batch"(params) {
    const utils = await openUtils(params);
    const batches = chunk(numberedInputs(params.count + params.warmUpCalls * params.batchSize), params.batchSize).map((inputs) => inputs.map((payload) => ({ identifier: taskIdentifier, payload })));
    const elapsedMs = await timeSequentialCalls({ count: params.count / params.batchSize, warmUp: params.warmUpCalls, call: (n) => utils.addJobs(batches[n]) });
    await utils.release();
    return { value: throughput(params.count, elapsedMs), unit: "tasks/s", count: params.count, settings: { call: `workerUtils.addJobs(specs) with ${params.batchSize} jobs per call, sequential`, warmUpCalls: params.warmUpCalls } };
  },

  async "enqueue-one-call"(params) {
    const utils = await openUtils(params);
    const specs = numberedInputs(params.count).map((payload) => ({ identifier: taskIdentifier, payload }));
    const started = performance.now();
    await utils.addJobs(specs);
    const elapsedMs = performance.now() - started;
    await utils.release();
    return { value: throughput(params.count, elapsedMs), unit: "tasks/s", count: params.count, settings: { call: `one workerUtils.addJobs(specs) of ${params.count} jobs` } };
  },

  "drain-default": (params) => drain(params, { profile: "default", processes: 1, appRow: false }),
  "drain-best": (params) => drain(params, { profile: "best", processes: 1, appRow: false }),
  "drain-app-row": (params) => drain(params, { profile: "best", processes: 1, appRow: true }),
  "drain-2-processes": (params) => drain(params, { profile: "default", processes: 2, appRow: false }),

  async "job-3-step"(params) {
    // graphile-worker has no multi-step job; each step's task adds the next step with
    // helpers.addJob (not atomic with the step's completion).
    const utils = await openUtils(params);
    const pool = openPool(params, 2);
    for (const inputs of chunk(numberedInputs(params.runs), 5000)) {
      await utils.addJobs(inputs.map((input) => ({ identifier: jobTaskIdentifier, payload: { ...input, step: 1 } })));
    }
    await utils.release();
    const outcome = await drainWithWorkerProcesses({
      runnerFile: thisFile,
      workerMetric: "job-worker",
      params: { ...params, profile: "default" },
      processes: 1,
      expected: params.runs,
      // A run is finished once its third step is gone; no job left means every run finished.
      countFinished: async () => ((await countRemaining(pool)) === 0 ? params.runs : 0),
      timeoutMs: params.timeoutMs,
    });
    await pool.end();
    return {
      value: throughput(params.runs, outcome.elapsedMs),
      unit: "runs/s",
      count: params.runs,
      settings: { ...describeProfile("default"), chaining: "task adds step n+1 with helpers.addJob" },
      extra: { elapsedMs: outcome.elapsedMs, perProcess: outcome.perProcess, machineCpu: outcome.machineCpu },
    };
  },

  async latency(params) {
    const utils = await openUtils(params);
    const pool = openPool(params, 2);
    let onStart;
    const runner = await run({
      connectionString: params.databaseUrl,
      noHandleSignals: true,
      logger: quietLogger,
      ...runProfiles.default,
      taskList: {
        [taskIdentifier]: async () => {
          onStart?.();
        },
      },
    });
    const latency = await sampleLatency({
      samples: params.samples,
      gapMs: params.gapMs,
      measureOne: async (round) => {
        const handlerStarted = new Promise((resolve) => (onStart = () => resolve(performance.now())));
        const began = performance.now();
        await utils.addJob(taskIdentifier, { round });
        const elapsed = (await handlerStarted) - began;
        await waitFor(async () => (await countRemaining(pool)) === 0, { timeoutMs: 30_000, intervalMs: 2, what: "completion" });
        return elapsed;
      },
    });
    await runner.stop();
    await utils.release();
    await pool.end();
    return { ...latency, settings: { ...describeProfile("default"), notify: "LISTEN/NOTIFY (always on)" } };
  },

  // Worker-process side of the drains.
  async worker(params) {
    let runner;
    let pgPool;
    let appPool;
    await serveWorkerProcess({
      prepare: async () => {
        pgPool = openPool(params, 10);
        if (params.appRow) appPool = openPool(params, 10);
        await pgPool.query("select 1");
      },
      start: async (onHandled) => {
        runner = await run({
          pgPool,
          noHandleSignals: true,
          logger: quietLogger,
          ...runProfiles[params.profile],
          taskList: {
            [taskIdentifier]: async (payload) => {
              if (appPool) await appPool.query("insert into bench_app_row (task_number) values ($1)", [payload.n]);
              onHandled(1);
            },
          },
        });
      },
      stop: async () => {
        await runner.stop();
        await appPool?.end();
        await pgPool.end();
      },
    });
  },

  async "job-worker"(params) {
    let runner;
    let pgPool;
    await serveWorkerProcess({
      prepare: async () => {
        pgPool = openPool(params, 10);
        await pgPool.query("select 1");
      },
      start: async (onHandled) => {
        runner = await run({
          pgPool,
          noHandleSignals: true,
          logger: quietLogger,
          ...runProfiles[params.profile],
          taskList: {
            [jobTaskIdentifier]: async (payload, helpers) => {
              if (payload.step < 3) await helpers.addJob(jobTaskIdentifier, { ...payload, step: payload.step + 1 });
              else onHandled(1);
            },
          },
        });
      },
      stop: async () => {
        await runner.stop();
        await pgPool.end();
      },
    });
  },
};

await runRunner({ library: "graphile-worker", version, metrics });
