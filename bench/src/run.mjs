// `pnpm bench [--quick]`: builds the packages, then measures Underway, pg-boss, graphile-worker
// and the plain-SQL floors on the Postgres at DATABASE_URL. Every measurement gets a fresh
// database and its own child process; libraries are interleaved and the run is repeated; the
// medians go to stdout, bench/results/ and (full runs) the README's performance section.
import { spawn, spawnSync } from "node:child_process";
import { mkdirSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { createFreshDatabase, describeServer, dropDatabase, serverUrl } from "./database.mjs";
import { planMeasurements } from "./plan.mjs";
import { checkTargets, renderTable, renderTargets, summarize, tableRows, writeReadmeSection } from "./report.mjs";
import { installedVersion } from "./runner-main.mjs";

const benchDirectory = fileURLToPath(new URL("..", import.meta.url));
const repoRoot = fileURLToPath(new URL("../..", import.meta.url));

function parseArguments(argv) {
  const options = { quick: false, repetitions: null, only: null, libraries: null, build: true, readme: null, profileDirectory: null };
  for (const argument of argv) {
    const [flag, value] = argument.split("=");
    if (flag === "--quick") options.quick = true;
    else if (flag === "--repetitions") options.repetitions = Number(value);
    else if (flag === "--only") options.only = value.split(",");
    else if (flag === "--libraries") options.libraries = value.split(",");
    else if (flag === "--no-build") options.build = false;
    else if (flag === "--no-readme") options.readme = false;
    else if (flag === "--readme") options.readme = true;
    // Relative to where `pnpm bench` was typed (pnpm runs the script inside bench/).
    else if (flag === "--profile-workers") options.profileDirectory = path.resolve(process.env.INIT_CWD ?? process.cwd(), value || "bench/results/profiles");
    else if (flag === "--") continue;
    else {
      console.error(`unknown option ${argument}\nusage: pnpm bench [--quick] [--repetitions=N] [--only=drain-default,latency] [--libraries=underway,floor] [--no-build] [--no-readme] [--profile-workers=DIR]`);
      process.exit(2);
    }
  }
  if (options.repetitions === null) options.repetitions = options.quick ? 1 : 3;
  if (!Number.isInteger(options.repetitions) || options.repetitions < 1) throw new Error("--repetitions takes a positive integer");
  // Only a full, unfiltered, unprofiled run speaks for the project in the README.
  if (options.readme === null) options.readme = !options.quick && !options.only && !options.libraries && !options.profileDirectory;
  return options;
}

function build() {
  console.log("::: building the packages (pnpm exec turbo run build)");
  const result = spawnSync("pnpm", ["exec", "turbo", "run", "build", "--continue", "--output-logs=errors-only"], {
    cwd: repoRoot,
    stdio: ["ignore", "inherit", "inherit"],
    env: { ...process.env, TURBO_TELEMETRY_DISABLED: "1", DO_NOT_TRACK: "1" },
  });
  if (result.status !== 0) console.log("::: the build failed; Underway rows whose packages did not build will read n/a");
}

function gitCommit() {
  const result = spawnSync("git", ["rev-parse", "--short", "HEAD"], { cwd: repoRoot, encoding: "utf8" });
  return result.status === 0 ? result.stdout.trim() : "unknown";
}

function describeMachine() {
  const cpus = os.cpus();
  return {
    cpu: cpus[0]?.model ?? "unknown",
    cores: cpus.length,
    memoryGiB: Math.round(os.totalmem() / 2 ** 30),
    os: `${os.type()} ${os.release()}`,
    node: process.version,
    loadAverageAtStart: os.loadavg().map((load) => Number(load.toFixed(2))),
  };
}

/** Runs one runner in a child process; resolves with its JSON line (or an error description). */
function runChild(library, measurement, params, timeoutMs) {
  return new Promise((resolve) => {
    const runnerPath = fileURLToPath(new URL(`./runners/${library}.mjs`, import.meta.url));
    const child = spawn(process.execPath, [runnerPath, measurement, JSON.stringify(params)], {
      cwd: benchDirectory,
      stdio: ["ignore", "pipe", "pipe"],
      detached: true,
    });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (chunk) => (stdout += chunk));
    child.stderr.on("data", (chunk) => {
      stderr += chunk;
      if (stderr.length > 40_000) stderr = stderr.slice(-20_000);
    });
    const timer = setTimeout(() => {
      try {
        process.kill(-child.pid, "SIGKILL");
      } catch {}
    }, timeoutMs);
    child.on("exit", (code, signal) => {
      clearTimeout(timer);
      const line = stdout.trim().split("\n").reverse().find((candidate) => candidate.startsWith("{"));
      let result = null;
      try {
        result = line ? JSON.parse(line) : null;
      } catch {}
      if (result) return resolve({ result });
      const reason = signal === "SIGKILL" ? `killed after ${timeoutMs} ms` : `exit ${code ?? signal}`;
      resolve({ error: `${reason}; no result line. stderr: ${stderr.slice(-2000)}` });
    });
  });
}

function formatSample(measurement, outcome) {
  if (outcome.error) return `error (${outcome.error.split("\n")[0]})`;
  const { result } = outcome;
  if (result.notAvailable) return `n/a (${result.notAvailable})`;
  if (result.error) return `error (${result.error.split("\n")[0]})`;
  const value = result.unit === "ms" ? `${result.value.toFixed(2)} ms p50, ${result.extra?.p99Ms?.toFixed(2)} ms p99` : `${Math.round(result.value)} ${result.unit}`;
  const cpu = result.extra?.machineCpu;
  if (!cpu) return value;
  // "tasks/s" → per task, "runs/s" → per run.
  const item = result.unit.split("/")[0].replace(/s$/, "");
  return `${value}  (cores ${Math.round(cpu.busyShare * 100)} % busy, ${Math.round(cpu.cpuMicrosPerItem)} µs CPU per ${item})`;
}

function renderReadme({ table, targets, meta }) {
  const versions = meta.versions;
  return `## Performance

Measured by \`pnpm bench\` (see [docs/benchmark.md](docs/benchmark.md) for the method, the settings
of every library and how to rerun it). Medians of ${meta.repetitions} interleaved repetitions, each
measurement in a fresh database and its own process, on ${meta.machine.cores} cores (${meta.machine.cpu}),
${meta.machine.memoryGiB} GiB, ${meta.machine.os}, Node ${meta.machine.node}, PostgreSQL ${meta.server.version}
on the same machine; Underway ${versions.underway} (commit ${meta.commit}), pg-boss ${versions["pg-boss"]},
graphile-worker ${versions["graphile-worker"]}, ${meta.finishedAt.slice(0, 10)}. Machines are noisy: read
ratios within one run, not absolute figures across runs. ↑ higher is better, ↓ lower is better.

${table}

Targets (issue 7), checked against the medians above:

${targets}
`;
}

async function main() {
  const options = parseArguments(process.argv.slice(2));
  const started = Date.now();
  if (options.build) build();
  let measurements = planMeasurements({ quick: options.quick });
  if (options.only) measurements = measurements.filter((measurement) => options.only.includes(measurement.id));
  if (options.libraries) measurements = measurements.map((measurement) => ({ ...measurement, libraries: measurement.libraries.filter((library) => options.libraries.includes(library)) }));

  const server = await describeServer(serverUrl);
  const meta = {
    // "partial" when --only or --libraries left measurements or participants out.
    mode: options.quick ? "quick" : options.only || options.libraries ? "partial" : "full",
    repetitions: options.repetitions,
    startedAt: new Date(started).toISOString(),
    commit: gitCommit(),
    machine: describeMachine(),
    server,
    versions: {
      underway: installedVersion("@underway/core", import.meta.url) ?? "unknown",
      "pg-boss": installedVersion("pg-boss", import.meta.url),
      "graphile-worker": installedVersion("graphile-worker", import.meta.url),
      pg: installedVersion("pg", import.meta.url),
    },
  };
  console.log(`::: ${meta.mode} run, ${options.repetitions} repetition(s), PostgreSQL ${server.version} at ${new URL(serverUrl).host}`);

  const samples = [];
  let sequence = 0;
  for (let repetition = 0; repetition < options.repetitions; repetition += 1) {
    for (const [index, measurement] of measurements.entries()) {
      // Rotating the order spreads warm-up and background noise evenly over the libraries.
      const shift = (repetition + index) % measurement.libraries.length;
      const order = [...measurement.libraries.slice(shift), ...measurement.libraries.slice(0, shift)];
      for (const library of order) {
        sequence += 1;
        const databaseName = `underway_bench_${process.pid}_${sequence}`;
        let outcome;
        try {
          const databaseUrl = await createFreshDatabase(serverUrl, databaseName);
          const profileDirectory = options.profileDirectory && path.join(options.profileDirectory, `${measurement.id}.${library}.${repetition + 1}`);
          outcome = await runChild(library, measurement.id, { ...measurement.params, databaseUrl, profileDirectory }, measurement.params.timeoutMs + 60_000);
        } catch (error) {
          outcome = { error: error?.message ?? String(error) };
        } finally {
          await dropDatabase(serverUrl, databaseName).catch((error) => console.error(`could not drop ${databaseName}: ${error.message}`));
        }
        samples.push({ repetition, measurement: measurement.id, library, ...outcome });
        console.log(`  [${repetition + 1}/${options.repetitions}] ${measurement.id.padEnd(18)} ${library.padEnd(16)} ${formatSample(measurement, outcome)}`);
      }
    }
  }

  const summary = summarize(measurements, samples);
  const rows = tableRows(summary);
  const targets = checkTargets(summary);
  const table = renderTable(rows);
  const targetText = renderTargets(targets);
  meta.finishedAt = new Date().toISOString();
  meta.durationSeconds = Math.round((Date.now() - started) / 1000);

  console.log(`\n${table}\n\nTargets (issue 7):\n${targetText}\n`);
  const problems = summary.flatMap((measurement) => Object.entries(measurement.byLibrary).flatMap(([library, entry]) => [
    ...(entry.notAvailable ? [`${measurement.id} / ${library}: n/a — ${entry.notAvailable}`] : []),
    ...entry.errors.map((error) => `${measurement.id} / ${library}: ${error.split("\n")[0]}`),
  ]));
  if (problems.length > 0) console.log(`Not measured:\n${[...new Set(problems)].map((problem) => `- ${problem}`).join("\n")}\n`);

  const results = { ...meta, measurements: summary, table: rows, targets, samples };
  mkdirSync(new URL("../results/", import.meta.url), { recursive: true });
  const resultsFile = options.quick || options.only || options.libraries ? "../results/partial.tmp.json" : "../results/latest.json";
  writeFileSync(new URL(resultsFile, import.meta.url), `${JSON.stringify(results, null, 2)}\n`);
  console.log(`::: results written to bench/results/${resultsFile.split("/").pop()}`);
  if (options.readme) {
    writeReadmeSection(fileURLToPath(new URL("../../README.md", import.meta.url)), renderReadme({ table, targets: targetText, meta }));
    console.log("::: README performance section updated");
  }
  console.log(`::: finished in ${meta.durationSeconds} s`);
}

await main();
