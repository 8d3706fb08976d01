import { describe, expect, it } from "vitest";
import { LEASE_MS, type ConformanceFixture } from "./conformance-fixture.js";

/** Cancel: pending tasks at once, running ones by request, finished ones never. */
export function cancelCases<Tx>(f: ConformanceFixture<Tx>): void {
  describe("cancel", () => {
    it("cancels a pending task at once", async () => {
      const task = await f.enqueueOne();
      f.clock.advance(20);
      expect(await f.storage.taskCancel({ queueName: f.queueName, taskId: task.id })).toBe(true);
      expect(await f.existingTask(task.id)).toMatchObject({ state: "cancelled", completedAt: f.clock.now() });
      expect(await f.attempts(task.id)).toEqual([]);
      expect(await f.claim()).toEqual([]);
    });

    it("returns false for a finished task and leaves it as it was", async () => {
      const task = await f.enqueueOne();
      await f.storage.taskComplete(f.ref(await f.claimOne()));
      const before = await f.existingTask(task.id);
      expect(await f.storage.taskCancel({ queueName: f.queueName, taskId: task.id })).toBe(false);
      expect(await f.existingTask(task.id)).toEqual(before);

      const cancelled = await f.enqueueOne();
      expect(await f.storage.taskCancel({ queueName: f.queueName, taskId: cancelled.id })).toBe(true);
      expect(await f.storage.taskCancel({ queueName: f.queueName, taskId: cancelled.id })).toBe(false);
    });

    it("finds and cancels a task by its id in upper case, pending or running; its records keep the lower-case id", async () => {
      const pending = await f.enqueueOne({ delayMs: 60_000 });
      const running = await f.enqueueOne();
      const claimed = await f.claimOne();
      expect(claimed.id).toBe(running.id);
      expect(await f.storage.taskCancel({ queueName: f.queueName, taskId: pending.id.toUpperCase() })).toBe(true);
      expect(await f.storage.taskCancel({ queueName: f.queueName, taskId: running.id.toUpperCase() })).toBe(true);
      expect(await f.storage.taskGet({ taskId: pending.id.toUpperCase() })).toMatchObject({ id: pending.id, state: "cancelled" });
      expect(await f.existingTask(running.id)).toMatchObject({ id: running.id, state: "in_progress", cancelRequested: true });
      expect(await f.storage.taskAttempts({ taskId: running.id.toUpperCase() })).toEqual([expect.objectContaining({ taskId: running.id, state: "in_progress" })]);
      expect(await f.storage.taskHeartbeat({ ...f.ref(claimed), taskId: running.id.toUpperCase() })).toMatchObject({ cancelRequested: true });
    });

    it("returns false for an unknown task", async () => {
      expect(await f.storage.taskCancel({ queueName: f.queueName, taskId: f.newTask().id })).toBe(false);
    });

    it("asks a running task to stop, then ends it cancelled, without its follow-ups, when it completes", async () => {
      const recorder = await f.recordEvents();
      const task = await f.enqueueOne();
      const claimed = await f.claimOne();
      expect(await f.storage.taskCancel({ queueName: f.queueName, taskId: task.id })).toBe(true);
      await recorder.waitFor((event) => event.type === "task:cancel-requested" && event.taskId === task.id);
      expect(await f.existingTask(task.id)).toMatchObject({ state: "in_progress", cancelRequested: true });
      expect(await f.storage.taskHeartbeat(f.ref(claimed))).toMatchObject({ cancelRequested: true });

      const followUp = f.newTask();
      const outcome = await f.storage.taskComplete({ ...f.ref(claimed), output: "done", followUps: [{ queueName: f.queueName, task: followUp }] });
      expect(outcome).toEqual({ state: "cancelled", followUpIds: [], claimedFollowUps: [] });
      expect(await f.existingTask(task.id)).toMatchObject({ state: "cancelled", completedAt: f.clock.now(), leaseExpiresAt: null });
      expect(await f.task(followUp.id)).toBeNull();
      expect(await f.attempts(task.id)).toEqual([expect.objectContaining({ attemptNumber: 1, state: "cancelled", errorMessage: null, completedAt: f.clock.now() })]);
      expect(await f.storage.taskCancel({ queueName: f.queueName, taskId: task.id })).toBe(false);
    });

    it("ends a running task cancelled when it retries or fails after a cancel request", async () => {
      const retried = await f.enqueueOne();
      const failed = await f.enqueueOne();
      const [first, second] = await f.claim(2);
      await f.storage.taskCancel({ queueName: f.queueName, taskId: retried.id });
      await f.storage.taskCancel({ queueName: f.queueName, taskId: failed.id });
      const byId = new Map([first!, second!].map((claimed) => [claimed.id, claimed]));
      expect(await f.storage.taskRetry({ ...f.ref(byId.get(retried.id)!), delayMs: 0, errorMessage: "x" })).toMatchObject({ state: "cancelled" });
      expect(await f.storage.taskFail({ ...f.ref(byId.get(failed.id)!), errorMessage: "y" })).toEqual({ state: "cancelled", deadLetterQueueName: null });
      expect((await f.existingTask(retried.id)).state).toBe("cancelled");
      expect((await f.existingTask(failed.id)).state).toBe("cancelled");
      expect(await f.claim()).toEqual([]);
    });

    it("ends a running task cancelled at the next claim when its lease expires after a cancel request", async () => {
      const task = await f.enqueueOne();
      await f.claimOne();
      await f.storage.taskCancel({ queueName: f.queueName, taskId: task.id });
      f.clock.advance(LEASE_MS);
      expect(await f.claim()).toEqual([]);
      expect((await f.existingTask(task.id)).state).toBe("cancelled");
    });

    it("cancels every unfinished task sharing a correlation id", async () => {
      const running = await f.enqueueOne({ correlationId: "run-1" });
      const claimed = await f.claimOne();
      expect(claimed.id).toBe(running.id);
      const finished = await f.enqueueOne({ correlationId: "run-1" });
      await f.storage.taskComplete(f.ref(await f.claimOne()));
      const pending = await f.enqueueOne({ correlationId: "run-1" });
      const unrelated = await f.enqueueOne({ correlationId: "run-2" });
      const finishedBefore = await f.existingTask(finished.id);

      expect(await f.storage.taskCancel({ queueName: f.queueName, correlationId: "run-1" })).toBe(true);
      expect(await f.existingTask(pending.id)).toMatchObject({ state: "cancelled" });
      expect(await f.existingTask(running.id)).toMatchObject({ state: "in_progress", cancelRequested: true });
      expect(await f.existingTask(finished.id)).toEqual(finishedBefore);
      expect(await f.existingTask(unrelated.id)).toMatchObject({ state: "pending" });
      expect(await f.storage.taskCancel({ queueName: f.queueName, correlationId: "run-unknown" })).toBe(false);
    });
  });
}
