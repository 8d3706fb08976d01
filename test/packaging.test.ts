import { execFileSync } from "node:child_process";
import { mkdtempSync, mkdirSync, rmSync, symlinkSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

// The published shape of every package: the built output loads through the `exports` map from
// both `require` and `import`, as a consumer's project would load it.
const repoRoot = fileURLToPath(new URL("../", import.meta.url));
const entryPoints: Record<string, string[]> = {
  "@underway/core": ["RetryPolicy", "Queue", "FatalError", "newTaskId"],
  "@underway/core/testing": ["MemoryStorage", "ManualClock"],
  "@underway/core/conformance": ["runStorageConformance"],
  "@underway/queue-pg": ["PgStorage", "runMigrations"],
  "@underway/worker": ["Worker", "gracefulShutdown"],
  "@underway/scheduler": ["Scheduler", "ZonedSchedule"],
  "@underway/job": ["Job", "To"],
};

let consumer: string;

beforeAll(() => {
  consumer = mkdtempSync(join(tmpdir(), "underway-consumer-"));
  mkdirSync(join(consumer, "node_modules", "@underway"), { recursive: true });
  for (const name of ["core", "queue-pg", "worker", "scheduler", "job"]) {
    symlinkSync(join(repoRoot, "packages", name), join(consumer, "node_modules", "@underway", name), "dir");
  }
});

afterAll(() => rmSync(consumer, { recursive: true, force: true }));

function exportsOf(specifier: string, mode: "require" | "import"): string[] {
  const script =
    mode === "require"
      ? `console.log(JSON.stringify(Object.keys(require(${JSON.stringify(specifier)}))))`
      : `import(${JSON.stringify(specifier)}).then((m) => console.log(JSON.stringify(Object.keys(m))))`;
  const output = execFileSync(process.execPath, mode === "require" ? ["-e", script] : ["--input-type=module", "-e", script], {
    cwd: consumer,
    encoding: "utf8",
  });
  return JSON.parse(output.trim().split("\n").pop()!);
}

// The conformance suite is ESM only: it runs inside vitest, which cannot be loaded with require().
const esmOnly = new Set(["@underway/core/conformance"]);

describe("built packages", () => {
  for (const [specifier, names] of Object.entries(entryPoints)) {
    const modes = esmOnly.has(specifier) ? (["import"] as const) : (["require", "import"] as const);
    it(`${specifier} loads with ${modes.join(" and ")}`, () => {
      for (const mode of modes) {
        const exported = exportsOf(specifier, mode);
        for (const name of names) expect(exported, `${mode}(${specifier})`).toContain(name);
      }
    });
  }
});
