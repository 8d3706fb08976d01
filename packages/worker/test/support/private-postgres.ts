import { execFileSync } from "node:child_process";
import { mkdtempSync, readdirSync, rmSync, chmodSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";

/** A throwaway Postgres cluster owned by one test, so it can be restarted without disturbing others. */
export interface PrivatePostgres {
  /** `postgres://postgres@127.0.0.1:<port>/postgres`. */
  url: string;
  port: number;
  /** Restarts the server (fast shutdown: open connections are cut, as in a crash-free restart). */
  restart(): void;
  /** Stops the server and deletes its data directory. Safe to call twice. */
  destroy(): void;
}

function postgresBin(tool: string): string {
  const versions = readdirSync("/usr/lib/postgresql").sort((a, b) => Number(b) - Number(a));
  const version = versions[0];
  if (version === undefined) throw new Error("No Postgres installation under /usr/lib/postgresql");
  return `/usr/lib/postgresql/${version}/bin/${tool}`;
}

function asPostgresUser(command: string): void {
  const runsAsRoot = process.getuid?.() === 0;
  if (runsAsRoot) execFileSync("su", ["postgres", "-c", command], { stdio: "pipe" });
  else execFileSync("sh", ["-c", command], { stdio: "pipe" });
}

/** A TCP port on 127.0.0.1 that nothing listens on, for a server a test starts. */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      server.close(() => (typeof address === "object" && address !== null ? resolve(address.port) : reject(new Error("no port"))));
    });
  });
}

/**
 * Creates and starts a private cluster (initdb into a temporary directory, trust auth, a free
 * port). Needs a Postgres installation and, when run as root, the `postgres` OS user.
 */
export async function startPrivatePostgres(): Promise<PrivatePostgres> {
  const directory = mkdtempSync(join(tmpdir(), "underway-worker-pg-"));
  chmodSync(directory, 0o777);
  const dataDirectory = join(directory, "data");
  const logFile = join(directory, "server.log");
  const port = await freePort();
  const pgCtl = postgresBin("pg_ctl");
  const start = `${pgCtl} -D ${dataDirectory} -l ${logFile} -w -t 60 -o "-p ${port} -k /tmp -c listen_addresses=127.0.0.1 -c fsync=off" `;
  asPostgresUser(`${postgresBin("initdb")} -D ${dataDirectory} -U postgres --auth=trust -E UTF8 >/dev/null`);
  asPostgresUser(`${start} start >/dev/null`);
  let destroyed = false;
  return {
    url: `postgres://postgres@127.0.0.1:${port}/postgres`,
    port,
    restart() {
      asPostgresUser(`${start} -m fast restart >/dev/null`);
    },
    destroy() {
      if (destroyed) return;
      destroyed = true;
      try {
        asPostgresUser(`${pgCtl} -D ${dataDirectory} -m immediate -w stop >/dev/null`);
      } finally {
        rmSync(directory, { recursive: true, force: true });
      }
    },
  };
}
