import type { PGlite } from "@electric-sql/pglite";
import type { Clock } from "@underway/core";
import { openEmbeddedPostgres } from "../embedded-postgres.js";
import { runMigrations } from "../migrate.js";
import { PgStorage } from "../pg-storage.js";

/** Options of {@link createPgliteStorage}. */
export interface PgliteStorageOptions {
  /** Persist to this directory (reopen it to test durability). Default: in memory. */
  dataDir?: string;
  /** The schema to migrate and use. Default `"underway"`. */
  schema?: string;
  /** Where the storage reads "now" (a manual clock moves time without waiting). Default: the database's time when each statement starts. */
  clock?: Clock;
}

/**
 * A PgStorage on a new PGlite instance, migrated.
 *
 * @example
 * ```ts
 * const { storage, close } = await createPgliteStorage();
 * afterAll(close);
 * ```
 */
export async function createPgliteStorage(
  options: PgliteStorageOptions = {},
): Promise<{ pglite: PGlite; storage: PgStorage; close(): Promise<void> }> {
  const pglite = await openEmbeddedPostgres(options.dataDir === undefined ? {} : { dataDir: options.dataDir });
  await runMigrations(pglite, options.schema === undefined ? {} : { schema: options.schema });
  const storage = new PgStorage(pglite, { ...(options.schema === undefined ? {} : { schema: options.schema }), ...(options.clock ? { clock: options.clock } : {}) });
  let closed = false;
  return {
    pglite,
    storage,
    close: async () => {
      if (closed) return;
      closed = true;
      await storage.close();
      await pglite.close();
    },
  };
}
