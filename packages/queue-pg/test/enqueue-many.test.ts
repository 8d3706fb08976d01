import { Queue, ValidationError, newTaskId, type JsonValue, type NewTask, type Task } from "@underway/core";
import type { PgQueryable } from "@underway/queue-pg";
import { createTestDatabase, type TestDatabase } from "@underway/queue-pg/testing";
import { afterAll, beforeAll, expect, it } from "vitest";

let database: TestDatabase;
beforeAll(async () => {
  database = await createTestDatabase();
});
afterAll(() => database?.drop());

// A Standard Schema written out by hand: integers only.
const integerInput = {
  "~standard": {
    version: 1 as const,
    vendor: "queue-pg-test",
    validate: (value: unknown) =>
      typeof value === "object" && value !== null && Number.isInteger((value as { n?: unknown }).n)
        ? { value: value as { n: number } }
        : { issues: [{ message: "n must be an integer", path: ["n"] }] },
  },
};
const numbered: Task<{ n: number }, unknown, PgQueryable> = { execute: () => undefined, schema: integerInput };

async function count(queueName: string): Promise<number> {
  const result = await database.pool.query("select count(*)::int as count from underway.task where task_queue_name = $1", [queueName]);
  return result.rows[0].count;
}

it("enqueues 100 000 small inputs in one call, ids in input order", async () => {
  const queue = await Queue.builder<{ n: number }>().name("hundred-k").storage(database.storage).build();
  const inputs = Array.from({ length: 100_000 }, (_, n) => ({ n }));
  const ids = await queue.enqueueMany(numbered, inputs);
  expect(ids).toHaveLength(100_000);
  expect(await count("hundred-k")).toBe(100_000);
  for (const index of [0, 4_999, 5_000, 54_321, 99_999]) {
    expect((await queue.getTask(ids[index]!))?.input).toEqual({ n: index });
  }
}, 120_000);

it("writes nothing when one input of the batch is invalid", async () => {
  const queue = await Queue.builder<{ n: number }>().name("one-bad").storage(database.storage).build();
  const inputs = Array.from({ length: 1_000 }, (_, n) => ({ n }));
  inputs[777] = { n: 1.5 };
  await expect(queue.enqueueMany(numbered, inputs)).rejects.toBeInstanceOf(ValidationError);
  expect(await count("one-bad")).toBe(0);
});

it("rolls back every chunk when a later chunk fails in the database", async () => {
  const queue = await Queue.builder<{ n: number }>().name("chunk-fail").storage(database.storage).build();
  const prepared = await Promise.all(Array.from({ length: 12_000 }, (_, n) => queue.prepare(numbered, { n })));
  // The same id twice, far apart: the second chunk violates the primary key.
  prepared[11_000] = { ...prepared[11_000]!, id: prepared[10]!.id };
  await expect(database.storage.taskEnqueue({ queueName: "chunk-fail", tasks: prepared })).rejects.toMatchObject({ code: "STORAGE" });
  expect(await count("chunk-fail")).toBe(0);
});

it("stores the same records whether a batch shares its settings or each task has its own", async () => {
  const storage = database.storage;
  const inputs: JsonValue[] = [{ text: "naïve ☃ \"quoted\" \\ back,slash" }, { nested: { list: [1, 2.5, null, true], empty: {} } }, [], "plain", 0];
  const shared = { priority: 3, delayMs: 0, timeoutMs: 5_000, ttlMs: 60_000, heartbeatMs: 2_000, correlationId: "batch-7" };
  const policy = { maxAttempts: 2, initialIntervalMs: 10, maxIntervalMs: 20, backoffCoefficient: 1.5, jitterFactor: 0 };
  const newTasks = (priorityOf: (index: number) => number): NewTask[] =>
    inputs.map((input, index) => ({
      ...shared,
      id: newTaskId(),
      input,
      priority: priorityOf(index),
      retryPolicy: { ...policy },
      concurrencyKey: null,
      dedupeKey: null,
    }));
  const uniform = newTasks(() => 3);
  const mixed = newTasks((index) => (index === 0 ? 4 : 3));
  await storage.taskEnqueue({ queueName: "shape-uniform", tasks: uniform });
  await storage.taskEnqueue({ queueName: "shape-mixed", tasks: mixed });
  const comparable = async (tasks: NewTask[]) =>
    Promise.all(
      tasks.map(async ({ id }) => {
        const record = await storage.taskGet({ taskId: id });
        const { id: _id, queueName: _queue, createdAt: _c, updatedAt: _u, runAt: _r, priority: _p, ...rest } = record!;
        return rest;
      }),
    );
  const fromUniform = await comparable(uniform);
  expect(fromUniform.map((record) => record.input)).toEqual(inputs);
  expect(fromUniform[0]).toMatchObject({ timeoutMs: 5_000, ttlMs: 60_000, heartbeatMs: 2_000, correlationId: "batch-7", retryPolicy: policy });
  expect(fromUniform).toEqual(await comparable(mixed));
});

it("stores the same record for one task, with the default settings or others, as for a batch", async () => {
  const storage = database.storage;
  const defaults = { priority: 0, delayMs: 0, timeoutMs: 15 * 60_000, ttlMs: 14 * 24 * 3_600_000, heartbeatMs: 30_000 };
  const defaultPolicy = { maxAttempts: 5, initialIntervalMs: 1_000, maxIntervalMs: 60_000, backoffCoefficient: 2, jitterFactor: 0.5 };
  const variants: Array<Omit<NewTask, "id" | "input">> = [
    { ...defaults, retryPolicy: defaultPolicy, concurrencyKey: null, dedupeKey: null, correlationId: null },
    { ...defaults, retryPolicy: defaultPolicy, concurrencyKey: null, dedupeKey: null, correlationId: "order-9" },
    { ...defaults, timeoutMs: 1_000, retryPolicy: defaultPolicy, concurrencyKey: null, dedupeKey: null, correlationId: null },
    { ...defaults, retryPolicy: { ...defaultPolicy, jitterFactor: 0 }, concurrencyKey: null, dedupeKey: null, correlationId: null },
  ];
  for (const [index, settings] of variants.entries()) {
    const alone: NewTask = { ...settings, id: newTaskId(), input: { index } };
    const inBatch: NewTask[] = [alone, alone].map((task) => ({ ...task, id: newTaskId() }));
    await storage.taskEnqueue({ queueName: "shape-one", tasks: [alone] });
    await storage.taskEnqueue({ queueName: "shape-one", tasks: inBatch });
    const comparable = async (id: string) => {
      const { id: _id, createdAt: _c, updatedAt: _u, runAt: _r, ...rest } = (await storage.taskGet({ taskId: id }))!;
      return rest;
    };
    const stored = await comparable(alone.id);
    expect(stored).toMatchObject({ ...settings, input: { index }, state: "pending" });
    expect(stored).toEqual(await comparable(inBatch[0]!.id));
  }
});
