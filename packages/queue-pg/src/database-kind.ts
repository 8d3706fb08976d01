import type { PGlite } from "@electric-sql/pglite";
import type { Pool } from "pg";

/**
 * Whether `database` is a PGlite instance rather than a node-postgres pool. Decided by shape (a
 * PGlite has `transaction` and `listen` and no `connect`), so no driver module is loaded for it.
 */
export function isPglite(database: Pool | PGlite): database is PGlite {
  const candidate = database as unknown as Record<string, unknown>;
  return typeof candidate.transaction === "function" && typeof candidate.listen === "function" && typeof candidate.connect !== "function";
}
