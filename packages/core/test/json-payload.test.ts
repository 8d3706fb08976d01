import { describe, expect, it } from "vitest";
import { assertJsonPayload, MAX_JSON_DEPTH, ValidationError } from "../src/index.js";

function rejection(value: unknown): ValidationError {
  try {
    assertJsonPayload(value, "input");
  } catch (error) {
    expect(error).toBeInstanceOf(ValidationError);
    return error as ValidationError;
  }
  throw new Error("expected a ValidationError");
}

function nested(depth: number): unknown {
  let value: unknown = "leaf";
  for (let level = 0; level < depth; level += 1) value = { next: value };
  return value;
}

describe("assertJsonPayload", () => {
  it("accepts JSON values and returns them unchanged", () => {
    const value = { a: 1, b: [true, null, "x", { c: -0.5 }], emoji: "🦀", empty: {} };
    expect(assertJsonPayload(value)).toBe(value);
    expect(assertJsonPayload(null)).toBeNull();
    expect(assertJsonPayload("text")).toBe("text");
  });

  it("accepts an own __proto__ key as data", () => {
    const value = JSON.parse('{"__proto__": {"polluted": true}, "ok": 1}') as unknown;
    expect(assertJsonPayload(value)).toBe(value);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });

  it("drops undefined properties as JSON does, but rejects undefined at the top level", () => {
    expect(() => assertJsonPayload({ a: undefined, b: 1 })).not.toThrow();
    expect(rejection(undefined).message).toMatch(/^input is undefined/);
  });

  it("accepts the holes of a sparse array, which JSON writes as null", () => {
    // eslint-disable-next-line no-sparse-arrays
    expect(() => assertJsonPayload({ list: [1, , 3] })).not.toThrow();
    expect(rejection({ deep: [{ ok: 1 }, { bad: [0, 10n] }] }).message.startsWith("input.deep[1].bad[1] ")).toBe(true);
  });

  it.each([
    ["a BigInt", { order: { total: 10n } }, "input.order.total", /BigInt/],
    ["a function", { callback: () => 1 }, "input.callback", /function/],
    ["NaN", { ratio: Number.NaN }, "input.ratio", /NaN/],
    ["Infinity", [1, Number.POSITIVE_INFINITY], "input[1]", /Infinity/],
    ["a Date", { when: new Date(0) }, "input.when", /Date/],
    ["a Map", { lookup: new Map() }, "input.lookup", /Map/],
    ["a lone surrogate", { text: "ab\uD800c" }, "input.text", /surrogate/],
    ["undefined in an array", { list: [1, undefined] }, "input.list[1]", /undefined/],
    ["a symbol", { tag: Symbol("x") }, "input.tag", /symbol/],
    ["a key that is not an identifier", { "odd key": 1n }, 'input["odd key"]', /BigInt/],
  ])("rejects %s with a ValidationError naming the path", (_label, value, path, reason) => {
    const error = rejection(value);
    expect(error.message.startsWith(`${path} `)).toBe(true);
    expect(error.message).toMatch(reason);
    expect(error.issues.length).toBeGreaterThan(0);
  });

  it("rejects cycles", () => {
    const value: Record<string, unknown> = { name: "loop" };
    value.self = value;
    expect(rejection(value).message).toMatch(/^input\.self is a circular reference/);
  });

  it("accepts a value shared twice without a cycle", () => {
    const shared = { id: 1 };
    expect(() => assertJsonPayload({ a: shared, b: shared })).not.toThrow();
  });

  it("rejects nesting deeper than the limit and accepts it at the limit", () => {
    expect(() => assertJsonPayload(nested(MAX_JSON_DEPTH))).not.toThrow();
    expect(rejection(nested(MAX_JSON_DEPTH + 1)).message).toMatch(/nested deeper than/);
  });
});
