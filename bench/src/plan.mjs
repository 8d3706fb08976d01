// What the benchmark measures: the metrics of issue 7, their counts in the full and quick modes,
// and which libraries take part in each.

/** Every participant; "floor" is plain SQL, the limit the libraries are measured against. */
export const libraries = ["floor", "underway", "pg-boss", "graphile-worker"];
export const peers = ["pg-boss", "graphile-worker"];

/**
 * The measurements of one run. `better` says which direction wins; `params` go to the runner
 * on its command line (plus `databaseUrl`).
 */
export function planMeasurements({ quick }) {
  const drainCount = quick ? 2_000 : 20_000;
  const timeoutMs = quick ? 60_000 : 240_000;
  const shared = { concurrency: 10, floorLoops: 4, floorBatchSize: 100, timeoutMs };
  const all = libraries;
  const noFloor = libraries.filter((library) => library !== "floor");
  return [
    { id: "enqueue-single", metric: "1", label: "single enqueue", unit: "tasks/s", better: "higher", libraries: all, params: { ...shared, count: quick ? 300 : 5_000, warmUp: quick ? 100 : 1_000 } },
    { id: "enqueue-batch", metric: "2", label: "batch enqueue, 1,000 per call", unit: "tasks/s", better: "higher", libraries: all, params: { ...shared, count: quick ? 5_000 : 50_000, batchSize: 1_000, warmUpCalls: quick ? 1 : 5 } },
    { id: "enqueue-one-call", metric: "2", label: `one ${quick ? "10,000" : "100,000"}-task call`, unit: "tasks/s", better: "higher", libraries: all, params: { ...shared, count: quick ? 10_000 : 100_000 } },
    { id: "drain-default", metric: "3", label: `drain ${drainCount.toLocaleString("en")} no-op, concurrency 10, defaults`, unit: "tasks/s", better: "higher", libraries: all, params: { ...shared, count: drainCount } },
    { id: "drain-best", metric: "4", label: `drain ${drainCount.toLocaleString("en")} no-op, best settings`, unit: "tasks/s", better: "higher", libraries: all, params: { ...shared, count: drainCount } },
    { id: "drain-app-row", metric: "5", label: `drain ${drainCount.toLocaleString("en")}, each inserts an app row`, unit: "tasks/s", better: "higher", libraries: all, params: { ...shared, count: drainCount } },
    { id: "job-3-step", metric: "6", label: `3-step jobs, ${(quick ? 500 : 5_000).toLocaleString("en")} runs`, unit: "runs/s", better: "higher", libraries: noFloor, params: { ...shared, runs: quick ? 500 : 5_000 } },
    { id: "latency", metric: "7", label: `idle latency enqueue → start, p50 (${quick ? 50 : 200} tasks)`, unit: "ms", better: "lower", libraries: all, params: { ...shared, samples: quick ? 50 : 200, gapMs: 20 } },
    { id: "drain-2-processes", metric: "8", label: `drain ${drainCount.toLocaleString("en")} no-op, 2 worker processes, defaults`, unit: "tasks/s", better: "higher", libraries: noFloor, params: { ...shared, count: drainCount } },
  ];
}
