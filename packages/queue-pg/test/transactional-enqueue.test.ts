import { ConfigError, Queue, ValidationError, type Task } from "@underway/core";
import type { PgQueryable } from "@underway/queue-pg";
import { createTestDatabase, type TestDatabase } from "@underway/queue-pg/testing";
import pg from "pg";
import { afterAll, beforeAll, expect, it } from "vitest";
import { newTask, waitFor } from "./support/new-task.js";

let database: TestDatabase;
let listener: pg.Client;
const heard: string[] = [];
const noop: Task<{ n: number }, unknown, PgQueryable> = { execute: () => undefined };

beforeAll(async () => {
  database = await createTestDatabase();
  listener = new pg.Client({ connectionString: database.url });
  listener.on("error", () => undefined);
  await listener.connect();
  listener.on("notification", (message) => {
    if (message.channel === database.storage.channels.taskAvailable) heard.push(message.payload ?? "");
  });
  await listener.query(`LISTEN "${database.storage.channels.taskAvailable}"`);
});
afterAll(async () => {
  await listener?.end();
  await database?.drop();
});

async function taskCount(queueName: string): Promise<number> {
  const result = await database.pool.query("select count(*)::int as count from underway.task where task_queue_name = $1", [queueName]);
  return result.rows[0].count;
}

it("writes nothing and notifies nobody when the caller's transaction rolls back", async () => {
  const queue = await Queue.builder<{ n: number }>().name("tx-rollback").storage(database.storage).build();
  const client = await database.pool.connect();
  await client.query("BEGIN");
  await queue.enqueue(noop, { n: 1 }, { tx: client });
  await queue.enqueueMany(noop, [{ n: 2 }, { n: 3 }], { tx: client });
  await client.query("ROLLBACK");
  client.release();
  expect(await taskCount("tx-rollback")).toBe(0);
  // A later committed enqueue on another queue is heard; had the rollback notified, it would be first.
  const marker = await Queue.builder<{ n: number }>().name("tx-marker").storage(database.storage).build();
  await marker.enqueue(noop, { n: 0 });
  await waitFor(() => heard.includes("tx-marker"), "the marker's notification");
  expect(heard).not.toContain("tx-rollback");
});

it("notifies another connection once, and only after the commit", async () => {
  const queue = await Queue.builder<{ n: number }>().name("tx-commit").storage(database.storage).build();
  const client = await database.pool.connect();
  await client.query("BEGIN");
  const id = await queue.enqueue(noop, { n: 1 }, { tx: client });
  await queue.enqueueMany(noop, [{ n: 2 }, { n: 3 }], { tx: client });
  const marker = await Queue.builder<{ n: number }>().name("tx-marker-2").storage(database.storage).build();
  await marker.enqueue(noop, { n: 0 });
  await waitFor(() => heard.includes("tx-marker-2"), "the marker's notification");
  expect(heard).not.toContain("tx-commit");
  expect(await taskCount("tx-commit")).toBe(0);
  await client.query("COMMIT");
  client.release();
  await waitFor(() => heard.includes("tx-commit"), "the commit's notification");
  expect(await taskCount("tx-commit")).toBe(3);
  expect((await queue.getTask(id))?.state).toBe("pending");
  // Postgres folds the transaction's notifications of one queue into one.
  await marker.enqueue(noop, { n: 1 });
  await waitFor(() => heard.filter((payload) => payload === "tx-marker-2").length === 2, "a second marker");
  expect(heard.filter((payload) => payload === "tx-commit")).toHaveLength(1);
});

it.each([
  ["a string", "tx"],
  ["a number", 5],
  ["an object without query", {}],
  ["an object whose query is not a function", { query: 5 }],
])("refuses %s as the transaction with a ConfigError and writes nothing", async (label, tx) => {
  const queueName = `tx-malformed-${label.replace(/ /g, "-")}`;
  const queue = await Queue.builder<{ n: number }>().name(queueName).storage(database.storage).build();
  const id = await queue.enqueue(noop, { n: 0 });
  const options = { tx } as unknown as { tx: PgQueryable };
  await expect(queue.enqueue(noop, { n: 1 }, options)).rejects.toThrow(ConfigError);
  await expect(queue.enqueue(noop, { n: 1 }, options)).rejects.toThrow(/tx expects a transaction with a query\(text, params\) method/);
  await expect(queue.enqueueMany(noop, [{ n: 2 }, { n: 3 }], options)).rejects.toThrow(ConfigError);
  await expect(queue.cancel(id, options)).rejects.toThrow(ConfigError);
  expect(await taskCount(queueName)).toBe(1);
  expect((await queue.getTask(id))?.state).toBe("pending");
});

it("refuses an input too large to become JSON text with a ValidationError and writes nothing", async () => {
  const queueName = "too-large";
  await database.storage.queueUpsert({ queueName });
  // JSON.stringify throws this RangeError for text longer than Node's longest string (~512 MB).
  const tooLarge = { toJSON: () => { throw new RangeError("Invalid string length"); } };
  const task = { ...newTask(), input: tooLarge as never };
  await expect(database.storage.taskEnqueue({ queueName, tasks: [task] })).rejects.toThrow(ValidationError);
  await expect(database.storage.taskEnqueue({ queueName, tasks: [newTask(), task] })).rejects.toThrow(/too large to send to Postgres as JSON/);
  expect(await taskCount(queueName)).toBe(0);
});
