import { runStorageConformance } from "@underway/core/conformance";
import type { PgQueryable } from "@underway/queue-pg";
import { createTestDatabase, type TestDatabase } from "@underway/queue-pg/testing";
import { afterAll, beforeAll } from "vitest";
import { poolHarness } from "./support/pool-harness.js";

let database: TestDatabase;
beforeAll(async () => {
  database = await createTestDatabase({ poolSize: 60 });
});
afterAll(() => database?.drop());

runStorageConformance<PgQueryable>("PgStorage (pg.Pool)", async (options) => poolHarness(database.pool, options));
