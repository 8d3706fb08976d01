import { describe, expect, it } from "vitest";
import { ConfigError, RetryPolicy } from "../src/index.js";

describe("RetryPolicy", () => {
  it("has the crate's defaults", () => {
    expect(new RetryPolicy().toJSON()).toEqual({
      maxAttempts: 5,
      initialIntervalMs: 1_000,
      maxIntervalMs: 60_000,
      backoffCoefficient: 2,
      jitterFactor: 0.5,
    });
  });

  it("doubles from 1 s and caps at 60 s without jitter", () => {
    const policy = new RetryPolicy({ jitterFactor: 0 });
    const delays = Array.from({ length: 9 }, (_, index) => policy.delayMs(index + 1));
    expect(delays).toEqual([1_000, 2_000, 4_000, 8_000, 16_000, 32_000, 60_000, 60_000, 60_000]);
  });

  it("jitters within [t·(1−j), t] using the injected random source", () => {
    const policy = new RetryPolicy();
    expect(policy.delayMs(1, () => 0)).toBe(500);
    expect(policy.delayMs(1, () => 0.999_999)).toBe(999);
    expect(policy.delayMs(3, () => 0)).toBe(2_000);
    expect(policy.delayMs(3, () => 0.5)).toBe(3_000);
    expect(policy.delayMs(20, () => 0)).toBe(30_000);
    expect(policy.delayMs(20, () => 0.999_999)).toBeLessThanOrEqual(60_000);
    expect(policy.delayMs(20, () => 0.999_999)).toBeGreaterThan(59_900);
  });

  it("keeps every jittered delay in range for any random value", () => {
    const policy = new RetryPolicy({ jitterFactor: 0.3, initialIntervalMs: 100, maxIntervalMs: 10_000, backoffCoefficient: 3 });
    for (let attempt = 1; attempt <= 8; attempt += 1) {
      const target = policy.baseDelayMs(attempt);
      for (const random of [0, 0.1, 0.5, 0.9, 0.999_999]) {
        const delay = policy.delayMs(attempt, () => random);
        expect(delay).toBeGreaterThanOrEqual(Math.floor(target * 0.7));
        expect(delay).toBeLessThanOrEqual(target);
      }
    }
  });

  it("allows retries only while attempts remain", () => {
    const policy = new RetryPolicy({ maxAttempts: 3 });
    expect([1, 2, 3].map((attempt) => policy.allowsRetryAfter(attempt))).toEqual([true, true, false]);
  });

  it.each([
    ["maxAttempts 0", { maxAttempts: 0 }],
    ["maxAttempts 1.5", { maxAttempts: 1.5 }],
    ["maxAttempts NaN", { maxAttempts: Number.NaN }],
    ["negative initialIntervalMs", { initialIntervalMs: -1 }],
    ["infinite initialIntervalMs", { initialIntervalMs: Number.POSITIVE_INFINITY }],
    ["infinite maxIntervalMs", { maxIntervalMs: Number.POSITIVE_INFINITY }],
    ["negative maxIntervalMs", { maxIntervalMs: -5 }],
    ["maxIntervalMs below initialIntervalMs", { initialIntervalMs: 5_000, maxIntervalMs: 1_000 }],
    ["coefficient below 1", { backoffCoefficient: 0.5 }],
    ["coefficient NaN", { backoffCoefficient: Number.NaN }],
    ["coefficient infinite", { backoffCoefficient: Number.POSITIVE_INFINITY }],
    ["negative jitter", { jitterFactor: -0.1 }],
    ["jitter above 1", { jitterFactor: 1.01 }],
    ["jitter NaN", { jitterFactor: Number.NaN }],
  ])("rejects %s with a ConfigError naming the option", (_label, options) => {
    const option = Object.keys(options).at(-1)!;
    const attempt = () => new RetryPolicy(options);
    expect(attempt).toThrow(ConfigError);
    expect(attempt).toThrow(new RegExp(option));
  });

  it.each([
    ["maxAttempts", { maxAttempts: 2 ** 31 }, "retryPolicy.maxAttempts must be an integer from 1 to 2147483647, got number 2147483648"],
    ["maxAttempts", { maxAttempts: "3" }, 'retryPolicy.maxAttempts must be an integer from 1 to 2147483647, got "3"'],
    [
      "initialIntervalMs",
      { initialIntervalMs: 1e12, maxIntervalMs: 1e12 },
      "retryPolicy.initialIntervalMs must be an integer number of milliseconds from 0 to 2147483647 (about 24.8 days), got number 1000000000000",
    ],
    [
      "maxIntervalMs",
      { maxIntervalMs: 1e12 },
      "retryPolicy.maxIntervalMs must be an integer number of milliseconds from 0 to 2147483647 (about 24.8 days), got number 1000000000000",
    ],
  ])("names the accepted range of %s when a value is out of it", (_label, options, message) => {
    expect(() => new RetryPolicy(options as never)).toThrow(ConfigError);
    expect(() => new RetryPolicy(options as never)).toThrow(message);
  });

  it.each([["a string", "fast"], ["a number", 5], ["a boolean", true], ["an array", []], ["null", null], ["a function", () => ({})]])(
    "rejects %s instead of options with a ConfigError, in the constructor and in from()",
    (_label, options) => {
      expect(() => new RetryPolicy(options as never)).toThrow(ConfigError);
      expect(() => new RetryPolicy(options as never)).toThrow(/retryPolicy must be an object/);
      if (options !== null) expect(() => RetryPolicy.from(options as never)).toThrow(ConfigError);
    },
  );

  it("builds from plain options, and passes a policy through unchanged", () => {
    const policy = new RetryPolicy({ maxAttempts: 2 });
    expect(RetryPolicy.from(policy)).toBe(policy);
    expect(RetryPolicy.from({ maxAttempts: 7 }).maxAttempts).toBe(7);
    expect(RetryPolicy.from(undefined).maxAttempts).toBe(5);
  });
});
