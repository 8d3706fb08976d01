import type { Logger, StorageEvent, StorageEventListener } from "@underway/core";
import { PgStorage } from "@underway/queue-pg";
import { countConnections, createPgliteStorage, createTestDatabase, terminateConnections, type TestDatabase } from "@underway/queue-pg/testing";
import pg from "pg";
import { afterAll, beforeAll, expect, it, vi } from "vitest";
import { newTask, waitFor } from "./support/new-task.js";

let database: TestDatabase;
beforeAll(async () => {
  database = await createTestDatabase();
});
afterAll(() => database?.drop());

/** The LISTEN connections open on the test database. */
function listeningConnections(): Promise<number> {
  return countConnections(database.pool, { databaseName: database.name, listenersOnly: true });
}

/** A second pool on the test database, closed by the caller. */
function otherPool(): pg.Pool {
  const pool = new pg.Pool({ connectionString: database.url, max: 2 });
  pool.on("error", () => undefined);
  return pool;
}

/** A subscriber that records the events it hears. */
function recorder(): { events: StorageEvent[]; listener: StorageEventListener; heard(type: StorageEvent["type"], queueName?: string): boolean } {
  const events: StorageEvent[] = [];
  return {
    events,
    listener: (event) => events.push(event),
    heard: (type, queueName) => events.some((event) => event.type === type && (queueName === undefined || ("queueName" in event && event.queueName === queueName))),
  };
}

function recordingLogger(): Logger & { warnings: string[] } {
  const warnings: string[] = [];
  const drop = () => undefined;
  return { warnings, debug: drop, info: drop, error: drop, warn: (_fields, message) => warnings.push(message) };
}

it("storages on one pool share one LISTEN connection, and closing one leaves the others listening", async () => {
  const storages = [new PgStorage(database.pool), new PgStorage(database.pool), new PgStorage(database.pool)];
  const recorders = storages.map(() => recorder());
  try {
    await Promise.all(storages.map((storage, index) => storage.subscribe(recorders[index]!.listener)));
    expect(await listeningConnections()).toBe(1);

    await storages[0]!.taskEnqueue({ queueName: "shared-before-close", tasks: [newTask()] });
    await waitFor(() => recorders.every((recorded) => recorded.heard("task:available", "shared-before-close")), "every storage's subscriber hears the task");

    await storages[0]!.close();
    expect(await listeningConnections()).toBe(1);
    await storages[1]!.taskEnqueue({ queueName: "shared-after-close", tasks: [newTask()] });
    await waitFor(() => recorders.slice(1).every((recorded) => recorded.heard("task:available", "shared-after-close")), "the open storages still hear tasks");
    // One connection delivers to every subscriber at once: the closed storage's would have heard it by now.
    expect(recorders[0]!.heard("task:available", "shared-after-close")).toBe(false);

    await storages[1]!.close();
    await storages[2]!.close();
    await waitFor(async () => (await listeningConnections()) === 0, "the LISTEN connection closes with the last storage");
  } finally {
    await Promise.all(storages.map((storage) => storage.close()));
  }
});

it("reopens the shared connection for a storage subscribing again after every subscriber left", async () => {
  const first = new PgStorage(database.pool);
  const second = new PgStorage(database.pool);
  try {
    const subscriptions = [await first.subscribe(() => undefined), await second.subscribe(() => undefined)];
    await Promise.all(subscriptions.map((subscription) => subscription.close()));
    await waitFor(async () => (await listeningConnections()) === 0, "the LISTEN connection closes after the last subscription");

    const again = recorder();
    await first.subscribe(again.listener);
    expect(await listeningConnections()).toBe(1);
    await second.taskEnqueue({ queueName: "shared-reopened", tasks: [newTask()] });
    await waitFor(() => again.heard("task:available", "shared-reopened"), "the reopened listener delivers");
  } finally {
    await Promise.all([first.close(), second.close()]);
  }
  await waitFor(async () => (await listeningConnections()) === 0, "no LISTEN connection after both storages closed");
});

it("reconnects the shared connection for the subscribers of every storage, logging to the first storage's logger", async () => {
  const pool = otherPool();
  const firstLogger = recordingLogger();
  const secondLogger = recordingLogger();
  const first = new PgStorage(pool, { logger: firstLogger });
  const second = new PgStorage(pool, { logger: secondLogger });
  const recorders = [recorder(), recorder()];
  try {
    await first.subscribe(recorders[0]!.listener);
    await second.subscribe(recorders[1]!.listener);
    expect(await terminateConnections(database.pool, { databaseName: database.name, listenersOnly: true })).toBe(1);
    await waitFor(() => recorders.every((recorded) => recorded.heard("listener:disconnected") && recorded.heard("listener:reconnected")), "both storages hear the reconnect");
    expect(await listeningConnections()).toBe(1);

    await second.notifyShutdown({ queueName: "shared-reconnected" });
    await database.pool.query("select pg_notify($1, 'not json')", [first.channels.shutdown]);
    await waitFor(() => recorders.every((recorded) => recorded.heard("shutdown", "shared-reconnected")), "both storages hear the shutdown after the reconnect");
    await waitFor(() => firstLogger.warnings.some((message) => /malformed/i.test(message)), "the malformed notification logged");
    expect(firstLogger.warnings.some((message) => /dropped/i.test(message))).toBe(true);
    expect(secondLogger.warnings).toEqual([]);
  } finally {
    await Promise.all([first.close(), second.close()]);
    await pool.end();
  }
});

it("keeps separate LISTEN connections for different pools and for different schemas", async () => {
  const pool = otherPool();
  const onDefault = recorder();
  const onOtherPool = recorder();
  const onOtherSchema = recorder();
  const storages = [new PgStorage(database.pool), new PgStorage(pool), new PgStorage(database.pool, { schema: "shared_listener_other" })];
  try {
    await storages[0]!.subscribe(onDefault.listener);
    await storages[1]!.subscribe(onOtherPool.listener);
    await storages[2]!.subscribe(onOtherSchema.listener);
    expect(await listeningConnections()).toBe(3);

    await storages[2]!.notifyShutdown({ queueName: "other-schema" });
    await storages[0]!.notifyShutdown({ queueName: "default-schema" });
    await storages[2]!.notifyShutdown({ queueName: "other-schema-again" });
    await waitFor(() => onDefault.heard("shutdown", "default-schema") && onOtherPool.heard("shutdown", "default-schema"), "both pools hear the default schema");
    await waitFor(() => onOtherSchema.heard("shutdown", "other-schema-again"), "the other schema hears its own");
    // Notifications arrive in commit order: had the schemas shared a listener, each subscriber
    // would have heard the other schema's notification before the last one it waited for.
    expect(onDefault.heard("shutdown", "other-schema")).toBe(false);
    expect(onOtherSchema.heard("shutdown", "default-schema")).toBe(false);
  } finally {
    await Promise.all(storages.map((storage) => storage.close()));
    await pool.end();
  }
  await waitFor(async () => (await listeningConnections()) === 0, "every LISTEN connection closed");
});

it("storages on one PGlite instance share one set of LISTENs, and closing one leaves the other listening", async () => {
  const { pglite, storage: first, close } = await createPgliteStorage();
  const listen = vi.spyOn(pglite, "listen");
  const second = new PgStorage(pglite);
  const recorders = [recorder(), recorder()];
  try {
    await first.subscribe(recorders[0]!.listener);
    await second.subscribe(recorders[1]!.listener);
    const channelCount = Object.keys(first.channels).length;
    expect(listen).toHaveBeenCalledTimes(channelCount);

    await second.taskEnqueue({ queueName: "pglite-shared", tasks: [newTask()] });
    await waitFor(() => recorders.every((recorded) => recorded.heard("task:available", "pglite-shared")), "both storages hear the task");

    await first.close();
    await second.taskEnqueue({ queueName: "pglite-after-close", tasks: [newTask()] });
    await waitFor(() => recorders[1]!.heard("task:available", "pglite-after-close"), "the open storage still hears tasks");
    expect(recorders[0]!.heard("task:available", "pglite-after-close")).toBe(false);
    expect(listen).toHaveBeenCalledTimes(channelCount);
  } finally {
    await second.close();
    await close();
  }
});
