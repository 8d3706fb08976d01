import type { ConformanceHarness, ConformanceOptions } from "@underway/core/conformance";
import { PgStorage, type PgQueryable, type PgStorageOptions } from "@underway/queue-pg";
import type pg from "pg";
import { rawReads } from "./raw-reads.js";

/**
 * The conformance harness of a PgStorage on `pool` (with `storageOptions` besides the clock): raw
 * reads and transactions of the pool's own.
 */
export function poolHarness(pool: pg.Pool, { clock }: ConformanceOptions, storageOptions: PgStorageOptions = {}): ConformanceHarness<PgQueryable> {
  const storage = new PgStorage(pool, { ...storageOptions, clock });
  return {
    storage,
    raw: rawReads(pool),
    async withTransaction(body) {
      const client = await pool.connect();
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
}
