import type { OptionNames } from "./argument-checks.js";
import { validateDurationMs } from "./durations.js";
import { ConfigError } from "./errors.js";
import { MAX_INT32 } from "./retry-policy.js";

/** Options of `Queue.retry` (and of a job run's `retry`): how a failed task runs again. */
export interface RetryTaskOptions<Tx> {
  /** How many more attempts the task gets (default 1). */
  attempts?: number;
  /** Run it this many ms from now (default 0). */
  delayMs?: number;
  /** Write inside this transaction: visible (and notified) only when it commits. Leave it out for none; `null` is refused. */
  tx?: Tx;
}

/** The names of {@link RetryTaskOptions}, for `optionsObject`. */
export const RETRY_TASK_OPTION_NAMES: OptionNames<RetryTaskOptions<unknown>> = { attempts: true, delayMs: true, tx: true };

/**
 * Checks {@link RetryTaskOptions} and fills in the defaults.
 *
 * @throws ConfigError naming the option and the value.
 * @example
 * ```ts
 * resolveRetryTaskOptions({ attempts: 3 }); // { attempts: 3, delayMs: 0 }
 * resolveRetryTaskOptions({ attempts: 0 }); // throws ConfigError
 * ```
 */
export function resolveRetryTaskOptions(options: RetryTaskOptions<unknown>): { attempts: number; delayMs: number } {
  const attempts = options.attempts ?? 1;
  if (typeof attempts !== "number" || !Number.isInteger(attempts) || attempts < 1 || attempts > MAX_INT32) {
    throw new ConfigError(`attempts must be an integer from 1 to ${MAX_INT32}, got ${String(attempts)}`);
  }
  const delayMs = options.delayMs === undefined ? 0 : validateDurationMs(options.delayMs, "delayMs");
  return { attempts, delayMs };
}
