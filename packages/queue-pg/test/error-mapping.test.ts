import { StorageError, StorageUnavailableError, TaskNotFoundError } from "@underway/core";
import { PgStorage } from "@underway/queue-pg";
import { createTestDatabase, type TestDatabase } from "@underway/queue-pg/testing";
import pg from "pg";
import { afterAll, beforeAll, expect, it } from "vitest";

let database: TestDatabase;
beforeAll(async () => {
  database = await createTestDatabase();
});
afterAll(() => database?.drop());

it("reports an unreachable server as StorageUnavailableError, with the driver error as cause", async () => {
  const pool = new pg.Pool({ host: "127.0.0.1", port: 1, user: "postgres", connectionTimeoutMillis: 2_000 });
  pool.on("error", () => undefined);
  const storage = new PgStorage(pool);
  try {
    const failure = await storage.taskGet({ taskId: "01900000-0000-7000-8000-000000000000" }).catch((error: unknown) => error);
    expect(failure).toBeInstanceOf(StorageUnavailableError);
    expect((failure as Error).cause).toBeDefined();
    await expect(storage.subscribe(() => undefined)).rejects.toBeInstanceOf(StorageUnavailableError);
  } finally {
    await storage.close();
    await pool.end();
  }
});

it("wraps other database errors in StorageError and reports unknown tasks as not found", async () => {
  const storage = new PgStorage(database.pool, { schema: "not_migrated" });
  const failure = await storage.taskList({ queueName: "q" }).catch((error: unknown) => error);
  expect(failure).toBeInstanceOf(StorageError);
  expect(((failure as Error).cause as { code?: string }).code).toBe("42P01");
  await expect(database.storage.taskHeartbeat({ queueName: "q", taskId: "not-a-uuid", attempt: 1 })).rejects.toBeInstanceOf(TaskNotFoundError);
  await expect(
    database.storage.taskHeartbeat({ queueName: "q", taskId: "01900000-0000-7000-8000-000000000000", attempt: 1 }),
  ).rejects.toBeInstanceOf(TaskNotFoundError);
});
