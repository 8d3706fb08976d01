import { describe, expect, it } from "vitest";
import { LEASE_MS, type ConformanceFixture } from "./conformance-fixture.js";

/**
 * Follow-ups written already claimed (`FollowUpTask.claim`): the worker that completes a task
 * runs its follow-up next without claiming it, so such a follow-up must be, in every storage,
 * exactly what a claim would have made of it.
 */
export function claimedFollowUpCases<Tx>(f: ConformanceFixture<Tx>): void {
  describe("follow-ups written claimed", () => {
    it("writes the follow-up as a running first attempt with a fresh lease and returns it as a claim would", async () => {
      await f.enqueueOne();
      const parent = await f.claimOne();
      f.clock.advance(40);
      const next = f.newTask({ input: { step: 2, items: [1, 2] }, correlationId: "run-7", priority: 3 });
      const outcome = await f.storage.taskComplete({ ...f.ref(parent), followUps: [{ queueName: f.queueName, task: next, claim: true }] });
      const now = f.clock.now();
      expect(outcome.followUpIds).toEqual([next.id]);
      expect(outcome.claimedFollowUps).toEqual([
        {
          id: next.id,
          queueName: f.queueName,
          input: { step: 2, items: [1, 2] },
          attempt: 1,
          priority: 3,
          runAt: now,
          createdAt: now,
          leaseExpiresAt: new Date(now.getTime() + LEASE_MS),
          timeoutMs: next.timeoutMs,
          ttlMs: next.ttlMs,
          heartbeatMs: next.heartbeatMs,
          retryPolicy: next.retryPolicy,
          concurrencyKey: null,
          dedupeKey: null,
          correlationId: "run-7",
        },
      ]);
      expect(await f.existingTask(next.id)).toMatchObject({
        state: "in_progress",
        attemptCount: 1,
        currentAttempt: 1,
        leaseExpiresAt: new Date(now.getTime() + LEASE_MS),
        lastAttemptAt: now,
      });
      expect(await f.claim(10)).toEqual([]);

      f.clock.advance(25);
      const finished = await f.storage.taskComplete({ ...f.ref(outcome.claimedFollowUps[0]!), output: "step 2 done" });
      expect(finished.state).toBe("succeeded");
      expect(await f.existingTask(next.id)).toMatchObject({ state: "succeeded", output: "step 2 done", leaseExpiresAt: null });
      expect(await f.attempts(next.id)).toEqual([
        expect.objectContaining({ attemptNumber: 1, state: "succeeded", startedAt: now, completedAt: f.clock.now() }),
      ]);
    });

    it("lets the lease recover a claimed follow-up whose runner disappeared", async () => {
      await f.enqueueOne();
      const parent = await f.claimOne();
      const next = f.newTask();
      const { claimedFollowUps } = await f.storage.taskComplete({ ...f.ref(parent), followUps: [{ queueName: f.queueName, task: next, claim: true }] });
      expect(claimedFollowUps.map((task) => task.id)).toEqual([next.id]);
      f.clock.advance(LEASE_MS);
      const reclaimed = await f.claimOne();
      expect(reclaimed).toMatchObject({ id: next.id, attempt: 2 });
      expect(await f.attempts(next.id)).toEqual([
        expect.objectContaining({ attemptNumber: 1, state: "failed" }),
        expect.objectContaining({ attemptNumber: 2, state: "in_progress" }),
      ]);
    });

    it("writes pending a follow-up that is delayed or keyed, and claims the others, whatever their queue", async () => {
      const other = await f.otherQueue("claimed-elsewhere");
      await f.enqueueOne();
      const parent = await f.claimOne();
      const delayed = f.newTask({ delayMs: 1_000 });
      const serialized = f.newTask({ concurrencyKey: "account-1" });
      const deduplicated = f.newTask({ dedupeKey: "once" });
      const plain = f.newTask({ input: { plain: true } });
      const elsewhere = f.newTask({ input: { elsewhere: true } });
      const outcome = await f.storage.taskComplete({
        ...f.ref(parent),
        followUps: [
          { queueName: f.queueName, task: delayed, claim: true },
          { queueName: f.queueName, task: serialized, claim: true },
          { queueName: f.queueName, task: deduplicated, claim: true },
          { queueName: f.queueName, task: plain, claim: true },
          { queueName: other, task: elsewhere, claim: true },
        ],
      });
      expect(outcome.followUpIds).toEqual([delayed.id, serialized.id, deduplicated.id, plain.id, elsewhere.id]);
      expect(outcome.claimedFollowUps.map((task) => [task.id, task.queueName])).toEqual([
        [plain.id, f.queueName],
        [elsewhere.id, other],
      ]);
      for (const id of [delayed.id, serialized.id, deduplicated.id]) {
        expect(await f.existingTask(id)).toMatchObject({ state: "pending", attemptCount: 0, currentAttempt: 0, leaseExpiresAt: null });
      }
      expect(await f.existingTask(elsewhere.id)).toMatchObject({ state: "in_progress", queueName: other, currentAttempt: 1 });
      const claimable = (await f.claim(10)).map((task) => task.id);
      expect(claimable.sort()).toEqual([serialized.id, deduplicated.id].sort());
    });

    it("claims the follow-ups of the completions that won in a batch, and nothing of a fenced or cancelled one", async () => {
      await f.enqueue([f.newTask(), f.newTask(), f.newTask()]);
      const [a, b, c] = await f.claim(3);
      await f.storage.taskCancel({ queueName: f.queueName, taskId: c!.id });
      f.clock.advance(LEASE_MS - 1);
      await f.storage.taskHeartbeat(f.ref(a!));
      await f.storage.taskHeartbeat(f.ref(c!));
      f.clock.advance(1);
      const reclaimedB = await f.claimOne();
      expect(reclaimedB.id).toBe(b!.id);
      const nextOfA = f.newTask({ correlationId: "a" });
      const nextOfB = f.newTask({ correlationId: "b" });
      const nextOfC = f.newTask({ correlationId: "c" });
      const outcome = await f.storage.taskCompleteMany({
        attempts: [
          { ...f.ref(a!), followUps: [{ queueName: f.queueName, task: nextOfA, claim: true }] },
          { ...f.ref(b!), followUps: [{ queueName: f.queueName, task: nextOfB, claim: true }] },
          { ...f.ref(c!), followUps: [{ queueName: f.queueName, task: nextOfC, claim: true }] },
        ],
      });
      expect(outcome.rejected).toEqual([b!.id]);
      expect(outcome.cancelled).toEqual([c!.id]);
      expect(outcome.claimedFollowUps).toEqual([expect.objectContaining({ id: nextOfA.id, attempt: 1, correlationId: "a" })]);
      expect(await f.existingTask(nextOfA.id)).toMatchObject({ state: "in_progress", currentAttempt: 1 });
      expect(await f.task(nextOfB.id)).toBeNull();
      expect(await f.task(nextOfC.id)).toBeNull();
    });
  });
}
