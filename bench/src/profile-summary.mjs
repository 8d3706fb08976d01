// `node bench/src/profile-summary.mjs [DIR]`: reads the worker CPU profiles written by
// `pnpm bench --profile-workers=DIR` and prints, for each drain, where the worker process spent
// its time while it drained: busy time per task, and the shares of socket writes, the garbage
// collector and the functions that took most of it.
import { readdirSync, readFileSync, statSync } from "node:fs";
import path from "node:path";

const socketWriteFunctions = new Set(["writev", "writeBuffer", "writeUtf8String", "writeLatin1String", "writeAsciiString"]);

function findProfiles(directory) {
  const found = [];
  for (const entry of readdirSync(directory)) {
    const full = path.join(directory, entry);
    if (statSync(full).isDirectory()) found.push(...findProfiles(full));
    else if (entry.endsWith(".cpuprofile")) found.push(full);
  }
  return found.sort();
}

/** The drain window written next to a profile by its worker process (matched by pid), if any. */
function drainWindowOf(profilePath) {
  const pid = path.basename(profilePath).split(".")[3];
  try {
    return JSON.parse(readFileSync(path.join(path.dirname(profilePath), `drain-window.${pid}.json`), "utf8"));
  } catch {
    return null;
  }
}

function frameName(node) {
  const { functionName, url, lineNumber } = node.callFrame;
  const file = url ? url.split("/").slice(-2).join("/") : "";
  return file ? `${functionName || "(anonymous)"} ${file}:${lineNumber + 1}` : functionName || "(anonymous)";
}

function summarizeProfile(profilePath) {
  const profile = JSON.parse(readFileSync(profilePath, "utf8"));
  const window = drainWindowOf(profilePath);
  const nodes = new Map(profile.nodes.map((node) => [node.id, node]));
  let time = profile.startTime;
  let busy = 0;
  let idle = 0;
  let socketWrites = 0;
  let garbageCollector = 0;
  const selfTime = new Map();
  profile.samples.forEach((nodeId, index) => {
    const delta = profile.timeDeltas[index];
    time += delta;
    if (window && (time < window.startMicros || time > window.endMicros)) return;
    const node = nodes.get(nodeId);
    const name = node.callFrame.functionName;
    if (name === "(idle)") {
      idle += delta;
      return;
    }
    busy += delta;
    if (socketWriteFunctions.has(name)) socketWrites += delta;
    if (name === "(garbage collector)") garbageCollector += delta;
    const key = frameName(node);
    selfTime.set(key, (selfTime.get(key) ?? 0) + delta);
  });
  return { window, busy, idle, socketWrites, garbageCollector, selfTime };
}

function share(part, whole) {
  return whole > 0 ? `${Math.round((part / whole) * 100)} %` : "–";
}

function main() {
  const directory = path.resolve(process.env.INIT_CWD ?? process.cwd(), process.argv[2] ?? "bench/results/profiles");
  const profiles = findProfiles(directory);
  if (profiles.length === 0) {
    console.error(`no .cpuprofile files under ${directory} (run pnpm bench --profile-workers=DIR first)`);
    process.exit(1);
  }
  for (const profilePath of profiles) {
    const { window, busy, idle, socketWrites, garbageCollector, selfTime } = summarizeProfile(profilePath);
    const tasks = window?.handled ?? 0;
    const perTask = (micros) => (tasks > 0 ? `${(micros / tasks).toFixed(1)} µs per task` : `${(micros / 1000).toFixed(0)} ms`);
    console.log(`${path.relative(directory, profilePath)}${window ? `: drain, ${tasks} handled, ${((window.endMicros - window.startMicros) / 1000).toFixed(0)} ms` : ": whole process (no drain window found)"}`);
    console.log(`  busy ${perTask(busy)} (${share(busy, busy + idle)} of the window); socket writes ${share(socketWrites, busy)}, garbage collector ${share(garbageCollector, busy)} of busy`);
    const top = [...selfTime.entries()].sort((a, b) => b[1] - a[1]).slice(0, 8);
    for (const [name, micros] of top) console.log(`    ${share(micros, busy).padStart(5)}  ${name}`);
  }
}

main();
