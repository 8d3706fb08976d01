#!/usr/bin/env node
// `pnpm demo`: builds the packages, then runs every example end to end. With no DATABASE_URL the
// examples run on embedded Postgres (PGlite); with one they use that server.
import { spawnSync } from "node:child_process";
import { existsSync, readdirSync, readFileSync } from "node:fs";

const env = { ...process.env, TURBO_TELEMETRY_DISABLED: "1", DO_NOT_TRACK: "1" };
const build = spawnSync("pnpm", ["exec", "turbo", "run", "build", "--output-logs=errors-only"], { stdio: "inherit", env });
if (build.status !== 0) process.exit(build.status ?? 1);

const order = ["welcome-email", "order-receipt", "daily-report", "transactional-enqueue", "custom-worker", "hand-written-worker"];
const present = existsSync("examples") ? readdirSync("examples").filter((name) => existsSync(`examples/${name}/package.json`)) : [];
const examples = [...order.filter((name) => present.includes(name)), ...present.filter((name) => !order.includes(name))];

console.log(`Underway demo on ${env.DATABASE_URL ? `Postgres at ${env.DATABASE_URL}` : "embedded Postgres (PGlite)"}`);
if (examples.length === 0) console.log("No examples yet: the packages built.");
for (const name of examples) {
  const manifest = JSON.parse(readFileSync(`examples/${name}/package.json`, "utf8"));
  if (!manifest.scripts?.start) continue;
  console.log(`\n=== ${name} ===`);
  const result = spawnSync("pnpm", ["--silent", "--filter", manifest.name, "start"], { stdio: "inherit", env });
  if (result.status !== 0) {
    console.error(`example ${name} failed (exit ${result.status ?? result.signal})`);
    process.exit(result.status ?? 1);
  }
}
console.log("\nDemo finished.");
