import { execFileSync } from "node:child_process";

/**
 * Runs once before the suites: checks that Postgres answers at DATABASE_URL (default
 * postgres://postgres@127.0.0.1:5432/postgres) and fails with directions when it does not.
 */
export default function setup(): void {
  const url = process.env.DATABASE_URL ?? "postgres://postgres@127.0.0.1:5432/postgres";
  process.env.DATABASE_URL = url;
  const probe = `
    const pg = require("pg");
    const client = new pg.Client({ connectionString: process.argv[1], connectionTimeoutMillis: 5000 });
    client.connect().then(() => client.end()).then(() => process.exit(0), (e) => { console.error(e.message); process.exit(1); });
  `;
  try {
    execFileSync(process.execPath, ["-e", probe, url], { cwd: new URL("../packages/queue-pg/", import.meta.url), stdio: "pipe" });
  } catch (error) {
    const reason = (error as { stderr?: Buffer }).stderr?.toString().trim() ?? String(error);
    throw new Error(
      `The tests need a Postgres server at ${url}, and it did not answer (${reason}).\n` +
        "Start one (Debian: pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start),\n" +
        "or point DATABASE_URL at a server where the user may create databases. `bash .ci/run` does both.",
    );
  }
}
