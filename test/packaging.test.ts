import { execFileSync } from "node:child_process";
import { cpSync, existsSync, mkdtempSync, mkdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
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
  "@underway/queue-pg/testing": ["createTestDatabase", "createPgliteStorage"],
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
  mkdirSync(join(consumer, "node_modules", "@types"), { recursive: true });
  symlinkSync(join(repoRoot, "node_modules", "pg"), join(consumer, "node_modules", "pg"), "dir");
  for (const name of ["pg", "node"]) {
    symlinkSync(join(repoRoot, "node_modules", "@types", name), join(consumer, "node_modules", "@types", name), "dir");
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

// What `npm publish` would take from each package: every entry of its `files` list exists after a
// build, the README (shown on the registry's page) among them.
describe("published files", () => {
  for (const name of ["core", "queue-pg", "worker", "scheduler", "job"]) {
    it(`@underway/${name} has every file it publishes`, () => {
      const packageDir = join(repoRoot, "packages", name);
      const manifest = JSON.parse(readFileSync(join(packageDir, "package.json"), "utf8")) as { files: string[] };
      expect(manifest.files).toContain("README.md");
      for (const entry of manifest.files) expect(existsSync(join(packageDir, entry)), entry).toBe(true);
    });
  }
});

// `pg` is an optional peer of the Postgres storage: a project on PGlite alone installs the storage
// and PGlite, not node-postgres. The published files are copied (not linked: a link would resolve
// the package's own development copy of pg) into a project that has no pg at all, and without the
// `migrations/` folder, as a bundler that copies only code would leave them: the migrations are
// built into the code.
/**
 * A project in a temporary folder holding the published files of core and queue-pg (without the
 * migrations folder) and, linked from the workspace, drizzle-orm and the other packages named.
 */
function storageOnlyProject(prefix: string, linked: string[]): string {
  const project = mkdtempSync(join(tmpdir(), prefix));
  for (const name of ["core", "queue-pg"]) {
    const packageDir = join(repoRoot, "packages", name);
    const target = join(project, "node_modules", "@underway", name);
    mkdirSync(target, { recursive: true });
    const manifest = JSON.parse(readFileSync(join(packageDir, "package.json"), "utf8")) as { files: string[] };
    const copied = [...manifest.files.filter((entry) => entry !== "migrations"), "package.json"];
    for (const entry of copied) cpSync(join(packageDir, entry), join(target, entry), { recursive: true });
  }
  const queuePgModules = join(repoRoot, "packages", "queue-pg", "node_modules");
  for (const name of ["drizzle-orm", ...linked]) {
    mkdirSync(dirname(join(project, "node_modules", name)), { recursive: true });
    symlinkSync(join(queuePgModules, name), join(project, "node_modules", name), "dir");
  }
  return project;
}

describe("a project on PGlite without pg installed", () => {
  let project: string;

  beforeAll(() => {
    project = storageOnlyProject("underway-pglite-only-", ["@electric-sql/pglite"]);
  });

  afterAll(() => rmSync(project, { recursive: true, force: true }));

  const script = (load: string) => `
    ${load}
    let pgFound = true;
    try { require.resolve("pg"); } catch { pgFound = false; }
    (async () => {
      const { PgStorage, openEmbeddedPostgres, runMigrations } = await storageModule();
      const { createPgliteStorage } = await testingModule();
      const pglite = await openEmbeddedPostgres();
      await runMigrations(pglite);
      const storage = new PgStorage(pglite);
      await storage.queueUpsert({ queueName: "pglite-only" });
      const testing = await createPgliteStorage();
      await testing.close();
      await storage.close();
      await pglite.close();
      console.log(JSON.stringify({ pgFound, ok: true }));
    })().catch((error) => { console.error(error); process.exit(1); });
  `;

  it("loads the storage and its testing helpers with require and import, and runs on PGlite", () => {
    const loaders = {
      require: `const storageModule = async () => require("@underway/queue-pg"); const testingModule = async () => require("@underway/queue-pg/testing");`,
      import: `const storageModule = () => import("@underway/queue-pg"); const testingModule = () => import("@underway/queue-pg/testing");`,
    };
    for (const [mode, load] of Object.entries(loaders)) {
      const output = execFileSync(process.execPath, ["-e", script(load)], { cwd: project, encoding: "utf8" });
      expect(JSON.parse(output.trim().split("\n").pop()!), mode).toEqual({ pgFound: false, ok: true });
    }
  });
});

// A consumer's own TypeScript, written once and checked twice: as an ES module and as CommonJS
// (`.mts` / `.cts` under Node16 resolution), so both declaration builds (`.d.ts`, `.d.cts`) carry
// the types across packages: a job's input and output, a task on a queue of PgStorage, a scheduler.
const consumerSource = `
import pg from "pg";
import { FatalError, Queue, RetryPolicy, type Task } from "@underway/core";
import { MemoryStorage, type MemoryTransactionHandle } from "@underway/core/testing";
import { PgStorage, type PgQueryable } from "@underway/queue-pg";
import { Worker } from "@underway/worker";
import { Scheduler, ZonedSchedule } from "@underway/scheduler";
import { Job, To } from "@underway/job";

type Resize = { imageId: string; width: number };

export async function consumer(): Promise<void> {
  const storage = new PgStorage(new pg.Pool());
  const resize: Task<Resize, { resized: string }, PgQueryable> = {
    async execute(_cx, { imageId, width }) {
      if (width <= 0) throw new FatalError("width must be positive");
      return { resized: imageId };
    },
    retryPolicy: new RetryPolicy({ maxAttempts: 3 }),
  };
  const queue = await Queue.builder<Resize>().name("resize").storage(storage).build();
  await queue.enqueue(resize, { imageId: "a.png", width: 10 });
  // @ts-expect-error width is a number
  await queue.enqueue(resize, { imageId: "a.png", width: "10" });
  const worker = new Worker(queue, resize, { concurrency: 2 });
  worker.on("task:succeeded", ({ taskId }) => void taskId.length);
  new Scheduler(queue, resize);
  await queue.schedule(ZonedSchedule.parse("@daily[Europe/Berlin]"), { imageId: "b.png", width: 1 });

  const receipts = await Job.builder<MemoryTransactionHandle>()
    .step(async (_cx, { orderId }: { orderId: number }) => To.next({ key: \`receipts/\${orderId}.pdf\` }))
    .step(async (_cx, { key }: { key: string }) => To.done(key.length))
    .name("order-receipt")
    .storage(new MemoryStorage())
    .build();
  const run = await receipts.enqueue({ orderId: 42 });
  const length: number = await run.result();
  void length;
  // @ts-expect-error the job's input is { orderId: number }
  await receipts.enqueue({ key: "x" });
}
`;

describe("a project with neither pg nor PGlite installed", () => {
  let project: string;

  beforeAll(() => {
    project = storageOnlyProject("underway-no-driver-", []);
  });

  afterAll(() => rmSync(project, { recursive: true, force: true }));

  it("gets a ConfigError naming the package to install from openEmbeddedPostgres", () => {
    const script = `
      const { openEmbeddedPostgres } = require("@underway/queue-pg");
      const { ConfigError } = require("@underway/core");
      openEmbeddedPostgres().then(
        () => console.log(JSON.stringify({ opened: true })),
        (error) => console.log(JSON.stringify({ configError: error instanceof ConfigError, message: error.message })),
      );
    `;
    const output = execFileSync(process.execPath, ["-e", script], { cwd: project, encoding: "utf8" });
    expect(JSON.parse(output.trim().split("\n").pop()!)).toEqual({
      configError: true,
      message: expect.stringContaining("@electric-sql/pglite"),
    });
  });
});

describe("built declarations", () => {
  it("type-check a consumer's code as an ES module and as CommonJS", () => {
    writeFileSync(join(consumer, "consumer.mts"), consumerSource);
    writeFileSync(join(consumer, "consumer.cts"), consumerSource.replace('import pg from "pg";', 'import pg = require("pg");'));
    writeFileSync(
      join(consumer, "tsconfig.json"),
      JSON.stringify({
        compilerOptions: { module: "node16", moduleResolution: "node16", target: "es2022", strict: true, noEmit: true, skipLibCheck: true, types: ["node"] },
        files: ["consumer.mts", "consumer.cts"],
      }),
    );
    const tsc = join(repoRoot, "node_modules", "typescript", "bin", "tsc");
    let output = "";
    try {
      output = execFileSync(process.execPath, [tsc, "-p", join(consumer, "tsconfig.json")], { cwd: consumer, encoding: "utf8" });
    } catch (error) {
      output = String((error as { stdout?: string }).stdout ?? error);
    }
    expect(output.trim()).toBe("");
  });
});
