import { runStorageConformance } from "@underway/core/conformance";
import { ConfigError } from "@underway/core";
import { PgStorage, type PgQueryable } from "@underway/queue-pg";
import { createPgliteStorage, createTestDatabase, type TestDatabase } from "@underway/queue-pg/testing";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { poolHarness } from "./support/pool-harness.js";

// `preparedStatements: false` and `sessionConnection`, for a pool behind a pooler in transaction
// mode (test/pgbouncer runs them behind a real PgBouncer): here, what they change on a plain pool.
let database: TestDatabase;
/** The client options of every connection the recording pool made, in order. */
const connectionConfigs: pg.ClientConfig[] = [];
let recordingPool: pg.Pool;

class RecordingClient extends pg.Client {
  constructor(config: pg.ClientConfig) {
    super(config);
    connectionConfigs.push(config);
  }
}

beforeAll(async () => {
  database = await createTestDatabase({ poolSize: 60 });
  recordingPool = new pg.Pool({ connectionString: database.url, max: 60, Client: RecordingClient as unknown as typeof pg.Client });
  recordingPool.on("error", () => undefined);
});
afterAll(async () => {
  await recordingPool?.end();
  await database?.drop();
});

/** How many prepared statements the pool's sessions hold, all of them checked out at once. */
async function preparedStatementsOnSessions(pool: pg.Pool): Promise<number> {
  const clients = await Promise.all(Array.from({ length: pool.totalCount }, () => pool.connect()));
  try {
    const counts = await Promise.all(clients.map((client) => client.query("select count(*)::int as count from pg_prepared_statements")));
    return counts.reduce((sum, result) => sum + (result.rows[0] as { count: number }).count, 0);
  } finally {
    for (const client of clients) client.release();
  }
}

describe("preparedStatements: false", () => {
  runStorageConformance<PgQueryable>("PgStorage (pg.Pool, no prepared statements)", async (options) =>
    poolHarness(database.pool, options, { preparedStatements: false }),
  );

  it("leaves no prepared statement on the pool's sessions, where the default leaves them", async () => {
    const pool = new pg.Pool({ connectionString: database.url, max: 4 });
    try {
      const unnamed = new PgStorage(pool, { preparedStatements: false });
      await unnamed.queueUpsert({ queueName: "unnamed" });
      await unnamed.taskClaim({ queueName: "unnamed", limit: 1 });
      expect(await preparedStatementsOnSessions(pool)).toBe(0);
      const named = new PgStorage(pool);
      await named.taskClaim({ queueName: "unnamed", limit: 1 });
      expect(await preparedStatementsOnSessions(pool)).toBeGreaterThan(0);
    } finally {
      await pool.end();
    }
  });
});

describe("sessionConnection", () => {
  it("is where the listening and leadership connections connect; the pool's own options elsewhere", async () => {
    const storage = new PgStorage(recordingPool, { sessionConnection: { connectionString: database.url, statement_timeout: 123_456 } });
    const subscription = await storage.subscribe(() => undefined);
    const lock = await storage.lockTry({ key: "session-connection" });
    expect(lock).not.toBeNull();
    await storage.taskClaim({ queueName: "session-connection", limit: 1 });
    const sessions = connectionConfigs.filter((config) => config.application_name === "underway-listener" || config.application_name === "underway-lock");
    expect(sessions.map((config) => config.application_name).sort()).toEqual(["underway-listener", "underway-lock"]);
    for (const config of sessions) expect(config).toMatchObject({ connectionString: database.url, statement_timeout: 123_456 });
    const pooled = connectionConfigs.filter((config) => config.application_name === undefined);
    expect(pooled.length).toBeGreaterThan(0);
    for (const config of pooled) expect(config.statement_timeout).toBeUndefined();
    const { rows } = await database.pool.query(
      "select application_name from pg_stat_activity where datname = current_database() and application_name in ('underway-listener', 'underway-lock') order by 1",
    );
    expect(rows.map((row: { application_name: string }) => row.application_name)).toEqual(["underway-listener", "underway-lock"]);
    await lock!.release();
    await subscription.close();
    await storage.close();
  });

  it("takes a connection string", async () => {
    connectionConfigs.length = 0;
    const storage = new PgStorage(recordingPool, { sessionConnection: database.url });
    const lock = await storage.lockTry({ key: "session-connection-string" });
    await lock!.release();
    await storage.close();
    expect(connectionConfigs.find((config) => config.application_name === "underway-lock")).toMatchObject({ connectionString: database.url });
  });

  it("refuses what is neither a connection string nor client options, and both options on PGlite", async () => {
    for (const sessionConnection of [42, null, "", ["postgres://x"]]) {
      expect(() => new PgStorage(database.pool, { sessionConnection: sessionConnection as never }), String(sessionConnection)).toThrow(ConfigError);
    }
    expect(() => new PgStorage(database.pool, { preparedStatements: "no" as never })).toThrow(ConfigError);
    const embedded = await createPgliteStorage();
    try {
      expect(() => new PgStorage(embedded.pglite, { preparedStatements: false })).toThrow(ConfigError);
      expect(() => new PgStorage(embedded.pglite, { sessionConnection: database.url })).toThrow(ConfigError);
    } finally {
      await embedded.close();
    }
  });
});
