#!/usr/bin/env node
// Checks the strata of DESIGN §1: imports point down only, and SQL lives only in queue-pg.
import { readFileSync, readdirSync, statSync } from "node:fs";
import { join } from "node:path";

const allowed = {
  core: [],
  "queue-pg": ["core"],
  worker: ["core"],
  scheduler: ["core"],
  job: ["core", "worker", "scheduler"],
};
const problems = [];

function filesUnder(dir) {
  const out = [];
  for (const entry of readdirSync(dir)) {
    const path = join(dir, entry);
    if (statSync(path).isDirectory()) out.push(...filesUnder(path));
    else if (path.endsWith(".ts")) out.push(path);
  }
  return out;
}

const sqlPattern = /\b(select\s+[\w*]|insert\s+into|update\s+\w+\s+set|delete\s+from|create\s+(table|index|schema))\b/i;

for (const [name, deps] of Object.entries(allowed)) {
  for (const file of filesUnder(join("packages", name, "src"))) {
    // Documentation examples may show other packages and SQL; only code counts.
    const text = readFileSync(file, "utf8").replace(/\/\*[\s\S]*?\*\//g, "").replace(/^\s*\/\/.*$/gm, "");
    for (const match of text.matchAll(/from\s+["']@underway\/([\w-]+)/g)) {
      const target = match[1];
      if (target !== name && !deps.includes(target)) problems.push(`${file} imports @underway/${target}; ${name} may import only ${deps.join(", ") || "nothing"}`);
    }
    if (name !== "queue-pg" && sqlPattern.test(text)) problems.push(`${file} contains SQL; SQL belongs in packages/queue-pg`);
  }
}

// The promise of DESIGN §1, kept by an example: a worker of one's own needs core and one storage.
for (const file of filesUnder(join("examples", "hand-written-worker", "src"))) {
  const text = readFileSync(file, "utf8").replace(/\/\*[\s\S]*?\*\//g, "").replace(/^\s*\/\/.*$/gm, "");
  for (const match of text.matchAll(/from\s+["']@underway\/([\w-]+)/g)) {
    if (!["core", "queue-pg"].includes(match[1])) problems.push(`${file} imports @underway/${match[1]}; a hand-written worker needs only core and queue-pg`);
  }
  if (sqlPattern.test(text)) problems.push(`${file} contains SQL; a hand-written worker reaches storage through the contract only`);
}

if (problems.length > 0) {
  console.error(problems.join("\n"));
  process.exit(1);
}
console.log("layering ok: imports point down, SQL only in queue-pg");
