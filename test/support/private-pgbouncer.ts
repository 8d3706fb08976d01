import { execFileSync, spawn, type ChildProcess } from "node:child_process";
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createConnection } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { freePort } from "../../packages/worker/test/support/private-postgres.js";

/** A PgBouncer in transaction pooling mode, owned by one test file, in front of the test server. */
export interface PrivatePgBouncer {
  /** `url` with its host and port replaced by the pooler's. */
  urlThrough(url: string): string;
  /** Stops the pooler and deletes its directory. Safe to call twice. */
  stop(): Promise<void>;
}

async function accepts(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = createConnection({ host: "127.0.0.1", port }, () => {
      socket.end();
      resolve(true);
    });
    socket.once("error", () => resolve(false));
  });
}

/**
 * Starts `pgbouncer` (Debian's package; `.ci/run` installs it) in transaction pooling mode on a free
 * port, forwarding every database to the server of `serverUrl`. It refuses to run as root, so as
 * root it runs as the `postgres` OS user.
 */
export async function startPrivatePgBouncer(serverUrl: string): Promise<PrivatePgBouncer> {
  const server = new URL(serverUrl);
  const directory = mkdtempSync(join(tmpdir(), "underway-pgbouncer-"));
  chmodSync(directory, 0o777);
  const port = await freePort();
  const user = decodeURIComponent(server.username || "postgres");
  writeFileSync(join(directory, "users.txt"), `"${user}" ""\n`);
  writeFileSync(
    join(directory, "pgbouncer.ini"),
    [
      "[databases]",
      `* = host=${server.hostname} port=${server.port || "5432"}`,
      "[pgbouncer]",
      "listen_addr = 127.0.0.1",
      `listen_port = ${port}`,
      `unix_socket_dir =`,
      "auth_type = trust",
      `auth_file = ${join(directory, "users.txt")}`,
      "pool_mode = transaction",
      "max_client_conn = 500",
      "default_pool_size = 20",
      "ignore_startup_parameters = extra_float_digits",
      `logfile = ${join(directory, "pgbouncer.log")}`,
      `pidfile = ${join(directory, "pgbouncer.pid")}`,
    ].join("\n"),
  );
  let binary: string;
  try {
    binary = execFileSync("sh", ["-c", "command -v pgbouncer || ls /usr/sbin/pgbouncer"], { encoding: "utf8", stdio: "pipe" }).trim();
  } catch (error) {
    throw new Error("These tests run Underway behind PgBouncer: install it (`apt-get install pgbouncer`; .ci/run does)", { cause: error });
  }
  const runsAsRoot = process.getuid?.() === 0;
  const child: ChildProcess = runsAsRoot
    ? spawn("su", ["postgres", "-s", "/bin/sh", "-c", `exec ${binary} ${join(directory, "pgbouncer.ini")}`], { stdio: "ignore" })
    : spawn(binary, [join(directory, "pgbouncer.ini")], { stdio: "ignore" });
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  for (let tries = 0; !(await accepts(port)); tries += 1) {
    if (child.exitCode !== null || tries > 200) throw new Error(`pgbouncer did not start (exit code ${String(child.exitCode)}); its log is in ${directory}`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
  let stopped = false;
  return {
    urlThrough(url) {
      const through = new URL(url);
      through.hostname = "127.0.0.1";
      through.port = String(port);
      return through.toString();
    },
    async stop() {
      if (stopped) return;
      stopped = true;
      // SIGINT: PgBouncer's "safe shutdown" once clients are gone; they are, by now.
      const pid = Number.parseInt(readFileSync(join(directory, "pgbouncer.pid"), "utf8"), 10);
      if (Number.isSafeInteger(pid) && child.exitCode === null) process.kill(pid, "SIGINT");
      await exited;
      rmSync(directory, { recursive: true, force: true });
    },
  };
}
