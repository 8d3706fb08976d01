import { describe, expect, it } from "vitest";
import { ConfigError, MAX_QUEUE_NAME_LENGTH, validateQueueName } from "../src/index.js";

describe("validateQueueName", () => {
  it.each(["emails", "emails.welcome", "orders:eu-west/1", "報告", "a", "x".repeat(MAX_QUEUE_NAME_LENGTH)])("accepts %s", (name) => {
    expect(validateQueueName(name)).toBe(name);
  });

  it.each([
    ["an empty name", "", /must not be empty/],
    ["a name that is too long", "x".repeat(MAX_QUEUE_NAME_LENGTH + 1), /at most 128/],
    ["a space", "has space", /U\+0020/],
    ["a tab", "tab\there", /U\+0009/],
    ["a newline", "line\nbreak", /U\+000A/],
    ["a NUL", "nul\u0000", /U\+0000/],
    ["a zero-width space", "zero\u200Bwidth", /U\+200B/],
    ["a lone surrogate", "half\uD800", /U\+D800/],
  ])("rejects %s with a ConfigError", (_label, name, reason) => {
    expect(() => validateQueueName(name)).toThrow(ConfigError);
    expect(() => validateQueueName(name)).toThrow(reason);
  });

  it("rejects values that are not strings", () => {
    expect(() => validateQueueName(42)).toThrow(/must be a string/);
  });

  it("counts characters, not UTF-16 units", () => {
    expect(validateQueueName("🦀".repeat(MAX_QUEUE_NAME_LENGTH))).toHaveLength(2 * MAX_QUEUE_NAME_LENGTH);
  });
});
