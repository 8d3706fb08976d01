import { describeArgument, optionsObject, type OptionNames } from "./argument-checks.js";
import { ConfigError } from "./errors.js";

/** The plain values of a retry policy, as stored with each task. */
export interface RetryPolicyOptions {
  /** Executions in all, the first one included (5 means at most 4 retries). From 1 to {@link MAX_INT32}. */
  maxAttempts: number;
  /** Delay after the first failed attempt, in milliseconds: from 0 to {@link MAX_INT32} (about 24.8 days). */
  initialIntervalMs: number;
  /** Upper bound of the delay, in milliseconds: from `initialIntervalMs` to {@link MAX_INT32}. */
  maxIntervalMs: number;
  /** Growth factor of the delay from one attempt to the next; at least 1. */
  backoffCoefficient: number;
  /** Share of the delay that is randomised, between 0 (none) and 1. */
  jitterFactor: number;
}

/** A source of uniform random numbers in [0, 1), injectable so backoff can be tested exactly. */
export type RandomSource = () => number;

/** The largest value the integer fields of a retry policy can hold (32-bit, as stored). */
export const MAX_INT32 = 2_147_483_647;

/**
 * How often and how soon a failed task is tried again.
 *
 * The delay after failed attempt `n` (1-based) is `t = min(initial · coefficient^(n−1), max)`,
 * then jittered to `t·(1−j) + U[0, t·j]`. Defaults: 5 attempts in all, 1 s doubling to 60 s,
 * jitter 0.5.
 *
 * @example
 * ```ts
 * const policy = new RetryPolicy({ maxAttempts: 3, initialIntervalMs: 500 });
 * policy.delayMs(1); // between 250 and 500
 * ```
 */
export class RetryPolicy implements RetryPolicyOptions {
  /** The defaults: 5 attempts, 1 000 ms initial, ×2, 60 000 ms cap, jitter 0.5. */
  static readonly defaults: Readonly<RetryPolicyOptions> = Object.freeze({
    maxAttempts: 5,
    initialIntervalMs: 1_000,
    maxIntervalMs: 60_000,
    backoffCoefficient: 2,
    jitterFactor: 0.5,
  });

  readonly maxAttempts: number;
  readonly initialIntervalMs: number;
  readonly maxIntervalMs: number;
  readonly backoffCoefficient: number;
  readonly jitterFactor: number;

  /**
   * @param options - a plain object of {@link RetryPolicyOptions}; missing fields take the defaults.
   * @throws {@link ConfigError} when `options` is not an object (null, a string, a number, a
   * boolean, an array, a function), or when a value is out of range.
   */
  constructor(options: Partial<RetryPolicyOptions> = {}) {
    assertRetryPolicyObject(options);
    const merged = { ...RetryPolicy.defaults, ...stripUndefined(options) };
    const { maxAttempts, initialIntervalMs, maxIntervalMs, backoffCoefficient, jitterFactor } = merged;
    if (!Number.isInteger(maxAttempts) || maxAttempts < 1 || maxAttempts > MAX_INT32) {
      throw new ConfigError(`retryPolicy.maxAttempts must be an integer from 1 to ${MAX_INT32}, got ${describeArgument(maxAttempts)}`);
    }
    for (const [name, value] of [
      ["initialIntervalMs", initialIntervalMs],
      ["maxIntervalMs", maxIntervalMs],
    ] as const) {
      if (!Number.isInteger(value) || value < 0 || value > MAX_INT32) {
        throw new ConfigError(`retryPolicy.${name} must be an integer number of milliseconds from 0 to ${MAX_INT32} (about 24.8 days), got ${describeArgument(value)}`);
      }
    }
    if (maxIntervalMs < initialIntervalMs) {
      throw new ConfigError(`retryPolicy.maxIntervalMs (${maxIntervalMs}) must not be below initialIntervalMs (${initialIntervalMs})`);
    }
    if (typeof backoffCoefficient !== "number" || !Number.isFinite(backoffCoefficient) || backoffCoefficient < 1) {
      throw new ConfigError(`retryPolicy.backoffCoefficient must be a finite number of at least 1, got ${String(backoffCoefficient)}`);
    }
    if (typeof jitterFactor !== "number" || !Number.isFinite(jitterFactor) || jitterFactor < 0 || jitterFactor > 1) {
      throw new ConfigError(`retryPolicy.jitterFactor must be between 0 and 1, got ${String(jitterFactor)}`);
    }
    this.maxAttempts = maxAttempts;
    this.initialIntervalMs = initialIntervalMs;
    this.maxIntervalMs = maxIntervalMs;
    this.backoffCoefficient = backoffCoefficient;
    this.jitterFactor = jitterFactor;
  }

  /**
   * A policy from plain options, or the same policy when given one; `undefined` (or `null`) gives
   * the defaults.
   *
   * @throws {@link ConfigError} when `value` is not an object, or a value is out of range.
   */
  static from(value: RetryPolicy | Partial<RetryPolicyOptions> | undefined): RetryPolicy {
    if (value instanceof RetryPolicy) return value;
    return new RetryPolicy(value ?? {});
  }

  /** The backoff before the next attempt, without jitter, after failed attempt `attemptNumber`. */
  baseDelayMs(attemptNumber: number): number {
    const exponent = Math.max(0, attemptNumber - 1);
    const grown = this.initialIntervalMs * Math.pow(this.backoffCoefficient, exponent);
    return Math.min(grown, this.maxIntervalMs);
  }

  /**
   * The delay before the next attempt after failed attempt `attemptNumber` (1-based),
   * jittered with `random` (uniform in [0, 1)).
   */
  delayMs(attemptNumber: number, random: RandomSource = Math.random): number {
    const target = this.baseDelayMs(attemptNumber);
    const jitter = target * this.jitterFactor;
    return Math.trunc(target - jitter + random() * jitter);
  }

  /** Whether another attempt may follow attempt `attemptNumber`. */
  allowsRetryAfter(attemptNumber: number): boolean {
    return attemptNumber < this.maxAttempts;
  }

  /** The plain values, as stored with a task. */
  toJSON(): RetryPolicyOptions {
    return {
      maxAttempts: this.maxAttempts,
      initialIntervalMs: this.initialIntervalMs,
      maxIntervalMs: this.maxIntervalMs,
      backoffCoefficient: this.backoffCoefficient,
      jitterFactor: this.jitterFactor,
    };
  }
}

const RETRY_POLICY_OPTION_NAMES: OptionNames<RetryPolicyOptions> = {
  maxAttempts: true,
  initialIntervalMs: true,
  maxIntervalMs: true,
  backoffCoefficient: true,
  jitterFactor: true,
};

/**
 * Throws a {@link ConfigError} unless `value` is an object that can hold retry policy options:
 * not null, an array or a function, and with no field of another name. A string such as `"fast"`
 * or a number is not silently read as the defaults, nor a misspelt `maxAttempt` ignored.
 */
export function assertRetryPolicyObject(value: unknown, name = "retryPolicy"): asserts value is Partial<RetryPolicyOptions> {
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    throw new ConfigError(`${name} must be an object such as { maxAttempts: 3 }, got ${describeArgument(value)}`);
  }
  optionsObject(value as Partial<RetryPolicyOptions>, name, RETRY_POLICY_OPTION_NAMES);
}

function stripUndefined<T extends object>(value: T): Partial<T> {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as Partial<T>;
}
