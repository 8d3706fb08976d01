import type { RetryPolicyOptions } from "@underway/core";
import type { Context } from "./context.js";

/** The settings of one step, snapshotted into its task row at enqueue. */
export interface StepSettings {
  retryPolicy?: RetryPolicyOptions;
  timeoutMs?: number;
  ttlMs?: number;
  delayMs?: number;
  heartbeatMs?: number;
  priority?: number;
  concurrencyKey?: string | ((input: any) => string | null | undefined);
}

/** One step of a job: its function and its settings. */
export interface StepDefinition<State, Tx> {
  run: (cx: Context<State, Tx>, input: any) => unknown;
  settings: StepSettings;
}
