import type { RetryPolicyOptions } from "@underway/core";
import type { Context } from "./context.js";

/** The settings of one step, snapshotted into its task row at enqueue. */
export interface StepSettings {
  /** The step's retry policy (`.retryPolicy()`); the task defaults where absent. */
  retryPolicy?: RetryPolicyOptions;
  /** How long one attempt of the step may run, in ms (`.timeoutMs()`). */
  timeoutMs?: number;
  /** How long the step's task is kept once finished, in ms (`.ttlMs()`). */
  ttlMs?: number;
  /** How long after it is enqueued the step becomes claimable, in ms (`.delayMs()`). */
  delayMs?: number;
  /** How often an attempt of the step renews its lease, in ms (`.heartbeatMs()`). */
  heartbeatMs?: number;
  /** The step's claim priority (`.priority()`). */
  priority?: number;
  /** The step's concurrency key, fixed or computed from the step's input (`.concurrencyKey()`). */
  concurrencyKey?: string | ((input: any) => string | null | undefined);
}

/** One step of a job: its function and its settings. */
export interface StepDefinition<State, Tx> {
  /** The step function given to `.step(...)`: the context and the step's input, to a transition. */
  run: (cx: Context<State, Tx>, input: any) => unknown;
  /** The per-step options given after it. */
  settings: StepSettings;
}
