import { afterAll, describe, expect, it } from "vitest";
import { Queue, type Task } from "@underway/core";
import { createTestDatabase, type TestDatabase } from "@underway/queue-pg/testing";
import { ZonedSchedule } from "@underway/scheduler";
import { spawnSourceProcess, waitFor, type SourceProcess } from "../support/source-process.js";
import { reportFigures, seconds } from "./support/figures.js";

const fixture = new URL("../../packages/scheduler/test/fixtures/scheduler-process.ts", import.meta.url).pathname;
const QUEUE_NAME = "chaos-every-second";
const CHAOS_MS = 30_000;
const SCHEDULERS = 3;

interface SchedulerProcess {
  process: SourceProcess;
  pid: number;
}

async function startScheduler(url: string): Promise<SchedulerProcess> {
  const child = spawnSourceProcess(fixture, [url, QUEUE_NAME]);
  const pidLine = await child.waitForLine((line) => line.startsWith("pid "), 60_000);
  return { process: child, pid: Number(pidLine.slice("pid ".length)) };
}

/** Whether the process's latest leadership line says it leads. */
function leads(scheduler: SchedulerProcess): boolean {
  const roles = scheduler.process.lines.filter((line) => line.startsWith("leader ") || line.startsWith("standby "));
  return roles.at(-1)?.startsWith("leader ") === true && scheduler.process.child.exitCode === null;
}

describe("Scheduler chaos", () => {
  let db: TestDatabase | undefined;
  const schedulers: SchedulerProcess[] = [];

  afterAll(async () => {
    await Promise.all(schedulers.map((scheduler) => scheduler.process.kill("SIGKILL")));
    await db?.drop();
  });

  it(`never enqueues an every-second occurrence twice while leaders are killed for ${CHAOS_MS / 1000} s`, async () => {
    db = await createTestDatabase({ poolSize: 4 });
    const queue = await Queue.builder<{ report: string }>().name(QUEUE_NAME).storage(db.storage).build();
    const task: Task<{ report: string }> = { execute: () => undefined };
    await queue.schedule(ZonedSchedule.parse("* * * * * *[UTC]"), { report: "tick" }, { task });
    const url = db.url;
    schedulers.push(...(await Promise.all(Array.from({ length: SCHEDULERS }, () => startScheduler(url)))));

    const started = Date.now();
    const failovers: number[] = [];
    let kills = 0;
    while (Date.now() - started < CHAOS_MS) {
      const leader = await waitFor(() => schedulers.find(leads), { timeoutMs: 20_000, message: "a leader" });
      // Let the leader fire a few occurrences before killing it (chaos pacing, not synchronisation).
      const firedBefore = leader.process.lines.filter((line) => line.startsWith("fired ")).length;
      await waitFor(() => leader.process.lines.filter((line) => line.startsWith("fired ")).length >= firedBefore + 2, {
        timeoutMs: 10_000,
        message: "the leader to fire",
      });
      try {
        process.kill(leader.pid, "SIGKILL");
      } catch {
        // Already gone.
      }
      const killedAt = Date.now();
      await leader.process.exited;
      kills += 1;
      schedulers.splice(schedulers.indexOf(leader), 1);
      const replacement = startScheduler(url).then((started) => {
        schedulers.push(started);
        return started;
      });
      await waitFor(() => schedulers.some(leads), { timeoutMs: 20_000, message: "a standby to take over" });
      failovers.push(Date.now() - killedAt);
      await replacement;
    }

    const records = await db.storage.taskList({ queueName: QUEUE_NAME, limit: 10_000 });
    const fireTimes = records.map((record) => record.scheduledFor?.toISOString() ?? "none");
    const distinct = new Set(fireTimes);
    const sortedFires = [...distinct].filter((time) => time !== "none").sort();
    let longestGapMs = 0;
    for (let index = 1; index < sortedFires.length; index += 1) {
      longestGapMs = Math.max(longestGapMs, Date.parse(sortedFires[index]!) - Date.parse(sortedFires[index - 1]!));
    }
    reportFigures("scheduler-leaders", {
      schedulers: SCHEDULERS,
      chaos: seconds(CHAOS_MS),
      leader_kills: kills,
      fires: records.length,
      duplicates: records.length - distinct.size,
      failover_max: seconds(Math.max(...failovers)),
      longest_gap: seconds(longestGapMs),
    });

    expect(kills).toBeGreaterThanOrEqual(4);
    expect(fireTimes).not.toContain("none");
    expect(distinct.size).toBe(records.length);
    // Every fire time is a whole second, as the schedule says.
    expect(sortedFires.every((time) => time.endsWith(".000Z"))).toBe(true);
    expect(records.length).toBeGreaterThan(CHAOS_MS / 1000 / 2);
    expect(Math.max(...failovers)).toBeLessThan(15_000);
  });
});
