import type { PGlite } from "@electric-sql/pglite";
import { runStorageConformance } from "@underway/core/conformance";
import { openEmbeddedPostgres, PgStorage, runMigrations, type PgQueryable } from "@underway/queue-pg";
import { afterAll, beforeAll } from "vitest";
import { rawReads } from "./support/raw-reads.js";

let pglite: PGlite;
beforeAll(async () => {
  pglite = await openEmbeddedPostgres();
  await runMigrations(pglite);
});
afterAll(() => pglite?.close());

runStorageConformance<PgQueryable>("PgStorage (PGlite)", async ({ clock }) => {
  const storage = new PgStorage(pglite, { clock });
  return {
    storage,
    raw: rawReads(pglite as unknown as PgQueryable),
    withTransaction: (body) => pglite.transaction((transaction) => body(transaction as unknown as PgQueryable)),
    teardown: () => storage.close(),
  };
});
