import pg from "pg";
import { createTestDatabase, testServerUrl } from "@underway/queue-pg/testing";
import { describe, expect, it } from "vitest";

async function databaseExists(name: string): Promise<boolean> {
  const client = new pg.Client({ connectionString: testServerUrl() });
  await client.connect();
  try {
    const { rowCount } = await client.query("select 1 from pg_database where datname = $1", [name]);
    return rowCount === 1;
  } finally {
    await client.end();
  }
}

describe("createTestDatabase", () => {
  it("drops its database even while a client is still checked out of its pool", async () => {
    const database = await createTestDatabase();
    expect(await databaseExists(database.name)).toBe(true);
    // As a test that failed mid-way leaves it: a client never released, so pool.end() never ends.
    const client = await database.pool.connect();
    // Its connection is ended by the drop; the error that raises is expected.
    client.on("error", () => undefined);
    await client.query("select 1");
    await database.drop();
    expect(await databaseExists(database.name)).toBe(false);
    // Dropping with FORCE ended its connection.
    await expect(client.query("select 1")).rejects.toThrow();
  });
});
