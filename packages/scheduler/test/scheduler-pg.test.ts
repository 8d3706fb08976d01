import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { fileURLToPath } from "node:url";
import { Queue, type TaskRecord } from "@underway/core";
import { createTestDatabase, type TestDatabase } from "@underway/queue-pg/testing";
import { ZonedSchedule } from "@underway/scheduler";
import { spawnSourceProcess, waitFor, type SourceProcess } from "../../../test/support/source-process.js";

const fixture = fileURLToPath(new URL("./fixtures/scheduler-process.ts", import.meta.url));

let database: TestDatabase;
const processes: SourceProcess[] = [];

beforeAll(async () => {
  database = await createTestDatabase();
});

afterAll(async () => {
  await Promise.all(processes.map((child) => child.kill("SIGKILL")));
  await database?.drop();
});

function startProcess(queueName: string): SourceProcess {
  const child = spawnSourceProcess(fixture, [database.url, queueName]);
  processes.push(child);
  return child;
}

const startedAs = (line: string) => line.startsWith("leader ") || line.startsWith("standby ");
const lineTime = (line: string) => Number(line.split(" ")[1]);
const firedLines = (child: SourceProcess) => child.lines.filter((line) => line.startsWith("fired "));

async function scheduledTasks(queueName: string): Promise<TaskRecord[]> {
  const tasks = await database.storage.taskList({ queueName, limit: 10_000 });
  return tasks.filter((task) => task.scheduledFor !== null).sort((a, b) => a.scheduledFor!.getTime() - b.scheduledFor!.getTime());
}

function expectNoDuplicateFireKeys(tasks: TaskRecord[]): number[] {
  const fireTimes = tasks.map((task) => task.scheduledFor!.getTime());
  expect(new Set(fireTimes).size).toBe(fireTimes.length);
  return fireTimes;
}

async function observeUntil(deadline: number): Promise<void> {
  // Watching for fires during a window: the condition is the end of the window itself.
  await waitFor(() => Date.now() >= deadline, { timeoutMs: deadline - Date.now() + 5_000, intervalMs: 100 });
}

describe("Scheduler on Postgres, across processes", () => {
  it("three schedulers fire every second exactly once, and a standby replaces a killed leader within 5 s", async () => {
    const queueName = "every-second";
    const queue = await Queue.builder<{ report: string }>().name(queueName).storage(database.storage).build();
    await queue.schedule(ZonedSchedule.parse("* * * * * *[UTC]"), { report: "tick" });

    const children = [startProcess(queueName), startProcess(queueName), startProcess(queueName)];
    await Promise.all(children.map((child) => child.waitForLine(startedAs)));
    const leaders = children.filter((child) => child.lines.some((line) => line.startsWith("leader ")));
    expect(leaders).toHaveLength(1);
    const leader = leaders[0]!;
    const ledAt = lineTime(leader.lines.find((line) => line.startsWith("leader "))!);

    await observeUntil(ledAt + 10_000);
    const tasks = await scheduledTasks(queueName);
    const fireTimes = expectNoDuplicateFireKeys(tasks);
    expect(tasks.length).toBeGreaterThanOrEqual(8);
    // One task per occurrence: consecutive seconds, none missing, none twice.
    for (let index = 1; index < fireTimes.length; index += 1) expect(fireTimes[index]! - fireTimes[index - 1]!).toBe(1_000);
    // At most one occurrence missed at start-up: the first fire is the first or second whole second after leadership.
    const firstOccurrence = Math.floor(ledAt / 1_000) * 1_000 + 1_000;
    expect(fireTimes[0]!).toBeLessThanOrEqual(firstOccurrence + 1_000);
    // Only the leader fired.
    for (const child of children) if (child !== leader) expect(firedLines(child)).toEqual([]);

    // Kill the process that runs the scheduler itself (tsx's child), as a crash would.
    const leaderPid = Number((await leader.waitForLine((line) => line.startsWith("pid "))).split(" ")[1]);
    const killedAt = Date.now();
    process.kill(leaderPid, "SIGKILL");
    await leader.exited;
    const standbys = children.filter((child) => child !== leader);
    const successor = await Promise.race(
      standbys.map((child) => child.waitForLine((line) => line.startsWith("fired ") && new Date(line.split(" ")[1]!).getTime() > killedAt).then(() => child)),
    );
    const takeoverFire = new Date(firedLines(successor).find((line) => new Date(line.split(" ")[1]!).getTime() > killedAt)!.split(" ")[1]!);
    expect(takeoverFire.getTime() - killedAt).toBeLessThanOrEqual(5_000);

    const afterTakeover = await scheduledTasks(queueName);
    expectNoDuplicateFireKeys(afterTakeover);
    expect(standbys.filter((child) => firedLines(child).length > 0)).toHaveLength(1);
    await Promise.all(standbys.map((child) => child.kill("SIGTERM")));
  });

  it("applies a schedule change within 5 s, and stops firing after unschedule", async () => {
    const queueName = "changing";
    const queue = await Queue.builder<{ report: string }>().name(queueName).storage(database.storage).build();
    await queue.schedule(ZonedSchedule.parse("* * * * * *"), { report: "every second" });
    const children = [startProcess(queueName), startProcess(queueName)];
    await Promise.all(children.map((child) => child.waitForLine(startedAs)));
    await waitFor(async () => (await scheduledTasks(queueName)).length >= 2, { timeoutMs: 10_000, message: "two fires" });

    const changedAt = Date.now();
    await queue.schedule(ZonedSchedule.parse("*/3 * * * * *"), { report: "every third second" });
    // Past the 5 s bound, every new fire follows the new cadence.
    await observeUntil(changedAt + 5_000 + 7_000);
    const late = (await scheduledTasks(queueName)).filter((task) => task.createdAt.getTime() >= changedAt + 5_000);
    expect(late.length).toBeGreaterThanOrEqual(2);
    for (const task of late) {
      expect(task.scheduledFor!.getUTCSeconds() % 3).toBe(0);
      expect(task.input).toEqual({ report: "every third second" });
    }
    const lateTimes = late.map((task) => task.scheduledFor!.getTime());
    for (let index = 1; index < lateTimes.length; index += 1) expect(lateTimes[index]! - lateTimes[index - 1]!).toBe(3_000);

    await queue.unschedule();
    const leader = children.find((child) => child.lines.some((line) => line.startsWith("leader ")))!;
    await leader.waitForLine((line) => line.startsWith("waiting "), 10_000);
    const countWhenWaiting = (await scheduledTasks(queueName)).length;
    // Two more occurrences of the removed schedule would have come due in this window.
    await observeUntil(Date.now() + 6_500);
    expect(await scheduledTasks(queueName)).toHaveLength(countWhenWaiting);
    expectNoDuplicateFireKeys(await scheduledTasks(queueName));
    await Promise.all(children.map((child) => child.kill("SIGTERM")));
    for (const child of children) expect(await child.exited).toBe(0);
  });
});
