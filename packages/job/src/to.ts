import { validateDurationMs } from "@underway/core";

/** Go on to the next step with `value` as its input, after `delayMs` (0: at once). */
export interface NextTransition<Value> {
  /** Marks a transition to the next step. */
  readonly kind: "next";
  /** The next step's input. */
  readonly value: Value;
  /** How long to wait before the next step, in ms, added to that step's own delay. */
  readonly delayMs: number;
}

/**
 * The job run is finished; `result` is what `EnqueuedJob.result()` resolves with. Results are
 * stored as JSON, so an `undefined` result is stored, and resolved, as `null`.
 */
export interface DoneTransition<Result> {
  /** Marks the end of the run. */
  readonly kind: "done";
  /** The run's result. */
  readonly result: Result;
}

/** What a step returns. */
export type Transition<Value = unknown, Result = unknown> = NextTransition<Value> | DoneTransition<Result>;

/** The next step's input type implied by a step's return type. */
export type NextInputOf<T> = T extends NextTransition<infer Value> ? Value : never;

/**
 * The result type implied by a step's return type, as `EnqueuedJob.result()` resolves it: an
 * `undefined` result is stored as JSON `null`.
 */
export type ResultOf<T> = T extends DoneTransition<infer Result> ? StoredResult<Result> : never;

/** `Result` as it comes back from storage: `undefined` becomes `null`. */
export type StoredResult<Result> = Exclude<Result, undefined> | (undefined extends Result ? null : never);

/**
 * The transitions a step returns.
 *
 * @example
 * ```ts
 * .step(async (cx, { orderId }: GenerateReceipt) => To.next({ receiptKey: `receipts/${orderId}.pdf` }))
 * .step(async (cx, { receiptKey }: EmailReceipt) => To.done())
 * ```
 */
export const To = {
  /** Run the next step with `value` as its input. */
  next<Value>(value: Value): NextTransition<Value> {
    return { kind: "next", value, delayMs: 0 };
  },
  /** Run the next step with `value` as its input, `delayMs` milliseconds from now. */
  delayFor<Value>(value: Value, delayMs: number): NextTransition<Value> {
    return { kind: "next", value, delayMs: validateDurationMs(delayMs, "To.delayFor delay") };
  },
  /** Finish the job run, optionally with a result (`null` when none is given). */
  done<Result = null>(...args: [] | [result: Result]): DoneTransition<Result> {
    return { kind: "done", result: (args.length === 0 ? null : args[0]) as Result };
  },
};

/** Whether `value` is a transition made by {@link To}. */
export function isTransition(value: unknown): value is Transition {
  if (typeof value !== "object" || value === null) return false;
  const kind = (value as { kind?: unknown }).kind;
  return kind === "next" || kind === "done";
}
