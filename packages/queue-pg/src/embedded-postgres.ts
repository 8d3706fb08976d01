import type { PGlite } from "@electric-sql/pglite";

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
 * @example
 * ```ts
 * const pglite = await openEmbeddedPostgres({ dataDir: ".underway-data" });
 * await runMigrations(pglite);
 * const storage = new PgStorage(pglite);
 * ```
 */
export async function openEmbeddedPostgres(options: EmbeddedPostgresOptions = {}): Promise<PGlite> {
  let module: typeof import("@electric-sql/pglite");
  try {
    module = await import("@electric-sql/pglite");
  } catch (error) {
    throw new Error("openEmbeddedPostgres needs the package @electric-sql/pglite: install it next to @underway/queue-pg", {
      cause: error,
    });
  }
  return options.dataDir === undefined ? module.PGlite.create() : module.PGlite.create({ dataDir: options.dataDir });
}
