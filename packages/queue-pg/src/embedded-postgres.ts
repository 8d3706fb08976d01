import type { PGlite } from "@electric-sql/pglite";
import { ConfigError, describeArgument, optionsObject } from "@underway/core";

/** Options of {@link openEmbeddedPostgres}. */
export interface EmbeddedPostgresOptions {
  /** Keep the database in this directory, so tasks survive restarts. Default: in memory. */
  dataDir?: string;
}

/**
 * Opens an embedded Postgres (PGlite, Postgres compiled to WebAssembly, in this process). Use it
 * where no server is at hand; pass a `dataDir` to make it durable. Needs the optional peer
 * dependency `@electric-sql/pglite`.
 *
 * @throws ConfigError when `@electric-sql/pglite` is not installed, when `options` is not an
 * object or names an option other than `dataDir`, or when `dataDir` is not a non-empty string.
 *
 * @example
 * ```ts
 * const pglite = await openEmbeddedPostgres({ dataDir: ".underway-data" });
 * await runMigrations(pglite);
 * const storage = new PgStorage(pglite);
 * ```
 */
export async function openEmbeddedPostgres(options: EmbeddedPostgresOptions = {}): Promise<PGlite> {
  const { dataDir } = optionsObject(options, "openEmbeddedPostgres()", { dataDir: true });
  if (dataDir !== undefined && (typeof dataDir !== "string" || dataDir === "")) {
    throw new ConfigError(`openEmbeddedPostgres()'s dataDir expects a non-empty directory path, got ${describeArgument(dataDir)}`);
  }
  let module: typeof import("@electric-sql/pglite");
  try {
    module = await import("@electric-sql/pglite");
  } catch (error) {
    throw new ConfigError("openEmbeddedPostgres needs the package @electric-sql/pglite: install it next to @underway/queue-pg", {
      cause: error,
    });
  }
  return dataDir === undefined ? module.PGlite.create() : module.PGlite.create({ dataDir });
}
