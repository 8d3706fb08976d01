import type { ConformanceHarness, ConformanceOptions } from "@underway/core/conformance";
import { PgStorage, type PgQueryable } from "@underway/queue-pg";
import type pg from "pg";
import { rawReads } from "./raw-reads.js";

/** The conformance harness of a PgStorage on `pool`: raw reads and transactions of the pool's own. */
export function poolHarness(pool: pg.Pool, { clock }: ConformanceOptions): ConformanceHarness<PgQueryable> {
  const storage = new PgStorage(pool, { clock });
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
