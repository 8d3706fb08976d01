import { randomBytes } from "node:crypto";
import type pg from "pg";
import { migrationsFingerprint, runMigrations } from "../migrate.js";
import { PgStorage } from "../pg-storage.js";
import { DEFAULT_SCHEMA } from "../schema-name.js";

/** A fresh database for one test file. */
export interface TestDatabase {
  /** Its connection string. */
  url: string;
  /** Its name. */
  name: string;
  /** A pool on it (with an `'error'` listener, so dropping the database never crashes a test). */
  pool: pg.Pool;
  /** A storage on `pool`, its schema migrated. */
  storage: PgStorage;
  /** Closes the storage and the pool and drops the database. */
  drop(): Promise<void>;
}

/** Options of {@link createTestDatabase}. */
export interface TestDatabaseOptions {
  /** Migrate (and use) this schema instead of `underway`. */
  schema?: string;
  /** Size of the pool. Default 10. */
  poolSize?: number;
}

const DEFAULT_SERVER_URL = "postgres://postgres@127.0.0.1:5432/postgres";
/** How long dropping a test database waits for its storage and pool to close first. */
const CLOSE_BEFORE_DROP_MS = 2_000;

/** The server the tests use: `DATABASE_URL`, or the local default. */
export function testServerUrl(): string {
  return process.env.DATABASE_URL ?? DEFAULT_SERVER_URL;
}

function withDatabase(url: string, database: string): string {
  const parsed = new URL(url);
  parsed.pathname = `/${database}`;
  return parsed.toString();
}

function quoteIdentifier(name: string): string {
  return `"${name.replace(/"/g, '""')}"`;
}

/** node-postgres, loaded when first needed: the rest of this entry point runs without it (on PGlite). */
async function loadNodePostgres(): Promise<typeof pg> {
  try {
    const loaded = (await import("pg")) as typeof pg & { default?: typeof pg };
    return loaded.default ?? loaded;
  } catch (error) {
    throw new Error("createTestDatabase needs the package pg: install it next to @underway/queue-pg", { cause: error });
  }
}

async function withAdminClient<T>(work: (client: pg.Client) => Promise<T>): Promise<T> {
  const pg = await loadNodePostgres();
  const client = new pg.Client({ connectionString: testServerUrl(), application_name: "underway-test-admin" });
  client.on("error", () => undefined);
  await client.connect();
  try {
    return await work(client);
  } finally {
    await client.end().catch(() => undefined);
  }
}

async function ensureTemplate(): Promise<string> {
  const template = `underway_template_${migrationsFingerprint().slice(0, 16)}`;
  await withAdminClient(async (admin) => {
    // Test files start in parallel; one of them builds the template, the others wait for it.
    await admin.query("select pg_advisory_lock(hashtext('underway:test-template'))");
    try {
      const existing = await admin.query("select 1 from pg_database where datname = $1", [template]);
      if (existing.rowCount) return;
      const building = `${template}_building`;
      await admin.query(`drop database if exists ${quoteIdentifier(building)} with (force)`);
      await admin.query(`create database ${quoteIdentifier(building)}`);
      const pg = await loadNodePostgres();
      const pool = new pg.Pool({ connectionString: withDatabase(testServerUrl(), building), max: 1 });
      pool.on("error", () => undefined);
      try {
        await runMigrations(pool);
      } finally {
        await pool.end();
      }
      // Renamed only once complete, so a crash mid-way never leaves a half-migrated template.
      await admin.query(`alter database ${quoteIdentifier(building)} rename to ${quoteIdentifier(template)}`);
    } finally {
      await admin.query("select pg_advisory_unlock(hashtext('underway:test-template'))");
    }
  });
  return template;
}

/**
 * Creates a fresh database on the test server (`DATABASE_URL`, default
 * `postgres://postgres@127.0.0.1:5432/postgres`), copied from a template database migrated once
 * per version of the migrations, with a pool and a migrated {@link PgStorage} on it.
 *
 * @example
 * ```ts
 * const database = await createTestDatabase();
 * afterAll(() => database.drop());
 * ```
 */
export async function createTestDatabase(options: TestDatabaseOptions = {}): Promise<TestDatabase> {
  const template = await ensureTemplate();
  const name = `underway_test_${randomBytes(6).toString("hex")}`;
  await withAdminClient(async (admin) => {
    for (let attempt = 1; ; attempt += 1) {
      try {
        await admin.query(`create database ${quoteIdentifier(name)} template ${quoteIdentifier(template)}`);
        return;
      } catch (error) {
        // Copying a template needs it idle for a moment; parallel copies can collide.
        const busy = (error as { code?: string }).code === "55006";
        if (!busy || attempt >= 20) throw error;
        await new Promise((resolve) => setTimeout(resolve, 50 * attempt));
      }
    }
  });
  const url = withDatabase(testServerUrl(), name);
  const pg = await loadNodePostgres();
  const pool = new pg.Pool({ connectionString: url, max: options.poolSize ?? 10 });
  pool.on("error", () => undefined);
  const schema = options.schema ?? DEFAULT_SCHEMA;
  if (schema !== DEFAULT_SCHEMA) await runMigrations(pool, { schema });
  const storage = new PgStorage(pool, { schema });
  let dropped = false;
  return {
    url,
    name,
    pool,
    storage,
    drop: async () => {
      if (dropped) return;
      dropped = true;
      // A test that failed may keep a client checked out, and pool.end() waits for every client to
      // come back: the drop goes ahead after a moment regardless, FORCE closing what is still open.
      await settleWithin(
        (async () => {
          await storage.close().catch(() => undefined);
          await pool.end().catch(() => undefined);
        })(),
        CLOSE_BEFORE_DROP_MS,
      );
      await withAdminClient((admin) => admin.query(`drop database if exists ${quoteIdentifier(name)} with (force)`));
    },
  };
}

/** Resolves when `work` settles or after `ms`, whichever comes first. */
async function settleWithin(work: Promise<void>, ms: number): Promise<void> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeUp = new Promise<void>((resolve) => {
    timer = setTimeout(resolve, ms);
  });
  try {
    await Promise.race([work, timeUp]);
  } finally {
    clearTimeout(timer);
  }
}
