// The whole machine's CPU time over an interval, from /proc/stat (Linux only): how busy the cores
// were during a drain and how much CPU each task cost, Postgres, workers and runner together.
import { readFileSync } from "node:fs";
import os from "node:os";

function readCpuTicks() {
  try {
    const line = readFileSync("/proc/stat", "utf8").split("\n", 1)[0];
    const fields = line.trim().split(/\s+/).slice(1).map(Number);
    // user nice system idle iowait irq softirq steal ...
    const idle = fields[3] + (fields[4] ?? 0);
    const total = fields.slice(0, 8).reduce((sum, value) => sum + value, 0);
    return { idle, total };
  } catch {
    return null;
  }
}

/**
 * Starts measuring; the returned function ends the interval and reports the busy share of all
 * cores and the CPU time per item, or null where /proc/stat cannot be read.
 */
export function measureMachineCpu() {
  const before = readCpuTicks();
  return (items) => {
    const after = readCpuTicks();
    if (before === null || after === null || after.total <= before.total) return null;
    const total = after.total - before.total;
    const busy = total - (after.idle - before.idle);
    // USER_HZ is 100 on every Linux that matters here: one tick is 10 ms of one core.
    const busyMicros = busy * 10_000;
    return {
      cores: os.cpus().length,
      busyShare: Number((busy / total).toFixed(3)),
      cpuMicrosPerItem: items > 0 ? Number((busyMicros / items).toFixed(1)) : null,
    };
  };
}
