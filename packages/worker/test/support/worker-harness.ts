import type { Worker, WorkerEvents } from "../../src/index.js";

/** Every event a worker emitted, in order, for assertions and for waiting on conditions. */
export interface EventLog {
  entries: Array<{ [E in keyof WorkerEvents & string]: { event: E; payload: WorkerEvents[E]; at: number } }[keyof WorkerEvents]>;
  /** Payloads of one event. */
  of<E extends keyof WorkerEvents>(event: E): Array<WorkerEvents[E]>;
}

const EVENT_NAMES: Array<keyof WorkerEvents> = [
  "task:claimed",
  "task:succeeded",
  "task:retry",
  "task:failed",
  "task:dead-lettered",
  "task:timed-out",
  "task:lease-lost",
  "task:cancelled",
  "worker:error",
  "worker:started",
  "worker:stopped",
];

/** Records every event of `worker`. */
export function recordEvents(worker: Worker<any, any>): EventLog {
  const entries: EventLog["entries"] = [];
  for (const event of EVENT_NAMES) {
    worker.on(event, (payload) => entries.push({ event, payload, at: Date.now() } as EventLog["entries"][number]));
  }
  return {
    entries,
    of: <E extends keyof WorkerEvents>(event: E) =>
      entries.filter((entry) => entry.event === event).map((entry) => entry.payload as WorkerEvents[E]),
  };
}

/** A promise with its resolve function, for tasks that wait on the test. */
export function deferred<T = void>(): { promise: Promise<T>; resolve: (value: T) => void } {
  let resolve!: (value: T) => void;
  const promise = new Promise<T>((done) => {
    resolve = done;
  });
  return { promise, resolve };
}

/** Resolves when `signal` aborts, with its reason. */
export function aborted(signal: AbortSignal): Promise<unknown> {
  if (signal.aborted) return Promise.resolve(signal.reason);
  return new Promise((resolve) => signal.addEventListener("abort", () => resolve(signal.reason), { once: true }));
}

/** Waits `ms` or until `signal` aborts, whichever comes first (a task's simulated work). */
export function work(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(resolve, ms);
    signal?.addEventListener("abort", () => {
      clearTimeout(timer);
      resolve();
    }, { once: true });
  });
}
