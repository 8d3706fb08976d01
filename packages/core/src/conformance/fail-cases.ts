import { describe, expect, it } from "vitest";
import { Queue } from "../queue.js";
import type { ConformanceFixture } from "./conformance-fixture.js";

/** Fail: the task ends `failed` with its message, and moves with its attempts to the dead-letter queue. */
export function failCases<Tx>(f: ConformanceFixture<Tx>): void {
  describe("fail and dead-letter queue", () => {
    it("fails the task for good and moves the task and all its attempts to the dead-letter queue", async () => {
      const queueName = await f.otherQueue("with-dlq", f.deadLetterQueueName);
      const task = await f.enqueueOne({}, queueName);
      const first = await f.claimOne(queueName);
      await f.storage.taskRetry({ ...f.ref(first), delayMs: 0, errorMessage: "first failure" });
      const second = await f.claimOne(queueName);
      f.clock.advance(50);
      const outcome = await f.storage.taskFail({ ...f.ref(second), errorMessage: "invalid account" });
      expect(outcome).toEqual({ state: "failed", deadLetterQueueName: f.deadLetterQueueName });
      expect(await f.existingTask(task.id)).toMatchObject({
        state: "failed",
        queueName: f.deadLetterQueueName,
        completedAt: f.clock.now(),
        leaseExpiresAt: null,
      });
      const attempts = await f.attempts(task.id);
      expect(attempts.map((attempt) => [attempt.queueName, attempt.state, attempt.errorMessage])).toEqual([
        [f.deadLetterQueueName, "failed", "first failure"],
        [f.deadLetterQueueName, "failed", "invalid account"],
      ]);
      expect(await f.storage.taskList({ queueName })).toEqual([]);
      expect((await f.storage.taskList({ queueName: f.deadLetterQueueName })).map((row) => row.id)).toEqual([task.id]);
      expect(await f.claim(10, f.deadLetterQueueName)).toEqual([]);
    });

    it("fails the task in place when the queue has no dead-letter queue", async () => {
      const task = await f.enqueueOne();
      const claimed = await f.claimOne();
      const outcome = await f.storage.taskFail({ ...f.ref(claimed), errorMessage: "fatal" });
      expect(outcome).toEqual({ state: "failed", deadLetterQueueName: null });
      expect(await f.existingTask(task.id)).toMatchObject({ state: "failed", queueName: f.queueName });
      expect(await f.attempts(task.id)).toEqual([expect.objectContaining({ state: "failed", errorMessage: "fatal" })]);
      expect(await f.claim()).toEqual([]);
    });

    it("records the dead-letter queue of a queue, and registering again keeps it", async () => {
      const queueName = await f.otherQueue("re-registered", f.deadLetterQueueName);
      await f.storage.queueUpsert({ queueName, deadLetterQueueName: f.deadLetterQueueName });
      const task = await f.enqueueOne({}, queueName);
      const claimed = await f.claimOne(queueName);
      expect(await f.storage.taskFail({ ...f.ref(claimed), errorMessage: "boom" })).toMatchObject({ deadLetterQueueName: f.deadLetterQueueName });
      expect((await f.existingTask(task.id)).queueName).toBe(f.deadLetterQueueName);
    });

    it("keeps a queue's dead-letter queue when registered again without one, and drops it when given null", async () => {
      const queueName = await f.otherQueue("kept-dlq", f.deadLetterQueueName);
      await f.storage.queueUpsert({ queueName });
      const kept = await f.enqueueOne({}, queueName);
      expect(await f.storage.taskFail({ ...f.ref(await f.claimOne(queueName)), errorMessage: "kept" })).toMatchObject({ deadLetterQueueName: f.deadLetterQueueName });
      expect((await f.existingTask(kept.id)).queueName).toBe(f.deadLetterQueueName);

      await f.storage.queueUpsert({ queueName, deadLetterQueueName: null });
      const dropped = await f.enqueueOne({}, queueName);
      expect(await f.storage.taskFail({ ...f.ref(await f.claimOne(queueName)), errorMessage: "dropped" })).toEqual({ state: "failed", deadLetterQueueName: null });
      expect(await f.existingTask(dropped.id)).toMatchObject({ state: "failed", queueName });
    });

    it("resolves registration to the dead-letter queue recorded after it", async () => {
      const queueName = `${f.queueName}-registration`;
      expect(await f.storage.queueUpsert({ queueName })).toEqual({ deadLetterQueueName: null });
      expect(await f.storage.queueUpsert({ queueName, deadLetterQueueName: f.deadLetterQueueName })).toEqual({ deadLetterQueueName: f.deadLetterQueueName });
      expect(await f.storage.queueUpsert({ queueName })).toEqual({ deadLetterQueueName: f.deadLetterQueueName });
      expect(await f.storage.queueUpsert({ queueName, deadLetterQueueName: null })).toEqual({ deadLetterQueueName: null });
      expect(await f.storage.queueUpsert({ queueName })).toEqual({ deadLetterQueueName: null });
    });

    it("keeps the dead-letter queue when a Queue is built without one, as a process that only enqueues does", async () => {
      const queueName = `${f.queueName}-built`;
      const worker = await Queue.builder().name(queueName).deadLetterQueue(f.deadLetterQueueName).storage(f.storage).build();
      const enqueuer = await Queue.builder().name(queueName).storage(f.storage).build();
      expect([worker.deadLetterQueueName, enqueuer.deadLetterQueueName]).toEqual([f.deadLetterQueueName, f.deadLetterQueueName]);
      const kept = await f.enqueueOne({}, queueName);
      expect(await f.storage.taskFail({ ...f.ref(await f.claimOne(queueName)), errorMessage: "kept" })).toMatchObject({ deadLetterQueueName: f.deadLetterQueueName });
      expect((await f.existingTask(kept.id)).queueName).toBe(f.deadLetterQueueName);

      const removed = await Queue.builder().name(queueName).deadLetterQueue(null).storage(f.storage).build();
      expect(removed.deadLetterQueueName).toBeNull();
      const inPlace = await f.enqueueOne({}, queueName);
      expect(await f.storage.taskFail({ ...f.ref(await f.claimOne(queueName)), errorMessage: "in place" })).toEqual({ state: "failed", deadLetterQueueName: null });
      expect(await f.existingTask(inPlace.id)).toMatchObject({ state: "failed", queueName });
    });
  });
}
