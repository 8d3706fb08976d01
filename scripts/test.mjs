#!/usr/bin/env node
// The README's test command: build, typecheck, then every suite against real Postgres; closes
// with the plain line "N passed, N failed" summed over all packages.
import { spawnSync } from "node:child_process";
import { mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";

const env = { ...process.env, TURBO_TELEMETRY_DISABLED: "1", DO_NOT_TRACK: "1" };
const passThrough = process.argv.slice(2);

function run(command, args) {
  const result = spawnSync(command, args, { stdio: "inherit", env });
  if (result.status !== 0) {
    console.error(`\n${command} ${args.join(" ")} failed (exit ${result.status ?? result.signal})`);
    report(0, 1);
    process.exit(result.status ?? 1);
  }
}

function report(passedCount, failedCount) {
  const line = `${passedCount} passed, ${failedCount} failed`;
  mkdirSync(".test-results", { recursive: true });
  writeFileSync(".test-results/summary.txt", `${line}\n`);
  console.log(line);
}

run("pnpm", ["exec", "turbo", "run", "build", "typecheck", "--output-logs=errors-only"]);
run("node", ["scripts/check-layering.mjs"]);

mkdirSync(".test-results", { recursive: true });
const reportPath = ".test-results/vitest.json";
rmSync(reportPath, { force: true });
const vitest = spawnSync(
  "pnpm",
  ["exec", "vitest", "run", "--reporter=default", "--reporter=json", `--outputFile.json=${reportPath}`, ...passThrough],
  { stdio: "inherit", env },
);

let passed = 0;
let failed = 0;
try {
  const vitestReport = JSON.parse(readFileSync(reportPath, "utf8"));
  passed = vitestReport.numPassedTests ?? 0;
  failed = (vitestReport.numFailedTests ?? 0) + (vitestReport.numRuntimeErrorTestSuites ?? 0);
  if (vitest.status !== 0 && failed === 0) failed = 1;
} catch {
  failed = Math.max(failed, 1);
}
report(passed, failed);
if (vitest.status !== 0 || failed > 0 || passed === 0) process.exit(vitest.status || 1);
