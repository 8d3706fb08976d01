// Drains measured with workers in their own processes: the runner seeds the backlog, forks one
// or more worker processes, starts them together and stops the clock when the database (not a
// handler) says every task has finished. Worker processes carry no seeding garbage, so their peak
// RSS is the worker's own.
import { fork } from "node:child_process";
import { mkdirSync, writeFileSync } from "node:fs";
import path from "node:path";
import { performance } from "node:perf_hooks";
import { measureMachineCpu } from "./machine-cpu.mjs";
import { peakRssMb, waitFor } from "./runner-main.mjs";

const protocolTimeoutMs = 60_000;

/**
 * Forks `processes` copies of `runnerFile` with `workerMetric`, starts them at once, and resolves
 * when `countFinished()` reaches `expected`. Progress messages from the workers (handled counts)
 * decide when to start polling the database, so the check costs the drain almost nothing.
 */
export async function drainWithWorkerProcesses({ runnerFile, workerMetric, params, processes, expected, countFinished, timeoutMs }) {
  const workers = [];
  for (let index = 0; index < processes; index += 1) {
    workers.push(startWorkerProcess(runnerFile, workerMetric, { ...params, workerIndex: index }));
  }
  try {
    await Promise.all(workers.map((worker) => worker.ready));
    const handledTotal = () => workers.reduce((sum, worker) => sum + worker.handled, 0);
    const started = performance.now();
    const stopCpu = measureMachineCpu();
    for (const worker of workers) worker.child.send({ type: "go" });
    const failure = Promise.race(workers.map((worker) => worker.failed));
    const nearlyDone = Math.floor(expected * 0.9);
    await Promise.race([failure, waitFor(() => handledTotal() >= nearlyDone, { timeoutMs, intervalMs: 20, what: `${nearlyDone} handled tasks` })]);
    let finished = 0;
    await Promise.race([
      failure,
      waitFor(async () => (finished = await countFinished()) >= expected, { timeoutMs, intervalMs: 10, what: `${expected} finished tasks in the database` }),
    ]);
    const elapsedMs = performance.now() - started;
    const machineCpu = stopCpu(expected);
    const reports = await Promise.all(workers.map((worker) => worker.stop()));
    return { elapsedMs, finished, perProcess: reports, machineCpu };
  } finally {
    await Promise.all(workers.map((worker) => worker.kill()));
  }
}

function startWorkerProcess(runnerFile, workerMetric, params) {
  // With a profile directory, V8 writes the worker's CPU profile there when the process exits.
  const execArgv = params.profileDirectory ? ["--cpu-prof", `--cpu-prof-dir=${params.profileDirectory}`, "--cpu-prof-interval=100"] : undefined;
  const child = fork(runnerFile, [workerMetric, JSON.stringify(params)], { stdio: ["ignore", "ignore", "inherit", "ipc"], execArgv });
  const exited = new Promise((resolve) => child.once("exit", resolve));
  const state = { child, handled: 0 };
  let resolveReady;
  let rejectReady;
  let resolveStopped;
  state.ready = new Promise((resolve, reject) => {
    resolveReady = resolve;
    rejectReady = reject;
  });
  const stopped = new Promise((resolve) => (resolveStopped = resolve));
  state.failed = new Promise((_, reject) => {
    child.on("message", (message) => {
      if (message.type === "ready") resolveReady();
      else if (message.type === "progress") state.handled = message.handled;
      else if (message.type === "stopped") resolveStopped(message);
      else if (message.type === "failed") reject(new Error(`worker process failed: ${message.error}`));
    });
    child.on("exit", (code) => {
      const error = new Error(`worker process exited early (code ${code})`);
      rejectReady(error);
      reject(error);
    });
  });
  state.failed.catch(() => {});
  const readyTimer = setTimeout(() => rejectReady(new Error("worker process not ready in time")), protocolTimeoutMs);
  state.ready.finally(() => clearTimeout(readyTimer)).catch(() => {});
  state.stop = async () => {
    child.send({ type: "stop" });
    const timer = setTimeout(() => child.kill("SIGKILL"), protocolTimeoutMs);
    const report = await Promise.race([stopped, state.failed.catch((error) => ({ error: error.message }))]);
    clearTimeout(timer);
    state.stoppedCleanly = !report.error;
    return { handled: state.handled, peakRssMb: report.peakRssMb ?? null, ...(report.error ? { error: report.error } : {}) };
  };
  state.kill = async () => {
    // A profiled worker that stopped cleanly is writing its profile on the way out: let it.
    if (execArgv && state.stoppedCleanly) await Promise.race([exited, new Promise((resolve) => setTimeout(resolve, protocolTimeoutMs).unref())]);
    if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
  };
  return state;
}

/** Microseconds on the monotonic clock that V8's CPU profiles use for their sample times. */
function monotonicMicros() {
  return Number(process.hrtime.bigint() / 1000n);
}

/**
 * In a profiled worker (`pnpm bench --profile-workers`), notes when the drain ran and how many
 * tasks it handled next to the CPU profile, so the summary can look at the drain alone.
 */
function recordDrainWindow(window) {
  const directory = process.execArgv.find((argument) => argument.startsWith("--cpu-prof-dir="))?.slice("--cpu-prof-dir=".length);
  if (!directory) return;
  mkdirSync(directory, { recursive: true });
  writeFileSync(path.join(directory, `drain-window.${window.pid}.json`), JSON.stringify(window));
}

/**
 * The worker-process side: `prepare()` connects and builds everything, `start(onHandled)` starts
 * the library's worker (called on "go"), `stop()` shuts it down. Reports handled counts while it
 * runs and its peak RSS at the end.
 */
export async function serveWorkerProcess({ prepare, start, stop }) {
  // A runner killed on timeout must not leave its workers draining someone else's database.
  process.on("disconnect", () => process.exit(1));
  try {
    await prepare();
  } catch (error) {
    process.send({ type: "failed", error: error?.stack ?? String(error) });
    process.exit(1);
  }
  let handled = 0;
  let progressTimer;
  let drainStartedMicros = null;
  const sendProgress = () => process.send({ type: "progress", handled });
  process.on("message", async (message) => {
    try {
      if (message.type === "go") {
        drainStartedMicros = monotonicMicros();
        progressTimer = setInterval(sendProgress, 25);
        await start((count = 1) => {
          handled += count;
        });
      } else if (message.type === "stop") {
        clearInterval(progressTimer);
        sendProgress();
        if (drainStartedMicros !== null) recordDrainWindow({ pid: process.pid, startMicros: drainStartedMicros, endMicros: monotonicMicros(), handled });
        await stop();
        process.send({ type: "stopped", peakRssMb: peakRssMb() }, () => process.exit(0));
      }
    } catch (error) {
      process.send({ type: "failed", error: error?.stack ?? String(error) }, () => process.exit(1));
    }
  });
  process.send({ type: "ready" });
}
