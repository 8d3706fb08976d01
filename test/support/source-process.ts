import { spawn, type ChildProcess } from "node:child_process";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";

const repoRoot = fileURLToPath(new URL("../../", import.meta.url));

/** A child process running a TypeScript file from the sources, with its output as lines. */
export interface SourceProcess {
  child: ChildProcess;
  /** Every line the child wrote to stdout so far. */
  lines: string[];
  /** The last 20 000 characters the child wrote to stderr. */
  stderrTail(): string;
  /** Resolves with the first stdout line that passes `match` (rejects after `timeoutMs`). */
  waitForLine(match: (line: string) => boolean, timeoutMs?: number): Promise<string>;
  /** Resolves when the child exits, with its exit code (null when killed by a signal). */
  exited: Promise<number | null>;
  /** Sends `signal` (default SIGKILL) and waits for the exit. */
  kill(signal?: NodeJS.Signals): Promise<void>;
}

/**
 * Starts `node` on a TypeScript file of the repository, resolving `@underway/*` imports to the
 * package sources (no build needed), for tests that need real separate processes (crashes,
 * pauses, several leaders).
 */
export function spawnSourceProcess(file: string, args: string[] = [], env: Record<string, string> = {}): SourceProcess {
  // `node --import tsx` keeps the script in this very process (the tsx binary would add a parent
  // process), so signals sent to `child` reach the code under test.
  // The migrations are imported as text, as the build inlines them.
  const child = spawn(process.execPath, ["--import", "tsx", "--import", `${repoRoot}test/support/sql-as-text.mjs`, file, ...args], {
    cwd: repoRoot,
    env: { ...process.env, TSX_TSCONFIG_PATH: `${repoRoot}tsconfig.sources.json`, ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  const lines: string[] = [];
  const waiters = new Set<{ match: (line: string) => boolean; resolve: (line: string) => void }>();
  createInterface({ input: child.stdout! }).on("line", (line) => {
    lines.push(line);
    for (const waiter of [...waiters]) {
      if (waiter.match(line)) {
        waiters.delete(waiter);
        waiter.resolve(line);
      }
    }
  });
  let stderr = "";
  child.stderr!.on("data", (chunk: Buffer) => {
    stderr += chunk.toString();
    if (stderr.length > 20_000) stderr = stderr.slice(-20_000);
  });
  const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
  return {
    child,
    lines,
    exited,
    stderrTail: () => stderr,
    waitForLine(match, timeoutMs = 30_000) {
      const existing = lines.find(match);
      if (existing !== undefined) return Promise.resolve(existing);
      return new Promise((resolve, reject) => {
        const waiter = { match, resolve: (line: string) => { clearTimeout(timer); resolve(line); } };
        const timer = setTimeout(() => {
          waiters.delete(waiter);
          reject(new Error(`No matching line from ${file} within ${timeoutMs} ms. stdout:\n${lines.slice(-20).join("\n")}\nstderr:\n${stderr.slice(-4000)}`));
        }, timeoutMs);
        waiters.add(waiter);
      });
    },
    async kill(signal = "SIGKILL") {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      await exited;
    },
  };
}

/** Polls `condition` until it returns a truthy value or `timeoutMs` passes. */
export async function waitFor<T>(condition: () => T | Promise<T>, { timeoutMs = 30_000, intervalMs = 25, message = "condition" } = {}): Promise<NonNullable<T>> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  for (;;) {
    try {
      const value = await condition();
      if (value) return value as NonNullable<T>;
    } catch (error) {
      lastError = error;
    }
    if (Date.now() > deadline) throw new Error(`Timed out after ${timeoutMs} ms waiting for ${message}${lastError ? `: ${String(lastError)}` : ""}`);
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
}
