import { ConfigError } from "./errors.js";

/** The longest duration a Node timer can wait (about 24.8 days). */
export const MAX_TIMER_MS = 2_147_483_647;

/** The longest delay or TTL accepted: 100 years. */
export const MAX_STORED_DURATION_MS = 100 * 365 * 24 * 60 * 60 * 1000;

/**
 * Checks a duration in milliseconds: a finite, non-negative integer not above `max`.
 *
 * @throws {@link ConfigError} naming the option and the value.
 * @example
 * ```ts
 * validateDurationMs(1_000, "timeoutMs"); // 1000
 * validateDurationMs(-1, "delayMs");      // throws ConfigError
 * ```
 */
export function validateDurationMs(value: unknown, name: string, { min = 0, max = MAX_STORED_DURATION_MS } = {}): number {
  if (typeof value !== "number" || !Number.isInteger(value)) {
    throw new ConfigError(`${name} must be an integer number of milliseconds, got ${describe(value)}`);
  }
  if (value < min) throw new ConfigError(`${name} must be at least ${min} ms, got ${value}`);
  if (value > max) throw new ConfigError(`${name} must be at most ${max} ms, got ${value}`);
  return value;
}

/** Checks a priority: an integer in the 32-bit signed range. Higher runs first. */
export function validatePriority(value: unknown, name = "priority"): number {
  if (typeof value !== "number" || !Number.isInteger(value) || value < -2_147_483_648 || value > 2_147_483_647) {
    throw new ConfigError(`${name} must be a 32-bit integer, got ${describe(value)}`);
  }
  return value;
}

/** Checks an optional key (concurrency or dedupe key): null, or a non-empty string of at most 512 characters. */
export function validateOptionalKey(value: unknown, name: string): string | null {
  if (value === null || value === undefined) return null;
  if (typeof value !== "string" || value.length === 0 || value.length > 512) {
    throw new ConfigError(`${name} must be null or a non-empty string of at most 512 characters, got ${describe(value)}`);
  }
  if (/\u0000/.test(value) || /[\uD800-\uDFFF]/.test(value.replace(/[\uD800-\uDBFF][\uDC00-\uDFFF]/g, ""))) {
    throw new ConfigError(`${name} must not contain NUL characters or lone surrogates`);
  }
  return value;
}

function describe(value: unknown): string {
  if (typeof value === "bigint") return `${value}n (a BigInt)`;
  if (typeof value === "string") return JSON.stringify(value);
  return String(value);
}
