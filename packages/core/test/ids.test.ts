import { describe, expect, it } from "vitest";
import { isTaskId, newTaskId } from "../src/index.js";

const UUID_V7 = /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

describe("task ids", () => {
  it("are version 7 UUIDs in lowercase canonical form", () => {
    for (let index = 0; index < 100; index += 1) {
      const id = newTaskId();
      expect(id).toMatch(UUID_V7);
      expect(isTaskId(id)).toBe(true);
    }
  });

  it("carry their creation time in the first 48 bits", () => {
    const before = Date.now();
    const id = newTaskId();
    const after = Date.now();
    const millis = Number.parseInt(id.replace(/-/g, "").slice(0, 12), 16);
    expect(millis).toBeGreaterThanOrEqual(before);
    // A burst of ids in one millisecond may borrow the next few milliseconds.
    expect(millis).toBeLessThanOrEqual(after + 5);
  });

  it("are 10 000 unique, time-ordered values even within one millisecond", () => {
    const ids = Array.from({ length: 10_000 }, () => newTaskId());
    expect(new Set(ids).size).toBe(10_000);
    expect([...ids].sort()).toEqual(ids);
  });


  it("are recognised only in canonical UUID form", () => {
    expect(isTaskId("not-a-uuid")).toBe(false);
    expect(isTaskId(42)).toBe(false);
    expect(isTaskId("0192f1c47d3a7c019a8e3f1b2c4d5e6f")).toBe(false);
  });
});
