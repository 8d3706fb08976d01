import { spawnSourceProcess, type SourceProcess } from "../../support/source-process.js";

const fixture = new URL("./chaos-worker.mts", import.meta.url).pathname;

/** One chaos worker process, started and ready. */
export interface WorkerProcess {
  process: SourceProcess;
  pid: number;
  /** Sends a signal to the worker (SIGKILL, SIGSTOP, SIGCONT, SIGTERM); ignores a process already gone. */
  signal(signal: NodeJS.Signals): void;
}

/** Environment of {@link startWorkerProcess} (see `chaos-worker.ts`). */
export type WorkerProcessEnvironment = Record<string, string> & { DATABASE_URL: string; QUEUE_NAME: string };

/** Starts `chaos-worker.ts` in a child process and waits until its worker runs. */
export async function startWorkerProcess(environment: WorkerProcessEnvironment): Promise<WorkerProcess> {
  const child = spawnSourceProcess(fixture, [], environment);
  const ready = await child.waitForLine((line) => line.startsWith("ready "), 60_000);
  const pid = Number(ready.slice("ready ".length));
  return {
    process: child,
    pid,
    signal(signal) {
      try {
        process.kill(pid, signal);
      } catch {
        // Already gone.
      }
    },
  };
}

/** Kills every process of `workers` (resuming paused ones first) and waits for their exits. */
export async function killAll(workers: Iterable<WorkerProcess | undefined>): Promise<void> {
  await Promise.all(
    [...workers].map(async (worker) => {
      if (!worker) return;
      worker.signal("SIGCONT");
      await worker.process.kill("SIGKILL");
    }),
  );
}
