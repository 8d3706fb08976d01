import { runStorageConformance } from "@underway/core/conformance";
import { PgStorage, type PgQueryable } from "@underway/queue-pg";
import { createTestDatabase, type TestDatabase } from "@underway/queue-pg/testing";
import { afterAll, beforeAll } from "vitest";
import { rawReads } from "./support/raw-reads.js";

let database: TestDatabase;
beforeAll(async () => {
  database = await createTestDatabase({ poolSize: 60 });
});
afterAll(() => database?.drop());

runStorageConformance<PgQueryable>("PgStorage (pg.Pool)", async ({ clock }) => {
  const storage = new PgStorage(database.pool, { clock });
  return {
    storage,
    raw: rawReads(database.pool),
    async withTransaction(body) {
      const client = await database.pool.connect();
      try {
        await client.query("BEGIN");
        const result = await body(client);
        await client.query("COMMIT");
        return result;
      } catch (error) {
        await client.query("ROLLBACK");
        throw error;
      } finally {
        client.release();
      }
    },
    teardown: () => storage.close(),
  };
});
