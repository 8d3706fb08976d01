// Turns the raw samples of a run into medians, the comparison table, the issue-7 target checks,
// and the README's performance section.
import { readFileSync, writeFileSync } from "node:fs";
import { peers } from "./plan.mjs";
import { median, roundSignificant } from "./statistics.mjs";

const columns = ["floor", "underway", "pg-boss", "graphile-worker"];
const columnTitles = { floor: "SQL floor", underway: "Underway", "pg-boss": "pg-boss", "graphile-worker": "graphile-worker" };

/** Medians per measurement and library, keeping every sample, setting and failure. */
export function summarize(measurements, samples) {
  return measurements.map((measurement) => {
    const byLibrary = {};
    for (const library of measurement.libraries) {
      const runs = samples.filter((sample) => sample.measurement === measurement.id && sample.library === library);
      const ok = runs.filter((run) => typeof run.result?.value === "number");
      const first = ok[0]?.result ?? runs[0]?.result ?? {};
      byLibrary[library] = {
        median: median(ok.map((run) => run.result.value)),
        samples: ok.map((run) => roundSignificant(run.result.value, 4)),
        count: first.count ?? null,
        version: first.version ?? null,
        settings: first.settings ?? null,
        p99Ms: median(ok.map((run) => run.result.extra?.p99Ms)),
        peakRssMb: median(ok.map((run) => run.result.extra?.perProcess?.[0]?.peakRssMb)),
        notAvailable: runs.find((run) => run.result?.notAvailable)?.result.notAvailable ?? null,
        errors: runs.filter((run) => run.error || run.result?.error).map((run) => truncate(run.error ?? run.result.error)),
      };
    }
    return { ...measurement, byLibrary };
  });
}

function truncate(text, length = 600) {
  return text.length > length ? `${text.slice(0, length)}…` : text;
}

function cell(summary, id, library, field = "median") {
  return summary.find((measurement) => measurement.id === id)?.byLibrary[library]?.[field] ?? null;
}

/** The rows of the comparison table, including the derived p99, RSS and scaling rows. */
export function tableRows(summary) {
  const rows = [];
  for (const measurement of summary) {
    rows.push(rowFrom(measurement, measurement.label, measurement.unit, measurement.better, (entry) => entry.median));
    if (measurement.id === "latency") {
      rows.push(rowFrom(measurement, measurement.label.replace("p50", "p99"), "ms", "lower", (entry) => entry.p99Ms));
    }
  }
  const defaultDrain = summary.find((measurement) => measurement.id === "drain-default");
  if (defaultDrain) {
    const workerLibraries = defaultDrain.libraries.filter((library) => library !== "floor");
    rows.push(rowFrom({ ...defaultDrain, metric: "8", libraries: workerLibraries }, "worker process peak RSS, default drain", "MB", "lower", (entry) => entry.peakRssMb));
  }
  const scaling = { metric: "8", label: "2 worker processes ÷ 1 (default drain)", unit: "×", better: "higher", values: {}, states: {} };
  for (const library of ["underway", "pg-boss", "graphile-worker"]) {
    const two = cell(summary, "drain-2-processes", library);
    const one = cell(summary, "drain-default", library);
    scaling.values[library] = two !== null && one !== null ? two / one : null;
  }
  rows.push(withRatios(scaling));
  return rows;
}

function rowFrom(measurement, label, unit, better, pick) {
  const row = { metric: measurement.metric, label, unit, better, values: {}, states: {} };
  for (const library of measurement.libraries) {
    const entry = measurement.byLibrary[library];
    if (!entry) continue;
    const value = pick(entry);
    row.values[library] = value ?? null;
    if (value === null || value === undefined) row.states[library] = entry.notAvailable ? "n/a" : entry.errors.length > 0 ? "error" : "n/a";
  }
  return withRatios(row);
}

function withRatios(row) {
  const ours = row.values.underway ?? null;
  const peerValues = peers.map((peer) => row.values[peer]).filter((value) => typeof value === "number");
  const bestPeer = peerValues.length === 0 ? null : row.better === "higher" ? Math.max(...peerValues) : Math.min(...peerValues);
  const floor = row.values.floor ?? null;
  return {
    ...row,
    vsBestPeer: ours !== null && bestPeer ? ours / bestPeer : null,
    vsFloor: ours !== null && floor ? ours / floor : null,
  };
}

function formatValue(value, unit) {
  if (value === null || value === undefined) return null;
  if (unit === "ms") return value.toFixed(value < 10 ? 2 : 1);
  if (unit === "×") return `${value.toFixed(2)}×`;
  if (unit === "MB") return `${Math.round(value)}`;
  if (value >= 10_000) return `${(value / 1000).toFixed(1)}k`;
  if (value >= 1_000) return `${(value / 1000).toFixed(2)}k`;
  return value.toFixed(value < 10 ? 1 : 0);
}

function formatRatio(ratio) {
  return ratio === null ? "–" : `${ratio.toFixed(2)}×`;
}

/** The comparison table as Markdown (it reads fine on a terminal too). */
export function renderTable(rows) {
  const header = ["#", "metric", "unit", ...columns.map((column) => columnTitles[column]), "Underway ÷ best peer", "Underway ÷ floor"];
  const lines = [`| ${header.join(" | ")} |`, `|${header.map((_, index) => (index < 3 ? "---" : "---:")).join("|")}|`];
  for (const row of rows) {
    const cells = columns.map((column) => {
      if (!(column in row.values)) return "–";
      return formatValue(row.values[column], row.unit) ?? row.states[column] ?? "n/a";
    });
    const unit = row.unit === "×" ? "ratio" : `${row.unit} (${row.better === "higher" ? "↑" : "↓"})`;
    lines.push(`| ${row.metric} | ${row.label} | ${unit} | ${cells.join(" | ")} | ${formatRatio(row.vsBestPeer)} | ${formatRatio(row.vsFloor)} |`);
  }
  return lines.join("\n");
}

/** Each target of issue 7, checked against this run's medians (null when a figure is missing). */
export function checkTargets(summary) {
  const value = (id, library, field) => cell(summary, id, library, field);
  const ratio = (a, b) => (a !== null && b !== null && b !== 0 ? a / b : null);
  const bestPeer = (id, better = "higher") => {
    const values = peers.map((peer) => value(id, peer)).filter((entry) => entry !== null);
    if (values.length === 0) return null;
    return better === "higher" ? Math.max(...values) : Math.min(...values);
  };
  const atLeast = (target, measured, threshold) => ({ target, measured, threshold, holds: measured === null ? null : measured >= threshold, kind: "ratio ≥" });
  const atMost = (target, measured, threshold, kind = "ratio ≤") => ({ target, measured, threshold, holds: measured === null ? null : measured <= threshold, kind });
  const below = (target, measured, threshold, kind = "ratio <") => ({ target, measured, threshold, holds: measured === null ? null : measured < threshold, kind });
  return [
    atLeast("default drain ≥ 2 × graphile-worker default", ratio(value("drain-default", "underway"), value("drain-default", "graphile-worker")), 2),
    atLeast("default drain ≥ 2 × pg-boss default", ratio(value("drain-default", "underway"), value("drain-default", "pg-boss")), 2),
    atLeast("best drain ≥ 2 × graphile-worker best", ratio(value("drain-best", "underway"), value("drain-best", "graphile-worker")), 2),
    atLeast("best drain ≥ 0.4 × batched SQL floor", ratio(value("drain-best", "underway"), value("drain-best", "floor")), 0.4),
    atLeast("atomic app-row drain ≥ 1.2 × best peer (non-atomic)", ratio(value("drain-app-row", "underway"), bestPeer("drain-app-row")), 1.2),
    atLeast("batch enqueue ≥ 2 × best peer", ratio(value("enqueue-batch", "underway"), bestPeer("enqueue-batch")), 2),
    atLeast("batch enqueue ≥ 0.8 × unnest floor", ratio(value("enqueue-batch", "underway"), value("enqueue-batch", "floor")), 0.8),
    atLeast("single enqueue ≥ 1.5 × pg-boss", ratio(value("enqueue-single", "underway"), value("enqueue-single", "pg-boss")), 1.5),
    atLeast("single enqueue ≥ 0.8 × single-insert floor", ratio(value("enqueue-single", "underway"), value("enqueue-single", "floor")), 0.8),
    atMost("latency p50 ≤ 1.2 × floor p50", ratio(value("latency", "underway"), value("latency", "floor")), 1.2),
    below("latency p50 below both peers", ratio(value("latency", "underway"), bestPeer("latency", "lower")), 1),
    below("latency p99 < 10 ms", value("latency", "underway", "p99Ms"), 10, "ms <"),
    atLeast("3-step job runs/s ≥ 1/3 × default drain", ratio(value("job-3-step", "underway"), value("drain-default", "underway")), 1 / 3),
  ];
}

/** The targets as Markdown lines. */
export function renderTargets(targets) {
  return targets
    .map((target) => {
      const mark = target.holds === null ? "n/a" : target.holds ? "holds" : "MISSED";
      const measured = target.measured === null ? "no figure" : target.kind.startsWith("ms") ? `${target.measured.toFixed(2)} ms` : `${target.measured.toFixed(2)}×`;
      return `- ${mark}: ${target.target} (measured ${measured})`;
    })
    .join("\n");
}

export const readmeStart = "<!-- bench:start -->";
export const readmeEnd = "<!-- bench:end -->";

/** Replaces the text between the bench markers of `readmePath` (adding them at the end if missing). */
export function writeReadmeSection(readmePath, section) {
  const readme = readFileSync(readmePath, "utf8");
  const block = `${readmeStart}\n${section.trim()}\n${readmeEnd}`;
  const start = readme.indexOf(readmeStart);
  const end = readme.indexOf(readmeEnd);
  const updated = start !== -1 && end > start
    ? `${readme.slice(0, start)}${block}${readme.slice(end + readmeEnd.length)}`
    : `${readme.replace(/\s*$/, "")}\n\n${block}\n`;
  writeFileSync(readmePath, updated);
}
