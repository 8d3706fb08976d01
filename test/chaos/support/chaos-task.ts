import type { Task } from "@underway/core";
import type { PgStorage } from "@underway/queue-pg";
import { insertEffect } from "@underway/queue-pg/testing";

/** The transaction handle PgStorage gives tasks as `cx.tx`. */
export type PgTx = ReturnType<PgStorage["transactionOpen"]>["tx"];

/** The `application_name` of the chaos workers' pool connections, so a test can cut exactly those. */
export const WORKER_APPLICATION_NAME = "underway-chaos-worker";

/** What every chaos task takes: a number that names its effect. */
export interface ChaosInput {
  n: number;
  /** How long a `long` task works, overriding the worker's `workMs`. */
  workMs?: number;
}

/** What a chaos task does in each attempt. */
export type ChaosMode =
  /** Write one effect row `effect-<n>` through `cx.tx`, so it commits with the success or not at all. */
  | "effect"
  /** Write the effect row, then keep working for `workMs` (honouring the signal): a long task. */
  | "long"
  /** Nothing at all: the load scenario measures the queue, not the task. */
  | "noop";

/** Settings shared by the enqueuing test and the worker processes (the row snapshots them at enqueue). */
export interface ChaosTaskSettings {
  mode: ChaosMode;
  heartbeatMs: number;
  workMs?: number;
  timeoutMs?: number;
}

/** The key of the effect row a chaos task writes for input `n`. */
export function effectKey(n: number): string {
  return `effect-${n}`;
}

/**
 * The task every chaos scenario runs. Retries are generous and quick: a killed or cut-off attempt
 * must come back soon, and must never run out of attempts while the chaos lasts.
 */
export function chaosTask(settings: ChaosTaskSettings): Task<ChaosInput, unknown, PgTx> {
  return {
    heartbeatMs: settings.heartbeatMs,
    ...(settings.timeoutMs === undefined ? {} : { timeoutMs: settings.timeoutMs }),
    retryPolicy: { maxAttempts: 100, initialIntervalMs: 50, maxIntervalMs: 500 },
    async execute(cx, { n, workMs }) {
      if (settings.mode === "noop") return;
      await insertEffect(cx.tx, effectKey(n), `pid ${process.pid} attempt ${cx.attempt}`);
      if (settings.mode === "long") {
        await new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, workMs ?? settings.workMs ?? 0);
          cx.signal.addEventListener("abort", () => {
            clearTimeout(timer);
            resolve();
          }, { once: true });
        });
        // An aborted attempt must not look like a success to the worker.
        cx.signal.throwIfAborted();
      }
    },
  };
}
