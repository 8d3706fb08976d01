// Fresh databases for the benchmark: every measurement runs in one of its own, on the server at
// DATABASE_URL, so no library sees another's tables, dead tuples or warm caches.
import pg from "pg";

/** The server the benchmark measures against. */
export const serverUrl = process.env.DATABASE_URL ?? "postgres://postgres@127.0.0.1:5432/postgres";

/** The connection string of database `name` on the same server as `baseUrl`. */
export function databaseUrlFor(baseUrl, name) {
  const url = new URL(baseUrl);
  url.pathname = `/${name}`;
  return url.toString();
}

async function withAdminClient(baseUrl, action) {
  const client = new pg.Client({ connectionString: baseUrl, connectionTimeoutMillis: 10_000 });
  client.on("error", () => {});
  await client.connect();
  try {
    return await action(client);
  } finally {
    await client.end().catch(() => {});
  }
}

/** Creates database `name` (dropping a leftover of the same name first) and returns its URL. */
export async function createFreshDatabase(baseUrl, name) {
  assertSafeName(name);
  await withAdminClient(baseUrl, async (client) => {
    await client.query(`drop database if exists ${name} with (force)`);
    await client.query(`create database ${name}`);
  });
  return databaseUrlFor(baseUrl, name);
}

/** Drops database `name`, ending any session still connected to it. */
export async function dropDatabase(baseUrl, name) {
  assertSafeName(name);
  await withAdminClient(baseUrl, (client) => client.query(`drop database if exists ${name} with (force)`));
}

/** The server's version and the settings that shape queue throughput, for the results file. */
export async function describeServer(baseUrl) {
  return withAdminClient(baseUrl, async (client) => {
    const settingNames = ["max_connections", "shared_buffers", "synchronous_commit", "fsync", "wal_level", "work_mem"];
    const { rows } = await client.query("select name, setting, unit from pg_settings where name = any($1)", [settingNames]);
    const { rows: versionRows } = await client.query("select version() as version, current_setting('server_version') as server_version");
    const settings = Object.fromEntries(rows.map((row) => [row.name, row.unit ? `${row.setting} ${row.unit}` : row.setting]));
    return { version: versionRows[0].server_version, versionString: versionRows[0].version, settings };
  });
}

function assertSafeName(name) {
  // Database names are interpolated into DDL, which takes no parameters.
  if (!/^[a-z_][a-z0-9_]{0,62}$/.test(name)) throw new Error(`unsafe database name: ${name}`);
}
