import { Queue, type Task } from "@underway/core";
import type { PgQueryable } from "@underway/queue-pg";
import { createTestDatabase, type TestDatabase } from "@underway/queue-pg/testing";
import { afterAll, beforeAll, expect, it } from "vitest";

let database: TestDatabase;
beforeAll(async () => {
  database = await createTestDatabase();
});
afterAll(() => database?.drop());

const noop: Task<unknown, unknown, PgQueryable> = { execute: () => undefined };

it.each([`it's"quoted"`, "rob');drop_table_underway.task;--", "émail-naïve", "队列-очередь-🚀", "back\\slash"])(
  "round-trips the queue name %s as data",
  async (queueName) => {
    const queue = await Queue.builder().name(queueName).deadLetterQueue(`${queueName}-dlq`).storage(database.storage).build();
    const id = await queue.enqueue(noop, { queueName });
    const [claimed] = await database.storage.taskClaim({ queueName, limit: 1 });
    expect(claimed).toMatchObject({ id, queueName, input: { queueName } });
    const failed = await database.storage.taskFail({ queueName, taskId: id, attempt: 1, errorMessage: "to the dlq" });
    expect(failed.deadLetterQueueName).toBe(`${queueName}-dlq`);
    expect((await queue.getTask(id))?.queueName).toBe(`${queueName}-dlq`);
    const tables = await database.pool.query("select count(*)::int as count from underway.task");
    expect(tables.rows[0].count).toBeGreaterThan(0);
  },
);
