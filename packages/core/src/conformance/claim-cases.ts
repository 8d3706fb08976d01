import { describe, expect, it } from "vitest";
import { ConfigError } from "../errors.js";
import type { ClaimedTask } from "../storage/records.js";
import { after, HEARTBEAT_MS, LEASE_MS, type ConformanceFixture } from "./conformance-fixture.js";

/** Claim: order, run times, limits, attempt rows, and exclusive claims under parallel claimers. */
export function claimCases<Tx>(f: ConformanceFixture<Tx>): void {
  describe("claim", () => {
    it("hands out tasks in order priority desc, runAt, createdAt, id", async () => {
      const start = f.clock.now();
      // Same priority and runAt: the earlier createdAt wins even though its id sorts later.
      const createdSecond = f.newTask({ input: "created-second", priority: 1 });
      const createdFirst = f.newTask({ input: "created-first", priority: 1, delayMs: 1_000 });
      const lowEarly = f.newTask({ input: "low-early" });
      const highEarly = f.newTask({ input: "high-early", priority: 10 });
      const lowDelayed = f.newTask({ input: "low-delayed", delayMs: 500 });
      const tieFirst = f.newTask({ input: "tie-first", priority: 5 });
      const tieSecond = f.newTask({ input: "tie-second", priority: 5 });
      await f.enqueue([createdFirst, lowDelayed, lowEarly, highEarly, tieSecond, tieFirst].sort((a, b) => (a.id < b.id ? 1 : -1)));
      f.clock.set(after(start, 1_000));
      await f.enqueue([createdSecond]);
      const lowLate = await f.enqueueOne({ input: "low-late" });
      const highLate = await f.enqueueOne({ input: "high-late", priority: 10 });
      const negative = await f.enqueueOne({ input: "negative", priority: -3 });

      const claimed = await f.claim(100);
      expect(claimed.map((task) => task.input)).toEqual([
        "high-early",
        "high-late",
        "tie-first",
        "tie-second",
        "created-first",
        "created-second",
        "low-early",
        "low-delayed",
        "low-late",
        "negative",
      ]);
      expect(claimed.map((task) => task.id)).toContain(lowLate.id);
      expect(claimed.map((task) => task.id)).toContain(highLate.id);
      expect(claimed.map((task) => task.id)).toContain(negative.id);
    });

    it("never claims a task before its runAt", async () => {
      const task = await f.enqueueOne({ delayMs: 10_000 });
      expect(await f.claim()).toEqual([]);
      f.clock.advance(9_999);
      expect(await f.claim()).toEqual([]);
      f.clock.advance(1);
      const claimed = await f.claimOne();
      expect(claimed.id).toBe(task.id);
    });

    it("claims at most `limit` tasks", async () => {
      await f.enqueue(Array.from({ length: 5 }, () => f.newTask()));
      expect(await f.claim(2)).toHaveLength(2);
      expect(await f.claim(2)).toHaveLength(2);
      expect(await f.claim(2)).toHaveLength(1);
      expect(await f.claim(2)).toHaveLength(0);
    });

    it("refuses a limit that is not a whole number from 1 with a ConfigError, claiming nothing", async () => {
      const task = await f.enqueueOne();
      for (const limit of [0, -1, 1.5, Number.NaN, 2 ** 31, "5"]) {
        await expect(f.storage.taskClaim({ queueName: f.queueName, limit: limit as number }), String(limit)).rejects.toBeInstanceOf(ConfigError);
      }
      expect(await f.existingTask(task.id)).toMatchObject({ state: "pending", attemptCount: 0 });
    });

    it("refuses taskList and taskPrune limits that are not whole numbers from 1", async () => {
      await f.enqueueOne();
      for (const limit of [0, -1, 1.5, 2 ** 31]) {
        await expect(f.storage.taskList({ queueName: f.queueName, limit }), `taskList ${limit}`).rejects.toBeInstanceOf(ConfigError);
        await expect(f.storage.taskPrune({ queueName: f.queueName, limit }), `taskPrune ${limit}`).rejects.toBeInstanceOf(ConfigError);
      }
      expect(await f.storage.taskList({ queueName: f.queueName, limit: 1 })).toHaveLength(1);
    });

    it("claims only from the named queue", async () => {
      const other = await f.otherQueue("other");
      await f.enqueueOne({}, other);
      expect(await f.claim()).toEqual([]);
      expect(await f.claim(10, other)).toHaveLength(1);
    });

    it("starts attempt 1 with a lease of three heartbeats and writes its attempt row", async () => {
      const task = await f.enqueueOne({ input: { hello: "world" }, correlationId: "run-9", concurrencyKey: "k" });
      f.clock.advance(250);
      const now = f.clock.now();
      const claimed = await f.claimOne();
      expect(claimed).toMatchObject({
        id: task.id,
        queueName: f.queueName,
        input: { hello: "world" },
        attempt: 1,
        leaseExpiresAt: after(now, LEASE_MS),
        heartbeatMs: HEARTBEAT_MS,
        timeoutMs: task.timeoutMs,
        retryPolicy: task.retryPolicy,
        correlationId: "run-9",
        concurrencyKey: "k",
      });
      expect(await f.existingTask(task.id)).toMatchObject({
        state: "in_progress",
        attemptCount: 1,
        currentAttempt: 1,
        leaseExpiresAt: after(now, LEASE_MS),
      });
      const attempts = await f.attempts(task.id);
      expect(attempts).toEqual([
        expect.objectContaining({ taskId: task.id, queueName: f.queueName, attemptNumber: 1, state: "in_progress", errorMessage: null, startedAt: now, completedAt: null }),
      ]);
    });

    it("hands each of 1 000 tasks to exactly one of 50 parallel claimers", async () => {
      const tasks = Array.from({ length: 1_000 }, (_, index) => f.newTask({ input: { index } }));
      await f.enqueue(tasks);
      let inFlight = 0;
      let mostInFlight = 0;
      const claimer = async (): Promise<ClaimedTask[]> => {
        const mine: ClaimedTask[] = [];
        for (;;) {
          inFlight += 1;
          mostInFlight = Math.max(mostInFlight, inFlight);
          const batch = await f.storage.taskClaim({ queueName: f.queueName, limit: 7 }).finally(() => {
            inFlight -= 1;
          });
          if (batch.length === 0) return mine;
          mine.push(...batch);
        }
      };
      // Every claimer starts before any finishes: on storages with parallelClaims these run on
      // separate connections at the same time.
      const perClaimer = await Promise.all(Array.from({ length: 50 }, () => claimer()));
      const claimedIds = perClaimer.flat().map((task) => task.id);
      expect(claimedIds).toHaveLength(1_000);
      expect(new Set(claimedIds)).toEqual(new Set(tasks.map((task) => task.id)));
      expect(perClaimer.filter((batch) => batch.length > 0).length).toBeGreaterThan(1);
      expect(mostInFlight).toBeGreaterThan(1);
      const stored = await f.storage.taskList({ queueName: f.queueName, limit: 2_000 });
      expect(stored.every((task) => task.state === "in_progress" && task.attemptCount === 1)).toBe(true);
    });
  });
}
