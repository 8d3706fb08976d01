import type { PGlite } from "@electric-sql/pglite";
import { ConfigError, describeArgument } from "@underway/core";
import type { Pool } from "pg";

/**
 * Whether `database` is a PGlite instance rather than a node-postgres pool. Decided by shape (a
 * PGlite has `transaction` and `listen` and no `connect`), so no driver module is loaded for it.
 */
export function isPglite(database: Pool | PGlite): database is PGlite {
  const candidate = database as unknown as Record<string, unknown>;
  return typeof candidate.transaction === "function" && typeof candidate.listen === "function" && typeof candidate.connect !== "function";
}

/** Whether `database` has the methods of a node-postgres pool that Underway uses. */
export function isPool(database: Pool | PGlite): database is Pool {
  const candidate = database as unknown as Record<string, unknown>;
  return typeof candidate.connect === "function" && typeof candidate.query === "function";
}

/**
 * A database argument, checked: a node-postgres pool or a PGlite instance.
 *
 * @param call - the call it was given to, as the message names it, e.g. `"runMigrations(database)"`.
 * @throws ConfigError when it is neither.
 */
export function checkedDatabase(database: unknown, call: string): Pool | PGlite {
  if (typeof database === "object" && database !== null) {
    const candidate = database as Pool | PGlite;
    if (isPglite(candidate) || isPool(candidate)) return candidate;
  }
  const got = typeof database === "object" && database !== null ? "an object that is neither" : describeArgument(database);
  throw new ConfigError(`${call} expects a pg.Pool or a PGlite instance, e.g. new pg.Pool({ connectionString }); got ${got}`);
}
