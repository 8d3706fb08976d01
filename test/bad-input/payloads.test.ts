import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Queue, ValidationError, type StorageAdapter, type Task } from "@underway/core";
import { MemoryStorage } from "@underway/core/testing";
import { createTestDatabase, type TestDatabase } from "@underway/queue-pg/testing";
import { outcomeOf, recordUnhandledRejections } from "./support/outcome.js";

const unhandledRejections = recordUnhandledRejections();
const task: Task<unknown> = { execute: () => undefined };

/** A payload nested `depth` levels deep. */
function nested(depth: number): unknown {
  let value: unknown = "bottom";
  for (let level = 0; level < depth; level += 1) value = level % 2 === 0 ? { next: value } : [value];
  return value;
}

/**
 * JSON text with every object's keys sorted: equal texts mean deep-equal JSON values. Own
 * `__proto__` keys are read as data, never as the prototype (a plain deep-equal trips on them).
 */
function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(",")}]`;
  if (typeof value === "object" && value !== null) {
    const keys = Object.keys(value).filter((key) => (value as Record<string, unknown>)[key] !== undefined).sort();
    return `{${keys.map((key) => `${JSON.stringify(key)}:${canonicalJson(Object.getOwnPropertyDescriptor(value, key)!.value)}`).join(",")}}`;
  }
  return JSON.stringify(value);
}

function withCycle(): unknown {
  const parent: Record<string, unknown> = { name: "parent" };
  parent.child = { parent };
  return parent;
}

/** Inputs that JSON cannot keep exactly: each must be refused with a ValidationError. */
const unstorable: Array<[string, unknown]> = [
  ["a BigInt", { amount: 10n }],
  ["a cycle", withCycle()],
  ["a function", { callback: () => 1 }],
  ["a symbol", { tag: Symbol("x") }],
  ["a lone high surrogate", { text: "a\uD800b" }],
  ["a lone low surrogate in a key", { ["\uDC00"]: 1 }],
  ["a NUL character", { text: "before\u0000after" }],
  ["a NUL character in a key", { ["a\u0000"]: 1 }],
  ["NaN", { value: Number.NaN }],
  ["Infinity", [Number.POSITIVE_INFINITY]],
  ["undefined at the top", undefined],
  ["undefined in an array", [1, undefined]],
  ["a Date", { at: new Date(0) }],
  ["a Map", new Map([["a", 1]])],
  ["nesting 600 levels deep", nested(600)],
];

/** Inputs that must be stored and read back exactly. */
const storable: Array<[string, unknown]> = [
  ["SQL in a string", { note: "'; drop table underway.task; --" }],
  ["SQL in a key", { ["'); delete from underway.task; --"]: "x" }],
  ["a __proto__ key", JSON.parse('{"__proto__": {"polluted": true}, "constructor": {"prototype": 1}}')],
  ["emoji and astral characters", { text: "🦀 𝄞 \u{10FFFF}" }],
  ["nesting 400 levels deep", nested(400)],
  ["a 4 MB string", { blob: "x".repeat(4 * 1024 * 1024) }],
  ["20 000 array items", Array.from({ length: 20_000 }, (_, index) => index)],
  ["extreme numbers", [Number.MAX_VALUE, Number.MIN_VALUE, Number.MAX_SAFE_INTEGER, -Number.MAX_SAFE_INTEGER, 1e-7, 0.1]],
  ["an empty key and an empty string", { "": "" }],
  ["null", null],
];

function storageCases(): Array<[string, () => Promise<{ storage: StorageAdapter<unknown>; close(): Promise<void> }>]> {
  return [
    ["MemoryStorage", async () => ({ storage: new MemoryStorage() as StorageAdapter<unknown>, close: async () => undefined })],
    [
      "PgStorage",
      async () => {
        const database: TestDatabase = await createTestDatabase({ poolSize: 4 });
        return { storage: database.storage as StorageAdapter<unknown>, close: () => database.drop() };
      },
    ],
  ];
}

describe.each(storageCases())("payloads on %s", (_name, open) => {
  let storage: StorageAdapter<unknown>;
  let close: () => Promise<void>;
  let queue: Queue<unknown, unknown>;
  let expectedRows = 0;

  async function rowCount(): Promise<number> {
    return (await storage.taskList({ queueName: queue.name, limit: 1_000_000 })).length;
  }

  /** Enqueues `input` (alone and in a batch); checks the round trip or that nothing was written. */
  async function enqueueAndCheck(input: unknown): Promise<boolean> {
    const single = await outcomeOf(() => queue.enqueue(task, input));
    const batch = await outcomeOf(() => queue.enqueueMany(task, [{ fine: true }, input]));
    expect(batch.accepted).toBe(single.accepted);
    if (single.accepted && batch.accepted) {
      expectedRows += 3;
      const storedSingle = await storage.taskGet({ taskId: single.value });
      const storedBatch = await storage.taskGet({ taskId: batch.value[1]! });
      // Key order is the storage's business (jsonb sorts keys); everything else must match.
      const expected = canonicalJson(input);
      expect(canonicalJson(storedSingle?.input)).toBe(expected);
      expect(canonicalJson(storedBatch?.input)).toBe(expected);
    } else {
      expect(single.accepted ? null : single.error).toBeInstanceOf(ValidationError);
      expect(batch.accepted ? null : batch.error).toBeInstanceOf(ValidationError);
    }
    expect(await rowCount()).toBe(expectedRows);
    return single.accepted;
  }

  beforeAll(async () => {
    ({ storage, close } = await open());
    queue = await Queue.builder().name("bad-payloads").storage(storage).build();
  });

  afterAll(async () => {
    await close();
    expect(unhandledRejections).toEqual([]);
  });

  it("keeps a __proto__ key as an own property, not as the read-back object's prototype", async () => {
    const id = await queue.enqueue(task, JSON.parse('{"__proto__": {"polluted": true}}'));
    expectedRows += 1;
    const stored = (await storage.taskGet({ taskId: id }))!.input as object;
    expect(Object.getPrototypeOf(stored)).toBe(Object.prototype);
    expect(Object.keys(stored)).toEqual(["__proto__"]);
    expect((stored as { polluted?: unknown }).polluted).toBeUndefined();
  });

  it.each(unstorable)("rejects %s with a ValidationError and writes nothing", async (_label, input) => {
    expect(await enqueueAndCheck(input)).toBe(false);
  });

  it.each(storable)("stores %s as data and reads it back exactly", async (_label, input) => {
    expect(await enqueueAndCheck(input)).toBe(true);
    // A stored "__proto__" key stays a key: no prototype of the process was touched.
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });

  it("accepts any JSON value and reads it back deep-equal, or rejects it with a ValidationError (property)", async () => {
    await fc.assert(
      fc.asyncProperty(fc.jsonValue({ maxDepth: 6, stringUnit: "binary" }), async (input) => {
        await enqueueAndCheck(input);
      }),
      { numRuns: 150 },
    );
  });

  it("rejects any value that holds a BigInt, a function or a lone surrogate, wherever it hides (property)", async () => {
    const poison = fc.oneof(fc.bigInt(), fc.constant(() => 0), fc.constantFrom("\uD800", "x\uDFFFy", "\u0000"));
    const container = fc.letrec((tie) => ({
      node: fc.oneof({ depthSize: "small" }, poison, fc.array(tie("node"), { minLength: 1, maxLength: 3 }), fc.dictionary(fc.string(), tie("node"), { minKeys: 1, maxKeys: 3 })),
    })).node;
    await fc.assert(
      fc.asyncProperty(container, async (input) => {
        expect(await enqueueAndCheck(input)).toBe(false);
      }),
      { numRuns: 100 },
    );
  });
});
