// The command line of every runner: `node runners/<library>.mjs <metric> <json params>` runs one
// measurement and prints exactly one JSON line on stdout, the last line of its output.
import { existsSync, readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { performance } from "node:perf_hooks";

/** Thrown by a runner when the library lacks the feature a metric needs (reported as n/a). */
export class NotAvailable extends Error {
  constructor(reason) {
    super(reason);
    this.name = "NotAvailable";
  }
}

/**
 * Runs the metric named on the command line from `metrics` and prints its result as one JSON
 * line: `{ library, version, metric, value, unit, count, settings, extra }`, or
 * `{ library, metric, notAvailable }` / `{ library, metric, error }`.
 */
export async function runRunner({ library, version, metrics }) {
  const [metric, paramsText = "{}"] = process.argv.slice(2);
  const params = JSON.parse(paramsText);
  const resolvedVersion = typeof version === "function" ? await safeVersion(version) : version;
  const implementation = metrics[metric];
  let line;
  if (!implementation) {
    line = { library, version: resolvedVersion, metric, notAvailable: `${library} has no ${metric} measurement` };
  } else {
    try {
      const result = await implementation(params);
      // Worker-process metrics answer over IPC and print nothing.
      if (result === undefined) return;
      line = { library, version: resolvedVersion, metric, ...result };
    } catch (error) {
      line = error instanceof NotAvailable
        ? { library, version: resolvedVersion, metric, notAvailable: error.message }
        : { library, version: resolvedVersion, metric, error: error?.stack ?? String(error) };
    }
  }
  process.stdout.write(`\n${JSON.stringify(line)}\n`, () => process.exit(0));
}

async function safeVersion(version) {
  try {
    return await version();
  } catch {
    return "unknown";
  }
}

/** Resolves once `condition()` is truthy; polls every `intervalMs`, rejects after `timeoutMs`. */
export async function waitFor(condition, { timeoutMs = 60_000, intervalMs = 10, what = "condition" } = {}) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await condition()) return;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
}

/** Inputs `{ n: 0 } .. { n: count - 1 }`, the payload every library gets. */
export function numberedInputs(count, offset = 0) {
  return Array.from({ length: count }, (_, index) => ({ n: offset + index }));
}

/** Splits `items` into arrays of at most `size`. */
export function chunk(items, size) {
  const chunks = [];
  for (let start = 0; start < items.length; start += size) chunks.push(items.slice(start, start + size));
  return chunks;
}

/** Peak resident set size of this process so far, in MB. */
export function peakRssMb() {
  return Math.round(process.resourceUsage().maxRSS / 1024);
}

/**
 * The installed version of package `name` as resolved from `fromUrl`, read from its
 * package.json (found by walking up from its entry point, since `exports` may hide the file).
 */
export function installedVersion(name, fromUrl) {
  const require = createRequire(fromUrl);
  let directory = dirname(require.resolve(name));
  while (directory !== dirname(directory)) {
    const candidate = join(directory, "package.json");
    if (existsSync(candidate)) {
      const manifest = JSON.parse(readFileSync(candidate, "utf8"));
      if (manifest.name === name) return manifest.version;
    }
    directory = dirname(directory);
  }
  return "unknown";
}

/**
 * Sequential throughput, the same way for every participant: `warmUp` untimed calls of
 * `call(n)` first (numbered on from `count`), so the figure is the steady rate rather than the
 * first calls' compilation and statement preparation, then `count` timed calls. Returns the
 * elapsed ms of the timed calls.
 */
export async function timeSequentialCalls({ count, warmUp = 0, call }) {
  for (let n = 0; n < warmUp; n += 1) await call(count + n);
  const started = performance.now();
  for (let n = 0; n < count; n += 1) await call(n);
  return performance.now() - started;
}

/**
 * Idle latency, the same way for every participant: after `settleMs` (listeners connect), run
 * `warmup` discarded rounds, then `samples` rounds of `measureOne(round)`, `gapMs` apart.
 * `measureOne` enqueues one task, resolves with the ms from the enqueue call to the handler's
 * start, and returns only once that task has finished, so every sample meets an idle worker.
 */
export async function sampleLatency({ samples, warmup = 5, gapMs, settleMs = 500, measureOne }) {
  await pause(settleMs);
  const latencies = [];
  for (let round = 0; round < warmup + samples; round += 1) {
    const latency = await measureOne(round);
    if (round >= warmup) latencies.push(latency);
    await pause(gapMs);
  }
  const p50Ms = percentileOf(latencies, 0.5);
  return {
    value: p50Ms,
    unit: "ms",
    count: latencies.length,
    extra: { p50Ms, p99Ms: percentileOf(latencies, 0.99), maxMs: Math.max(...latencies), warmup, gapMs, settleMs },
  };
}

function pause(ms) {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

function percentileOf(values, fraction) {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(fraction * sorted.length) - 1))];
}
