import { execFile } from "node:child_process";
import { readFile } from "node:fs/promises";
import { promisify } from "node:util";
import { createTestDatabase, type TestDatabase } from "@underway/queue-pg/testing";
import { afterEach, describe, expect, it } from "vitest";

// Smoke tests of the examples, as a user runs them (against the built packages): each must exit 0
// and print its outcome.
const run = promisify(execFile);
const databases: TestDatabase[] = [];

afterEach(async () => {
  await Promise.all(databases.splice(0).map((db) => db.drop()));
});

async function runExample(name: string, env: Record<string, string | undefined>): Promise<string> {
  const { stdout } = await run("pnpm", ["--silent", "--filter", `@underway/example-${name}`, "start"], {
    cwd: new URL("../", import.meta.url),
    env: { ...process.env, ...env },
    timeout: 90_000,
  });
  return stdout;
}

async function onServer(name: string): Promise<string> {
  const db = await createTestDatabase();
  databases.push(db);
  return runExample(name, { DATABASE_URL: db.url });
}

describe("examples on a Postgres server", () => {
  it("welcome-email sends one email", async () => {
    const output = await onServer("welcome-email");
    expect(output).toContain("Sending welcome email to Ferris <ferris@example.com> (user_id: 42)");
    expect(output).toMatch(/Job run [0-9a-f-]{36}: succeeded/);
  });

  it("order-receipt retries only the email step", async () => {
    const output = await onServer("order-receipt");
    expect(output.match(/Generated receipts_bucket\/42-receipt.pdf/g)).toHaveLength(1);
    expect(output).toContain('Result: {"emailed":"receipts_bucket/42-receipt.pdf"}');
    expect(output).toContain("step 0: succeeded after 1 attempt(s)");
    expect(output).toContain("step 1: succeeded after 2 attempt(s) (errors: email service unavailable)");
  });

  it("daily-report fires its schedule with a fresh run each time", async () => {
    const output = await onServer("daily-report");
    expect(output).toContain("Scheduled @daily[America/Los_Angeles]; next fire at");
    expect(output).toMatch(/\d+ scheduled runs, each with its own id: true/);
  });

  it("transactional-enqueue commits the sign-up and its job together, or neither", async () => {
    const output = await onServer("transactional-enqueue");
    expect(output).toContain("Sign-ups: ada@example.com; emails sent: ada@example.com; rolled-back run rows: 0");
  });

  it("custom-worker runs on the lower stratum alone", async () => {
    const output = await onServer("custom-worker");
    expect(output).toContain('succeeded: {"resized":"cat.png@200w"}');
    expect(output).toContain("failed for good and moved to resize-image-dlq");
    expect(output).toMatch(/failed in resize-image-dlq; last error: width must be positive, got 0/);
  });

  it("hand-written-worker runs on the storage contract with core and queue-pg alone", async () => {
    const manifest = JSON.parse(await readFile(new URL("../examples/hand-written-worker/package.json", import.meta.url), "utf8"));
    const underwayDependencies = Object.keys({ ...manifest.dependencies, ...manifest.devDependencies }).filter((name) => name.startsWith("@underway/"));
    expect(underwayDependencies.sort()).toEqual(["@underway/core", "@underway/queue-pg"]);

    const output = await onServer("hand-written-worker");
    expect(output).toContain("INV-2 attempt 1: mail server busy; retrying");
    expect(output).toContain("INV-3 attempt 3: no such mailbox; failed for good, moved to send-invoice-dlq");
    expect(output).toContain("INV-1: succeeded in send-invoice after 1 attempt(s) (errors: none)");
    expect(output).toContain("INV-2: succeeded in send-invoice after 2 attempt(s) (errors: mail server busy)");
    expect(output).toContain("INV-3: failed in send-invoice-dlq after 3 attempt(s) (errors: no such mailbox, no such mailbox, no such mailbox)");
  });
});

describe("examples on embedded Postgres", () => {
  it("welcome-email runs on PGlite when DATABASE_URL is unset", async () => {
    const output = await runExample("welcome-email", { DATABASE_URL: "" });
    expect(output).toMatch(/Job run [0-9a-f-]{36}: succeeded/);
  });
});
