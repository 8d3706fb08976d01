import { describe, expect, it } from "vitest";
import { ConfigError, MAX_STORED_DURATION_MS, validateDurationMs, validateOptionalKey, validatePriority } from "../src/index.js";

describe("durations and settings", () => {
  it("accepts non-negative integer milliseconds", () => {
    expect(validateDurationMs(0, "delayMs")).toBe(0);
    expect(validateDurationMs(1_500, "delayMs")).toBe(1_500);
    expect(validateDurationMs(MAX_STORED_DURATION_MS, "ttlMs")).toBe(MAX_STORED_DURATION_MS);
  });

  it.each([
    [-1, /at least 0/],
    [1.5, /integer/],
    [Number.NaN, /integer/],
    [Number.POSITIVE_INFINITY, /integer/],
    ["100", /integer.*"100"/],
    [10n, /BigInt/],
    [MAX_STORED_DURATION_MS + 1, /at most/],
  ])("rejects %s with a ConfigError naming the option", (value, reason) => {
    expect(() => validateDurationMs(value, "timeoutMs")).toThrow(ConfigError);
    expect(() => validateDurationMs(value, "timeoutMs")).toThrow(/timeoutMs/);
    expect(() => validateDurationMs(value, "timeoutMs")).toThrow(reason);
  });

  it("applies custom bounds", () => {
    expect(() => validateDurationMs(5, "heartbeatMs", { min: 10 })).toThrow(/at least 10/);
    expect(() => validateDurationMs(11, "x", { max: 10 })).toThrow(/at most 10/);
  });

  it("checks priorities as 32-bit integers", () => {
    expect(validatePriority(-5)).toBe(-5);
    expect(validatePriority(2_147_483_647)).toBe(2_147_483_647);
    expect(() => validatePriority(2_147_483_648)).toThrow(ConfigError);
    expect(() => validatePriority(0.5)).toThrow(ConfigError);
  });

  it("checks optional keys", () => {
    expect(validateOptionalKey(undefined, "dedupeKey")).toBeNull();
    expect(validateOptionalKey(null, "dedupeKey")).toBeNull();
    expect(validateOptionalKey("user-1", "dedupeKey")).toBe("user-1");
    expect(validateOptionalKey("🦀", "dedupeKey")).toBe("🦀");
    expect(() => validateOptionalKey("", "dedupeKey")).toThrow(/dedupeKey/);
    expect(() => validateOptionalKey("x".repeat(513), "dedupeKey")).toThrow(ConfigError);
    expect(() => validateOptionalKey("a\u0000b", "concurrencyKey")).toThrow(/NUL/);
    expect(() => validateOptionalKey("\uDC00", "concurrencyKey")).toThrow(/surrogate/);
    expect(() => validateOptionalKey(7, "concurrencyKey")).toThrow(ConfigError);
  });
});
