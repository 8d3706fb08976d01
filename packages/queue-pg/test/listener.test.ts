import type { Logger, StorageEvent } from "@underway/core";
import { PgStorage } from "@underway/queue-pg";
import { createTestDatabase, terminateConnections, type TestDatabase } from "@underway/queue-pg/testing";
import { afterAll, beforeAll, expect, it } from "vitest";
import { newTask, waitFor } from "./support/new-task.js";

let database: TestDatabase;
beforeAll(async () => {
  database = await createTestDatabase();
});
afterAll(() => database?.drop());

function recordingLogger(): Logger & { warnings: string[] } {
  const warnings: string[] = [];
  const drop = () => undefined;
  return { warnings, debug: drop, info: drop, error: drop, warn: (_fields, message) => warnings.push(message) };
}

it("shares one LISTEN connection between subscribers and reconnects after the server kills it", async () => {
  const logger = recordingLogger();
  const storage = new PgStorage(database.pool, { logger });
  const first: StorageEvent[] = [];
  const second: StorageEvent[] = [];
  const subscriptions = [await storage.subscribe((event) => first.push(event)), await storage.subscribe((event) => second.push(event))];
  try {
    const listeners = await database.pool.query(
      "select count(*)::int as count from pg_stat_activity where datname = $1 and application_name = 'underway-listener'",
      [database.name],
    );
    expect(listeners.rows[0].count).toBe(1);
    expect(await terminateConnections(database.pool, { databaseName: database.name, listenersOnly: true })).toBe(1);
    await waitFor(() => first.some((event) => event.type === "listener:disconnected"), "listener:disconnected");
    await waitFor(() => first.some((event) => event.type === "listener:reconnected"), "listener:reconnected");
    await storage.taskEnqueue({ queueName: "after-reconnect", tasks: [newTask()] });
    const heard = (events: StorageEvent[]) => events.some((event) => event.type === "task:available" && event.queueName === "after-reconnect");
    await waitFor(() => heard(first) && heard(second), "task:available after the reconnect");
  } finally {
    await Promise.all(subscriptions.map((subscription) => subscription.close()));
    await storage.close();
  }
});

it("logs and ignores malformed notifications, and keeps delivering", async () => {
  const logger = recordingLogger();
  const storage = new PgStorage(database.pool, { logger });
  const events: StorageEvent[] = [];
  const subscription = await storage.subscribe((event) => {
    events.push(event);
    if (event.type === "task:finished") throw new Error("a subscriber bug must not stop delivery");
  });
  try {
    const { taskCancelRequested, shutdown, taskFinished } = storage.channels;
    await database.pool.query("select pg_notify($1, 'not json'), pg_notify($2, '[1,2]'), pg_notify($3, 'x')", [taskCancelRequested, shutdown, taskFinished]);
    await storage.notifyShutdown({ queueName: "orders" });
    await waitFor(() => events.some((event) => event.type === "shutdown"), "the valid shutdown event");
    expect(events.filter((event) => event.type === "shutdown")).toEqual([{ type: "shutdown", queueName: "orders" }]);
    expect(events.some((event) => event.type === "task:cancel-requested")).toBe(false);
    expect(logger.warnings.filter((message) => /malformed/i.test(message))).toHaveLength(2);
  } finally {
    await subscription.close();
    await storage.close();
  }
});
