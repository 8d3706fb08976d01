import { Queue, type Task } from "@underway/core";
import type { PgQueryable } from "@underway/queue-pg";
import { createTestDatabase, type TestDatabase } from "@underway/queue-pg/testing";
import pg from "pg";
import { afterAll, beforeAll, expect, it } from "vitest";
import { waitFor } from "./support/new-task.js";

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
