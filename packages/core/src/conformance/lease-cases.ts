import { describe, expect, it } from "vitest";
import { after, HEARTBEAT_MS, LEASE_MS, type ConformanceFixture } from "./conformance-fixture.js";

/** Leases: heartbeats extend them; expired ones are reclaimed, or terminalised when no attempts are left. */
export function leaseCases<Tx>(f: ConformanceFixture<Tx>): void {
  describe("leases", () => {
    it("keeps a task whose lease has not expired away from other claimers", async () => {
      await f.enqueueOne();
      await f.claimOne();
      f.clock.advance(LEASE_MS - 1);
      expect(await f.claim()).toEqual([]);
    });

    it("extends the lease to now + 3 heartbeats on each heartbeat", async () => {
      await f.enqueueOne();
      const claimed = await f.claimOne();
      f.clock.advance(2 * HEARTBEAT_MS);
      const beat = await f.storage.taskHeartbeat(f.ref(claimed));
      expect(beat).toEqual({ leaseExpiresAt: after(f.clock.now(), LEASE_MS), cancelRequested: false });
      expect((await f.existingTask(claimed.id)).leaseExpiresAt).toEqual(beat.leaseExpiresAt);
      f.clock.advance(LEASE_MS - 1);
      expect(await f.claim()).toEqual([]);
      f.clock.advance(1);
      expect((await f.claimOne()).attempt).toBe(2);
    });

    it("reclaims an expired task as a new attempt and fails the previous attempt with a message", async () => {
      const task = await f.enqueueOne();
      const first = await f.claimOne();
      f.clock.advance(LEASE_MS);
      const reclaimAt = f.clock.now();
      const second = await f.claimOne();
      expect(second).toMatchObject({ id: task.id, attempt: 2, leaseExpiresAt: after(reclaimAt, LEASE_MS) });
      expect(first.attempt).toBe(1);
      expect(await f.existingTask(task.id)).toMatchObject({ state: "in_progress", attemptCount: 2, currentAttempt: 2 });
      const attempts = await f.attempts(task.id);
      expect(attempts.map((attempt) => [attempt.attemptNumber, attempt.state])).toEqual([
        [1, "failed"],
        [2, "in_progress"],
      ]);
      expect(attempts[0]!.errorMessage).toMatch(/lease/i);
      expect(attempts[0]!.completedAt).toEqual(reclaimAt);
    });

    it("keeps each attempt's own start and end times through a retry, a reclaim and a success", async () => {
      const task = await f.enqueueOne();
      const firstStart = f.clock.now();
      const first = await f.claimOne();
      f.clock.advance(10);
      const firstEnd = f.clock.now();
      await f.storage.taskRetry({ ...f.ref(first), delayMs: 0, errorMessage: "try again" });
      f.clock.advance(10);
      const secondStart = f.clock.now();
      expect((await f.claimOne()).attempt).toBe(2);
      f.clock.advance(LEASE_MS);
      const thirdStart = f.clock.now();
      const third = await f.claimOne();
      expect(third.attempt).toBe(3);
      f.clock.advance(10);
      const thirdEnd = f.clock.now();
      await f.storage.taskComplete({ ...f.ref(third), output: { ok: true } });
      expect(await f.attempts(task.id)).toEqual([
        expect.objectContaining({ attemptNumber: 1, state: "failed", errorMessage: "try again", startedAt: firstStart, updatedAt: firstEnd, completedAt: firstEnd }),
        expect.objectContaining({ attemptNumber: 2, state: "failed", startedAt: secondStart, updatedAt: thirdStart, completedAt: thirdStart }),
        expect.objectContaining({ attemptNumber: 3, state: "succeeded", errorMessage: null, startedAt: thirdStart, updatedAt: thirdEnd, completedAt: thirdEnd }),
      ]);
    });

    it("leaves expired leases alone in a claim with reclaimExpired: false, and takes pending tasks only", async () => {
      const queueName = await f.otherQueue("pending-only");
      const expired = await f.enqueueOne({}, queueName);
      const exhausted = await f.enqueueOne({ retryPolicy: { maxAttempts: 1, initialIntervalMs: 0, maxIntervalMs: 0, backoffCoefficient: 1, jitterFactor: 0 } }, queueName);
      await f.claim(2, queueName);
      f.clock.advance(LEASE_MS);
      const fresh = await f.enqueueOne({}, queueName);
      const pendingOnly = await f.storage.taskClaim({ queueName, limit: 10, reclaimExpired: false });
      expect(pendingOnly.map((claimed) => claimed.id)).toEqual([fresh.id]);
      expect(await f.existingTask(expired.id)).toMatchObject({ state: "in_progress", attemptCount: 1 });
      expect(await f.existingTask(exhausted.id)).toMatchObject({ state: "in_progress", attemptCount: 1 });
      const full = await f.storage.taskClaim({ queueName, limit: 10 });
      expect(full.map((claimed) => [claimed.id, claimed.attempt])).toEqual([[expired.id, 2]]);
      expect((await f.existingTask(exhausted.id)).state).toBe("failed");
    });

    it("fails an expired task with no attempts left at the next claim, and moves it to the dead-letter queue", async () => {
      const queueName = await f.otherQueue("with-dlq", f.deadLetterQueueName);
      const task = await f.enqueueOne({ retryPolicy: { maxAttempts: 1, initialIntervalMs: 0, maxIntervalMs: 0, backoffCoefficient: 1, jitterFactor: 0 } }, queueName);
      await f.claimOne(queueName);
      f.clock.advance(LEASE_MS);
      expect(await f.claim(10, queueName)).toEqual([]);
      const stored = await f.existingTask(task.id);
      expect(stored).toMatchObject({ state: "failed", queueName: f.deadLetterQueueName, leaseExpiresAt: null, completedAt: f.clock.now() });
      const attempts = await f.attempts(task.id);
      expect(attempts).toHaveLength(1);
      expect(attempts[0]).toMatchObject({ queueName: f.deadLetterQueueName, state: "failed" });
      expect(attempts[0]!.errorMessage).toMatch(/lease/i);
      expect(await f.storage.taskList({ queueName })).toEqual([]);
    });

    it("fails an expired, exhausted task in place when the queue has no dead-letter queue", async () => {
      const task = await f.enqueueOne({ retryPolicy: { maxAttempts: 2, initialIntervalMs: 0, maxIntervalMs: 0, backoffCoefficient: 1, jitterFactor: 0 } });
      await f.claimOne();
      f.clock.advance(LEASE_MS);
      expect((await f.claimOne()).attempt).toBe(2);
      f.clock.advance(LEASE_MS);
      expect(await f.claim()).toEqual([]);
      expect(await f.existingTask(task.id)).toMatchObject({ state: "failed", queueName: f.queueName, attemptCount: 2 });
      expect((await f.attempts(task.id)).map((attempt) => attempt.state)).toEqual(["failed", "failed"]);
    });
  });
}
