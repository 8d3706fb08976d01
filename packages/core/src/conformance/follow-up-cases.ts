import { describe, expect, it } from "vitest";
import { TaskNotFoundError } from "../errors.js";
import { LEASE_MS, type ConformanceFixture } from "./conformance-fixture.js";

/** Completion: output stored and follow-ups written atomically with the success. */
export function followUpCases<Tx>(f: ConformanceFixture<Tx>): void {
  describe("complete and follow-ups", () => {
    it("marks the task and attempt succeeded, stores the output and clears the lease", async () => {
      const task = await f.enqueueOne();
      const claimed = await f.claimOne();
      f.clock.advance(75);
      const outcome = await f.storage.taskComplete({ ...f.ref(claimed), output: { receipt: "r-1", lines: [1, 2] } });
      expect(outcome).toEqual({ state: "succeeded", followUpIds: [], claimedFollowUps: [] });
      expect(await f.existingTask(task.id)).toMatchObject({
        state: "succeeded",
        output: { receipt: "r-1", lines: [1, 2] },
        completedAt: f.clock.now(),
        leaseExpiresAt: null,
      });
      expect(await f.attempts(task.id)).toEqual([expect.objectContaining({ state: "succeeded", completedAt: f.clock.now(), errorMessage: null })]);
    });

    it("writes follow-up tasks with the success, in the order given, into their queues", async () => {
      const other = await f.otherQueue("next-step");
      await f.enqueueOne();
      const claimed = await f.claimOne();
      const sameQueue = f.newTask({ input: { step: 2 }, correlationId: "run-1" });
      const otherQueue = f.newTask({ input: { step: 3 }, delayMs: 1_000 });
      const outcome = await f.storage.taskComplete({
        ...f.ref(claimed),
        followUps: [
          { queueName: f.queueName, task: sameQueue },
          { queueName: other, task: otherQueue },
        ],
      });
      expect(outcome).toEqual({ state: "succeeded", followUpIds: [sameQueue.id, otherQueue.id], claimedFollowUps: [] });
      expect(await f.existingTask(sameQueue.id)).toMatchObject({ state: "pending", queueName: f.queueName, input: { step: 2 }, correlationId: "run-1" });
      expect(await f.existingTask(otherQueue.id)).toMatchObject({ state: "pending", queueName: other, runAt: new Date(f.clock.now().getTime() + 1_000) });
      expect((await f.claimOne()).id).toBe(sameQueue.id);
    });

    it("writes nothing, follow-ups included, for a fenced attempt", async () => {
      await f.enqueueOne();
      const stale = await f.claimOne();
      f.clock.advance(LEASE_MS);
      const current = await f.claimOne();
      const followUp = f.newTask();
      const error = await f.storage
        .taskComplete({ ...f.ref(stale), output: "stale", followUps: [{ queueName: f.queueName, task: followUp }] })
        .then(() => undefined, (rejection: unknown) => rejection);
      expect(TaskNotFoundError.isInstance(error)).toBe(true);
      expect(await f.task(followUp.id)).toBeNull();
      expect(await f.existingTask(current.id)).toMatchObject({ state: "in_progress", output: null, currentAttempt: 2 });
    });

    it("applies dedupe keys to follow-ups", async () => {
      const existing = await f.enqueueOne({ dedupeKey: "single" });
      await f.enqueueOne();
      const [first, second] = await f.claim(2);
      const runner = first!.id === existing.id ? second! : first!;
      const duplicate = f.newTask({ dedupeKey: "single" });
      const outcome = await f.storage.taskComplete({ ...f.ref(runner), followUps: [{ queueName: f.queueName, task: duplicate }] });
      expect(outcome.followUpIds).toEqual([existing.id]);
      expect(await f.task(duplicate.id)).toBeNull();
    });

    it("lets a follow-up take over the dedupe key of the task it follows", async () => {
      const parent = await f.enqueueOne({ dedupeKey: "run-key", correlationId: "run-1" });
      const claimed = await f.claimOne();
      const next = f.newTask({ dedupeKey: "run-key", correlationId: "run-1" });
      const outcome = await f.storage.taskComplete({ ...f.ref(claimed), followUps: [{ queueName: f.queueName, task: next }] });
      expect(outcome.followUpIds).toEqual([next.id]);
      expect(await f.existingTask(parent.id)).toMatchObject({ state: "succeeded" });
      expect(await f.existingTask(next.id)).toMatchObject({ state: "pending", dedupeKey: "run-key" });
      const duplicate = f.newTask({ dedupeKey: "run-key" });
      expect(await f.storage.taskEnqueue({ queueName: f.queueName, tasks: [duplicate] })).toEqual([
        { id: next.id, deduplicated: true, correlationId: "run-1" },
      ]);
    });

    it("lets a follow-up written claimed take over the dedupe key of the task it follows, in a batch", async () => {
      const parents = [await f.enqueueOne({ dedupeKey: "run-a" }), await f.enqueueOne({ dedupeKey: "run-b" })];
      const claimed = await f.claim(2);
      const nextByParent = new Map(parents.map((parent) => [parent.id, f.newTask({ dedupeKey: parent.dedupeKey })]));
      const outcome = await f.storage.taskCompleteMany({
        attempts: claimed.map((task) => ({ ...f.ref(task), followUps: [{ queueName: f.queueName, task: nextByParent.get(task.id)!, claim: true }] })),
      });
      expect(outcome.rejected).toEqual([]);
      for (const next of nextByParent.values()) {
        expect(await f.existingTask(next.id)).toMatchObject({ dedupeKey: next.dedupeKey });
        expect((await f.existingTask(next.id)).state).toMatch(/^(pending|in_progress)$/);
      }
    });
  });

  describe("taskCompleteMany", () => {
    it("completes the current attempts and lists the stale ones, writing nothing of theirs", async () => {
      const tasks = await Promise.all([0, 1, 2].map(() => f.enqueueOne()));
      const claimed = await f.claim(3);
      expect(claimed).toHaveLength(3);
      const byId = new Map(claimed.map((task) => [task.id, task]));
      const [a, b, c] = tasks.map((task) => byId.get(task.id)!);
      // b loses its lease and is reclaimed; a and c keep theirs through a heartbeat.
      f.clock.advance(LEASE_MS - 1);
      await f.storage.taskHeartbeat(f.ref(a!));
      await f.storage.taskHeartbeat(f.ref(c!));
      f.clock.advance(1);
      const reclaimed = await f.claimOne();
      expect(reclaimed.id).toBe(b!.id);
      await f.storage.taskCancel({ queueName: f.queueName, taskId: c!.id });

      const followUpOfStale = f.newTask();
      const followUpOfCurrent = f.newTask();
      const outcome = await f.storage.taskCompleteMany({
        attempts: [
          { ...f.ref(a!), output: "a", followUps: [{ queueName: f.queueName, task: followUpOfCurrent }] },
          { ...f.ref(b!), output: "b", followUps: [{ queueName: f.queueName, task: followUpOfStale }] },
          { ...f.ref(c!), output: "c" },
        ],
      });
      expect(outcome).toEqual({ rejected: [b!.id], cancelled: [c!.id], claimedFollowUps: [] });
      expect(await f.existingTask(a!.id)).toMatchObject({ state: "succeeded", output: "a" });
      expect(await f.existingTask(b!.id)).toMatchObject({ state: "in_progress", currentAttempt: 2, output: null });
      expect(await f.existingTask(c!.id)).toMatchObject({ state: "cancelled" });
      expect(await f.existingTask(followUpOfCurrent.id)).toMatchObject({ state: "pending" });
      expect(await f.task(followUpOfStale.id)).toBeNull();
    });
  });
}
