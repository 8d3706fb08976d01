import { afterEach, describe, expect, it } from "vitest";
import { ConfigError, Queue, StorageUnavailableError, silentLogger, type StorageAdapter, type Task } from "@underway/core";
import { MemoryStorage } from "@underway/core/testing";
import { Scheduler, ZonedSchedule, type SchedulerOptions } from "@underway/scheduler";
import { waitFor } from "../../../test/support/source-process.js";

type ReportInput = { report: string };
const reportTask: Task<ReportInput> = { execute: () => undefined };

const started: Scheduler<ReportInput, unknown>[] = [];
afterEach(async () => {
  await Promise.all(started.splice(0).map((scheduler) => scheduler.shutdown()));
});

async function setUp(storage: StorageAdapter<unknown> = new MemoryStorage()) {
  const queue = await Queue.builder<ReportInput>().name(`reports-${Math.random().toString(36).slice(2)}`).storage(storage).build();
  return { storage, queue };
}

function startScheduler(queue: Queue<ReportInput, unknown>, options: SchedulerOptions<ReportInput> = {}) {
  const scheduler = new Scheduler(queue, reportTask, { logger: silentLogger, ...options });
  started.push(scheduler);
  const events: string[] = [];
  for (const name of ["scheduler:leader", "scheduler:standby", "scheduler:waiting", "scheduler:stopped", "scheduler:error"] as const) {
    scheduler.on(name, () => events.push(name));
  }
  const fired: Date[] = [];
  scheduler.on("scheduler:fired", ({ fireAt }) => fired.push(fireAt));
  const running = scheduler.run();
  return { scheduler, events, fired, running };
}

const everySecond = ZonedSchedule.parse("* * * * * *[UTC]");

describe("Stored schedules", () => {
  it("store a zone written in another letter case in one spelling", async () => {
    const { storage, queue } = await setUp();
    await queue.schedule(ZonedSchedule.parse("@daily[america/new_york]"), { report: "daily" });
    expect(await storage.scheduleGet({ queueName: queue.name })).toMatchObject({ cron: "@daily", timeZone: "America/New_York" });
  });
});

describe("Scheduler options", () => {
  it("rejects bad configuration at construction", async () => {
    const { queue } = await setUp();
    const build = (options: unknown) => () => new Scheduler(queue, reportTask, options as SchedulerOptions<ReportInput>);
    expect(build({ missedFires: "replay" })).toThrow(/missedFires must be "skip" or \{ catchUp: n \}/);
    expect(build({ missedFires: { catchUp: 0 } })).toThrow(/catchUp must be an integer from 1/);
    expect(build({ missedFires: { catchUp: 1.5 } })).toThrow(ConfigError);
    expect(build({ standbyRetryMs: 0 })).toThrow(/standbyRetryMs must be a whole number/);
    expect(build({ refreshIntervalMs: -5 })).toThrow(/refreshIntervalMs/);
    expect(build({ refreshIntervalMs: "1s" })).toThrow(/refreshIntervalMs/);
    expect(build({ logger: {} })).toThrow(/logger must have debug, info, warn and error/);
    expect(build({ fireInput: "template" })).toThrow(/fireInput must be a function/);
    expect(() => new Scheduler({} as Queue<ReportInput>, reportTask)).toThrow(/expects a Queue/);
    expect(() => new Scheduler(queue, {} as Task<ReportInput>)).toThrow(/expects a task/);
  });

  it("rejects a run signal that is not an AbortSignal, and still runs and stops afterwards", async () => {
    const { queue } = await setUp();
    const scheduler = new Scheduler(queue, reportTask, { logger: silentLogger });
    started.push(scheduler);
    await expect(scheduler.run("stop" as unknown as AbortSignal)).rejects.toThrow(ConfigError);
    const running = scheduler.run();
    await scheduler.once("scheduler:waiting");
    await scheduler.shutdown();
    await expect(running).resolves.toBeUndefined();
  });
});

describe("Scheduler", () => {
  it("leads alone, and a second scheduler stands by without firing", async () => {
    const { queue, storage } = await setUp();
    await queue.schedule(everySecond, { report: "tick" });
    const first = startScheduler(queue);
    await first.scheduler.once("scheduler:leader");
    const second = startScheduler(queue);
    await second.scheduler.once("scheduler:standby");
    await waitFor(() => first.fired.length >= 3, { message: "three fires" });
    expect(first.scheduler.isLeader).toBe(true);
    expect(second.scheduler.isLeader).toBe(false);
    expect(second.fired).toEqual([]);
    const tasks = await storage.taskList({ queueName: queue.name });
    expect(tasks.map((task) => task.input)).toEqual(first.fired.map(() => ({ report: "tick" })));
    expect(tasks.map((task) => task.scheduledFor?.toISOString()).sort()).toEqual(first.fired.map((date) => date.toISOString()).sort());
  });

  it("waits for a schedule, then fires it, without exiting or throwing", async () => {
    const { queue } = await setUp();
    const { scheduler, events, fired } = startScheduler(queue, { refreshIntervalMs: 100 });
    await scheduler.once("scheduler:waiting");
    expect(events).toEqual(["scheduler:leader", "scheduler:waiting"]);
    await queue.schedule(everySecond, { report: "late" });
    const { fireAt } = await scheduler.once("scheduler:fired");
    expect(fired[0]).toEqual(fireAt);
    expect(events).not.toContain("scheduler:error");
  });

  it("applies a schedule change within 5 s", async () => {
    const { queue, storage } = await setUp();
    await queue.schedule(ZonedSchedule.parse("0 0 0 1 1 *"), { report: "yearly" });
    const { scheduler } = startScheduler(queue);
    await scheduler.once("scheduler:leader");
    const changedAt = Date.now();
    await queue.schedule(everySecond, { report: "now every second" });
    const { fireAt } = await scheduler.once("scheduler:fired");
    expect(Date.now() - changedAt).toBeLessThan(5_000);
    expect(fireAt.getTime()).toBeGreaterThan(changedAt - 1_000);
    const [task] = await storage.taskList({ queueName: queue.name });
    expect(task?.input).toEqual({ report: "now every second" });
  });

  it("uses the latest stored input for each fire", async () => {
    const { queue, storage } = await setUp();
    await queue.schedule(everySecond, { report: "first" });
    const { scheduler } = startScheduler(queue, { refreshIntervalMs: 100 });
    await scheduler.once("scheduler:fired");
    await queue.schedule(everySecond, { report: "second" });
    await waitFor(async () => (await storage.taskList({ queueName: queue.name })).some((task) => (task.input as ReportInput).report === "second"), {
      timeoutMs: 5_000,
      message: "a fire with the new input",
    });
  });

  it("stops firing within 5 s of unschedule, and waits again", async () => {
    const { queue, storage } = await setUp();
    await queue.schedule(everySecond, { report: "tick" });
    const { scheduler, fired } = startScheduler(queue);
    await scheduler.once("scheduler:fired");
    const waiting = scheduler.once("scheduler:waiting");
    await queue.unschedule();
    await waiting;
    const countAfterWaiting = (await storage.taskList({ queueName: queue.name })).length;
    // Long enough for two more occurrences of the removed schedule.
    const deadline = Date.now() + 2_200;
    await waitFor(() => Date.now() >= deadline, { timeoutMs: 3_000, intervalMs: 100 });
    expect((await storage.taskList({ queueName: queue.name })).length).toBe(countAfterWaiting);
    expect(fired.length).toBe(countAfterWaiting);
  });

  it("releases leadership on shutdown, so a standby takes over at once", async () => {
    const { queue } = await setUp();
    await queue.schedule(everySecond, { report: "tick" });
    const first = startScheduler(queue);
    await first.scheduler.once("scheduler:leader");
    const second = startScheduler(queue, { standbyRetryMs: 200 });
    await second.scheduler.once("scheduler:standby");
    const takeover = second.scheduler.once("scheduler:leader");
    const shutdownAt = Date.now();
    await first.scheduler.shutdown();
    await first.running;
    expect(first.events.at(-1)).toBe("scheduler:stopped");
    await takeover;
    expect(Date.now() - shutdownAt).toBeLessThan(1_000);
    await second.scheduler.once("scheduler:fired");
  });

  it("shuts down before run, twice, and on a storage shutdown event", async () => {
    const { queue, storage } = await setUp();
    const idle = new Scheduler(queue, reportTask, { logger: silentLogger });
    await idle.shutdown();
    await idle.shutdown();
    await idle.run(); // resolves at once: the scheduler was stopped
    expect(idle.isLeader).toBe(false);

    await queue.schedule(everySecond, { report: "tick" });
    const leader = startScheduler(queue);
    await leader.scheduler.once("scheduler:leader");
    const standby = startScheduler(queue);
    await standby.scheduler.once("scheduler:standby");
    await storage.notifyShutdown({ queueName: "some-other-queue" });
    await storage.notifyShutdown({ queueName: queue.name });
    await Promise.all([leader.running, standby.running]);
    expect(leader.events.at(-1)).toBe("scheduler:stopped");
    expect(standby.events.at(-1)).toBe("scheduler:stopped");
    // The lock is free again.
    const lock = await storage.lockTry({ key: `scheduler:${queue.name}` });
    expect(lock).not.toBeNull();
    await lock!.release();
  });

  it("stops when the run signal aborts", async () => {
    const { queue } = await setUp();
    const scheduler = new Scheduler(queue, reportTask, { logger: silentLogger });
    const controller = new AbortController();
    const running = scheduler.run(controller.signal);
    expect(scheduler.run(controller.signal)).toBe(running);
    await scheduler.once("scheduler:waiting");
    controller.abort();
    await running;
    expect(scheduler.isLeader).toBe(false);
  });

  it("goes back to standby when its lock is lost, and leads again once it is free", async () => {
    const storage = new MemoryStorage();
    const { queue } = await setUp(storage);
    await queue.schedule(everySecond, { report: "tick" });
    const { scheduler, events } = startScheduler(queue, { standbyRetryMs: 100 });
    await scheduler.once("scheduler:leader");
    // Closing the storage aborts every held lock's signal, as a dropped connection would.
    const back = scheduler.once("scheduler:leader");
    await storage.close();
    await back;
    expect(events.filter((event) => event === "scheduler:standby").length).toBeGreaterThanOrEqual(1);
    expect(events.filter((event) => event === "scheduler:leader")).toHaveLength(2);
  });

  it("survives failing storage calls: logs, emits and retries", async () => {
    const memory = new MemoryStorage();
    let failuresLeft = 3;
    const flaky = new Proxy(memory, {
      get(target, property, receiver) {
        const value = Reflect.get(target, property, receiver);
        if (property === "scheduleGet" || property === "lockTry" || property === "scheduleFire") {
          return async (...args: unknown[]) => {
            if (failuresLeft > 0) {
              failuresLeft -= 1;
              throw new StorageUnavailableError("database is restarting");
            }
            return (value as (...params: unknown[]) => unknown).apply(target, args);
          };
        }
        return typeof value === "function" ? value.bind(target) : value;
      },
    }) as StorageAdapter<unknown>;
    const { queue } = await setUp(flaky);
    await queue.schedule(everySecond, { report: "tick" });
    const logged: string[] = [];
    const scheduler = new Scheduler(queue, reportTask, {
      logger: { ...silentLogger, error: (_fields, message) => logged.push(message) },
    });
    started.push(scheduler);
    const errors: unknown[] = [];
    scheduler.on("scheduler:error", ({ error }) => errors.push(error));
    const running = scheduler.run();
    await scheduler.once("scheduler:fired");
    expect(errors).toHaveLength(3);
    expect(errors.every((error) => StorageUnavailableError.isInstance(error))).toBe(true);
    expect(logged).toHaveLength(3);
    await scheduler.shutdown();
    await expect(running).resolves.toBeUndefined();
  });

  it("builds each fire's input with fireInput", async () => {
    const { queue, storage } = await setUp();
    await queue.schedule(everySecond, { report: "template" });
    const { scheduler } = startScheduler(queue, {
      fireInput: (stored, fireAt) => ({
        input: { report: `${(stored as ReportInput).report}@${fireAt.toISOString()}` },
        correlationId: `run-${fireAt.getTime()}`,
      }),
    });
    const { fireAt, taskId } = await scheduler.once("scheduler:fired");
    const task = await storage.taskGet({ taskId });
    expect(task?.input).toEqual({ report: `template@${fireAt.toISOString()}` });
    expect(task?.correlationId).toBe(`run-${fireAt.getTime()}`);
  });

  it("skips an occurrence whose input the task rejects, and keeps going", async () => {
    const { queue } = await setUp();
    await queue.schedule(everySecond, { report: "tick" });
    let calls = 0;
    const { scheduler } = startScheduler(queue, {
      fireInput: (stored) => {
        calls += 1;
        if (calls === 1) throw new Error("template is broken");
        return { input: stored as ReportInput };
      },
    });
    const skipped = await scheduler.once("scheduler:skipped");
    expect(skipped.reason).toBe("invalid-input");
    const fired = await scheduler.once("scheduler:fired");
    expect(fired.fireAt.getTime()).toBeGreaterThan(skipped.fireAt.getTime());
  });

  it("starts nothing for an occurrence while the task from an earlier one holds the task's dedupe key", async () => {
    const { queue, storage } = await setUp();
    await queue.schedule(everySecond, { report: "nightly" });
    const singleFlight: Task<ReportInput> = { execute: () => undefined, dedupeKey: ({ report }) => report };
    const scheduler = new Scheduler(queue, singleFlight, { logger: silentLogger });
    started.push(scheduler);
    const running = scheduler.run();
    const first = await scheduler.once("scheduler:fired");
    const skipped = await scheduler.once("scheduler:skipped");
    expect(skipped).toMatchObject({ reason: "deduplicated", taskId: first.taskId });
    expect(skipped.fireAt.getTime()).toBeGreaterThan(first.fireAt.getTime());
    expect((await storage.taskList({ queueName: queue.name })).map((task) => task.id)).toEqual([first.taskId]);

    // Once that task has finished, the key is free and the next occurrence starts a task again.
    const [claimed] = await storage.taskClaim({ queueName: queue.name, limit: 1 });
    await storage.taskComplete({ queueName: queue.name, taskId: claimed!.id, attempt: claimed!.attempt });
    const next = await scheduler.once("scheduler:fired");
    expect(next.taskId).not.toBe(first.taskId);
    expect(next.fireAt.getTime()).toBeGreaterThan(skipped.fireAt.getTime());
    await scheduler.shutdown();
    await running;
  });

  it("never enqueues an occurrence twice, even with two schedulers that both believe they lead", async () => {
    const memory = new MemoryStorage();
    // Split brain: every lockTry succeeds, as if each scheduler had its own lock service.
    const splitBrain = new Proxy(memory, {
      get(target, property, receiver) {
        if (property === "lockTry") return async () => ({ signal: new AbortController().signal, release: async () => undefined });
        const value = Reflect.get(target, property, receiver);
        return typeof value === "function" ? value.bind(target) : value;
      },
    }) as StorageAdapter<unknown>;
    const { queue, storage } = await setUp(splitBrain);
    await queue.schedule(everySecond, { report: "tick" });
    const first = startScheduler(queue);
    const second = startScheduler(queue);
    const alreadyFired: Date[] = [];
    for (const { scheduler } of [first, second]) {
      scheduler.on("scheduler:skipped", ({ fireAt, reason }) => reason === "already-fired" && alreadyFired.push(fireAt));
    }
    await Promise.all([first.scheduler.once("scheduler:leader"), second.scheduler.once("scheduler:leader")]);
    await waitFor(() => first.fired.length + second.fired.length >= 4 && alreadyFired.length >= 2, { message: "contested fires" });
    await Promise.all([first.scheduler.shutdown(), second.scheduler.shutdown()]);
    const tasks = await storage.taskList({ queueName: queue.name });
    const fireTimes = tasks.map((task) => task.scheduledFor!.getTime());
    expect(new Set(fireTimes).size).toBe(fireTimes.length);
    expect(tasks.length).toBe(first.fired.length + second.fired.length);
    // Every occurrence one of them lost was enqueued by the other.
    for (const fireAt of alreadyFired) expect(fireTimes).toContain(fireAt.getTime());
  });

  describe("missed fires", () => {
    it("skip (default): a new leader fires nothing from before it led", async () => {
      const { queue, storage } = await setUp();
      await queue.schedule(everySecond, { report: "tick" });
      const past = new Date(Math.floor(Date.now() / 1000) * 1000 - 60_000);
      await storage.scheduleFire({ queueName: queue.name, fireAt: past, task: await queue.prepare(reportTask, { report: "old" }) });
      const ledAt = Date.now();
      const { scheduler, fired } = startScheduler(queue);
      await scheduler.once("scheduler:fired");
      expect(fired.every((fireAt) => fireAt.getTime() > ledAt - 1_000)).toBe(true);
      expect((await storage.taskList({ queueName: queue.name })).length).toBe(1 + fired.length);
    });

    it("catchUp: n fires the n most recent missed occurrences since the last fire, oldest first", async () => {
      const { queue, storage } = await setUp();
      const everyMinute = ZonedSchedule.parse("0 * * * * *");
      await queue.schedule(everyMinute, { report: "minutely" });
      const lastFired = new Date(Math.floor(Date.now() / 60_000) * 60_000 - 10 * 60_000);
      await storage.scheduleFire({ queueName: queue.name, fireAt: lastFired, task: await queue.prepare(reportTask, { report: "old" }) });
      const { scheduler, fired } = startScheduler(queue, { missedFires: { catchUp: 3 } });
      const skipped: Date[] = [];
      scheduler.on("scheduler:skipped", ({ fireAt, reason }) => reason === "missed" && skipped.push(fireAt));
      await waitFor(() => fired.length >= 3, { timeoutMs: 5_000, message: "three catch-up fires" });
      const latestDue = everyMinute.preceding(new Date(Date.now() + 1)).next().value!;
      expect(fired.slice(0, 3).map((date) => date.getTime())).toEqual([
        latestDue.getTime() - 120_000,
        latestDue.getTime() - 60_000,
        latestDue.getTime(),
      ]);
      // The ten-minute gap held nine or ten missed occurrences; the older ones were skipped.
      expect(skipped.length).toBeGreaterThanOrEqual(6);
      expect(skipped.every((date) => date.getTime() > lastFired.getTime() && date.getTime() < fired[0]!.getTime())).toBe(true);
      expect(await storage.taskList({ queueName: queue.name })).toHaveLength(4);
    });

    it("catchUp fires fewer when fewer were missed", async () => {
      const { queue, storage } = await setUp();
      const everyMinute = ZonedSchedule.parse("0 * * * * *");
      await queue.schedule(everyMinute, { report: "minutely" });
      const lastFired = everyMinute.preceding(new Date(Date.now() - 60_000)).next().value!;
      await storage.scheduleFire({ queueName: queue.name, fireAt: lastFired, task: await queue.prepare(reportTask, { report: "old" }) });
      const { scheduler, fired } = startScheduler(queue, { missedFires: { catchUp: 5 } });
      await scheduler.once("scheduler:fired");
      // One or two occurrences (depending on where in the minute we are) were missed.
      expect(fired.length).toBeGreaterThanOrEqual(1);
      expect(fired.length).toBeLessThanOrEqual(2);
      expect(fired[0]!.getTime()).toBeGreaterThan(lastFired.getTime());
    });
  });
});
