import { appendFileSync, mkdirSync } from "node:fs";
import { fileURLToPath } from "node:url";

const resultsDirectory = fileURLToPath(new URL("../../../.test-results/", import.meta.url));

/**
 * Prints a scenario's one-line figure summary (`[chaos] <scenario>: key=value ...`) and appends it
 * to `.test-results/chaos-figures.txt`, from where `docs/reliability.md` is updated.
 */
export function reportFigures(scenario: string, figures: Record<string, string | number>): string {
  const line = `[chaos] ${scenario}: ${Object.entries(figures).map(([key, value]) => `${key}=${value}`).join(" ")}`;
  console.log(line);
  mkdirSync(resultsDirectory, { recursive: true });
  appendFileSync(`${resultsDirectory}chaos-figures.txt`, `${new Date().toISOString()} ${line}\n`);
  return line;
}

/** A number of milliseconds as seconds with one decimal, for the summaries. */
export function seconds(ms: number): string {
  return `${(ms / 1000).toFixed(1)}s`;
}
