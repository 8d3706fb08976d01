import { createHash } from "node:crypto";
import type { PGlite } from "@electric-sql/pglite";
import type { Pool, PoolClient } from "pg";
import { optionsObject } from "@underway/core";
import { DEFAULT_SCHEMA, quoteSchemaName } from "./schema-name.js";
import { checkedDatabase, isPglite } from "./database-kind.js";
import { mapDriverError } from "./map-driver-error.js";
import { SHIPPED_MIGRATION_FILES } from "./shipped-migrations.js";

/** Options of {@link runMigrations}. */
export interface MigrationOptions {
  /** The schema to create and migrate. Default `"underway"`. */
  schema?: string;
}

/** One migration file. */
export interface Migration {
  /** The number the file name starts with; migrations apply in this order. */
  version: number;
  /** The file name without `.sql`, e.g. `0001_initial`; recorded when applied. */
  name: string;
  /** The SQL, with `{{schema}}` standing for the quoted schema name. */
  sql: string;
  /** SHA-256 of the SQL, recorded when applied. */
  checksum: string;
}

const SCHEMA_PLACEHOLDER = /\{\{schema\}\}/g;
// Two keys, so no application lock using one int8 key can collide with ours.
const MIGRATION_LOCK_NAMESPACE = "underway:migrations";

let cachedMigrations: Migration[] | undefined;

/** The migrations shipped with this package, in order. */
export function loadMigrations(): Migration[] {
  if (cachedMigrations) return cachedMigrations;
  cachedMigrations = SHIPPED_MIGRATION_FILES.map(({ name, sql }) => ({
    version: Number.parseInt(name, 10),
    name,
    sql,
    checksum: createHash("sha256").update(sql).digest("hex"),
  }));
  return cachedMigrations;
}

/** A hash of every migration, e.g. to name a template database after the schema it holds. */
export function migrationsFingerprint(): string {
  const hash = createHash("sha256");
  for (const migration of loadMigrations()) hash.update(`${migration.name}:${migration.checksum}\n`);
  return hash.digest("hex");
}

interface ScriptRunner {
  query(text: string, params?: unknown[]): Promise<{ rows: any[] }>;
  script(text: string): Promise<void>;
}

async function migrateWith(runner: ScriptRunner, schema: string): Promise<number> {
  const quoted = quoteSchemaName(schema);
  // The transaction-level lock serialises concurrent runs (other processes included); the
  // second run then sees the first one's bookkeeping and applies nothing.
  await runner.query("select pg_advisory_xact_lock(hashtext($1), hashtext($2))", [MIGRATION_LOCK_NAMESPACE, schema]);
  await runner.script(`
    create schema if not exists ${quoted};
    create table if not exists ${quoted}.underway_migrations (
      version    integer primary key,
      name       text not null,
      checksum   text not null,
      applied_at timestamptz not null default now()
    );`);
  const applied = await runner.query(`select version from ${quoted}.underway_migrations`);
  const appliedVersions = new Set(applied.rows.map((row) => Number(row.version)));
  let count = 0;
  for (const migration of loadMigrations()) {
    if (appliedVersions.has(migration.version)) continue;
    await runner.script(migration.sql.replace(SCHEMA_PLACEHOLDER, quoted));
    await runner.query(`insert into ${quoted}.underway_migrations (version, name, checksum) values ($1, $2, $3)`, [
      migration.version,
      migration.name,
      migration.checksum,
    ]);
    count += 1;
  }
  return count;
}

/**
 * Creates or upgrades the Underway schema, in one transaction. Idempotent, and safe to call from
 * several processes at once. Every name is schema-qualified; no session setting is changed.
 *
 * @returns how many migrations were applied (0 when the schema was up to date).
 * @throws ConfigError for a schema name that is not a plain identifier.
 *
 * @example
 * ```ts
 * await runMigrations(pool);                         // schema "underway"
 * await runMigrations(pglite, { schema: "jobs" });
 * ```
 */
export async function runMigrations(database: Pool | PGlite, options: MigrationOptions = {}): Promise<number> {
  checkedDatabase(database, "runMigrations(database)");
  const { schema = DEFAULT_SCHEMA } = optionsObject(options, "runMigrations(database, options)", { schema: true });
  quoteSchemaName(schema);
  try {
    if (isPglite(database)) {
      return await database.transaction((transaction) =>
        migrateWith(
          {
            query: (text, params) => transaction.query(text, params),
            script: async (text) => {
              await transaction.exec(text);
            },
          },
          schema,
        ),
      );
    }
    const client: PoolClient = await database.connect();
    try {
      await client.query("BEGIN");
      const count = await migrateWith(
        {
          query: (text, params) => client.query(text, params),
          script: async (text) => {
            await client.query(text);
          },
        },
        schema,
      );
      await client.query("COMMIT");
      client.release();
      return count;
    } catch (error) {
      await client.query("ROLLBACK").then(
        () => client.release(),
        () => client.release(true),
      );
      throw error;
    }
  } catch (error) {
    throw mapDriverError(error, "runMigrations");
  }
}
