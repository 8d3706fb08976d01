import { describe, expect, it } from "vitest";
import { ConfigError } from "../errors.js";
import type { NewTask } from "../storage/records.js";
import type { StorageEvent } from "../storage/storage-adapter.js";
import { LEASE_MS, type ConformanceFixture } from "./conformance-fixture.js";

const oneAttempt: NewTask["retryPolicy"] = { maxAttempts: 1, initialIntervalMs: 0, maxIntervalMs: 0, backoffCoefficient: 1, jitterFactor: 0 };

/**
 * Requeue (redrive): a task that failed for good goes back to its queue, from its dead-letter
 * queue if it was moved, with its attempt history and more attempts; nothing else is requeued.
 */
export function requeueCases<Tx>(f: ConformanceFixture<Tx>): void {
  /** Enqueues a task into `queueName` and fails it for good; returns its id. */
  async function failedTask(queueName: string, overrides: Partial<NewTask> = {}): Promise<string> {
    const task = await f.enqueueOne(overrides, queueName);
    const claimed = await f.claimOne(queueName);
    await f.storage.taskFail({ ...f.ref(claimed), errorMessage: "invalid account" });
    return task.id;
  }

  describe("requeue", () => {
    it("moves a dead-lettered task back to its queue, pending, with its attempts and more attempts", async () => {
      const queueName = await f.otherQueue("with-dlq", f.deadLetterQueueName);
      const task = await f.enqueueOne({}, queueName);
      await f.storage.taskRetry({ ...f.ref(await f.claimOne(queueName)), delayMs: 0, errorMessage: "first failure" });
      await f.storage.taskFail({ ...f.ref(await f.claimOne(queueName)), errorMessage: "invalid account" });
      expect(await f.existingTask(task.id)).toMatchObject({ state: "failed", queueName: f.deadLetterQueueName, deadLetteredFrom: queueName });

      f.clock.advance(1_000);
      expect(await f.storage.taskRequeue({ queueName, taskId: task.id, attempts: 2, delayMs: 0 })).toBe(true);
      const requeued = await f.existingTask(task.id);
      expect(requeued).toMatchObject({
        state: "pending",
        queueName,
        deadLetteredFrom: null,
        runAt: f.clock.now(),
        completedAt: null,
        attemptCount: 2,
        retryPolicy: { ...task.retryPolicy, maxAttempts: 4 },
      });
      expect((await f.attempts(task.id)).map((attempt) => [attempt.queueName, attempt.attemptNumber, attempt.state])).toEqual([
        [queueName, 1, "failed"],
        [queueName, 2, "failed"],
      ]);
      expect(await f.storage.taskList({ queueName: f.deadLetterQueueName })).toEqual([]);

      const third = await f.claimOne(queueName);
      expect([third.id, third.attempt]).toEqual([task.id, 3]);
      await f.storage.taskRetry({ ...f.ref(third), delayMs: 0, errorMessage: "third failure" });
      const fourth = await f.claimOne(queueName);
      expect(fourth.attempt).toBe(4);
      await f.storage.taskComplete(f.ref(fourth));
      expect(await f.existingTask(task.id)).toMatchObject({ state: "succeeded", queueName });
    });

    it("requeues a task that failed in place, due after delayMs", async () => {
      const taskId = await failedTask(f.queueName);
      expect(await f.storage.taskRequeue({ queueName: f.queueName, taskId, attempts: 1, delayMs: 5_000 })).toBe(true);
      expect(await f.existingTask(taskId)).toMatchObject({ state: "pending", runAt: new Date(f.clock.now().getTime() + 5_000) });
      expect(await f.claim()).toEqual([]);
      f.clock.advance(5_000);
      expect((await f.claimOne()).attempt).toBe(2);
    });

    it("requeues a task dead-lettered by the claim that found its lease expired with no attempts left", async () => {
      const queueName = await f.otherQueue("lease-dlq", f.deadLetterQueueName);
      const task = await f.enqueueOne({ retryPolicy: oneAttempt }, queueName);
      await f.claimOne(queueName);
      f.clock.advance(LEASE_MS);
      expect(await f.claim(10, queueName)).toEqual([]);
      expect(await f.existingTask(task.id)).toMatchObject({ state: "failed", queueName: f.deadLetterQueueName, deadLetteredFrom: queueName });
      expect(await f.storage.taskRequeue({ queueName, taskId: task.id, attempts: 1, delayMs: 0 })).toBe(true);
      expect(await f.existingTask(task.id)).toMatchObject({ state: "pending", queueName, retryPolicy: { maxAttempts: 2 } });
      expect((await f.claimOne(queueName)).attempt).toBe(2);
    });

    it("changes nothing for a task that is not a failed task of the queue", async () => {
      const running = await f.enqueueOne();
      await f.claimOne();
      const succeeded = await f.enqueueOne();
      await f.storage.taskComplete(f.ref(await f.claimOne()));
      const pending = await f.enqueueOne();
      const cancelled = await f.enqueueOne();
      await f.storage.taskCancel({ queueName: f.queueName, taskId: cancelled.id });
      const other = await f.otherQueue("other", f.deadLetterQueueName);
      const failedElsewhere = await failedTask(other);
      const unrelated = await f.otherQueue("unrelated");
      const failedInUnrelated = await failedTask(unrelated);
      expect((await f.existingTask(succeeded.id)).state).toBe("succeeded");

      const ids = [pending.id, running.id, succeeded.id, cancelled.id];
      const before = await Promise.all(ids.map((id) => f.existingTask(id)));
      for (const taskId of [...ids, failedElsewhere, failedInUnrelated, "00000000-0000-4000-8000-000000000000", "not-a-task-id"]) {
        expect(await f.storage.taskRequeue({ queueName: f.queueName, taskId, attempts: 1, delayMs: 0 }), taskId).toBe(false);
      }
      // Through the dead-letter queue's own name: the task was not dead-lettered from there.
      expect(await f.storage.taskRequeue({ queueName: f.deadLetterQueueName, taskId: failedElsewhere, attempts: 1, delayMs: 0 })).toBe(false);
      expect(await Promise.all(ids.map((id) => f.existingTask(id)))).toEqual(before);
      expect(await f.existingTask(failedElsewhere)).toMatchObject({ state: "failed", queueName: f.deadLetterQueueName, deadLetteredFrom: other });
      expect(await f.existingTask(failedInUnrelated)).toMatchObject({ state: "failed", queueName: unrelated });
    });

    it("changes nothing while a live task of the queue holds the failed task's dedupe key", async () => {
      const taskId = await failedTask(f.queueName, { dedupeKey: "invoice-7" });
      const holder = await f.enqueueOne({ dedupeKey: "invoice-7" });
      expect(await f.storage.taskRequeue({ queueName: f.queueName, taskId, attempts: 1, delayMs: 0 })).toBe(false);
      expect((await f.existingTask(taskId)).state).toBe("failed");
      const claimed = await f.claimOne();
      expect(claimed.id).toBe(holder.id);
      await f.storage.taskComplete(f.ref(claimed));
      expect(await f.storage.taskRequeue({ queueName: f.queueName, taskId, attempts: 1, delayMs: 0 })).toBe(true);
      expect(await f.enqueueOne({ dedupeKey: "invoice-7" }).then((task) => f.task(task.id))).toBeNull();
    });

    it("announces task:available, and inside a transaction only at commit", async () => {
      const first = await failedTask(f.queueName);
      const second = await failedTask(f.queueName);
      const recorder = await f.recordEvents();
      const available = (event: StorageEvent) => event.type === "task:available" && event.queueName === f.queueName;
      expect(await f.storage.taskRequeue({ queueName: f.queueName, taskId: first, attempts: 1, delayMs: 0 })).toBe(true);
      await recorder.waitFor(available);

      const rolledBack = f.storage.transactionOpen();
      expect(await f.storage.taskRequeue({ queueName: f.queueName, taskId: second, attempts: 1, delayMs: 0, tx: rolledBack.tx })).toBe(true);
      await rolledBack.rollback();
      expect((await f.existingTask(second)).state).toBe("failed");

      const transaction = f.storage.transactionOpen();
      expect(await f.storage.taskRequeue({ queueName: f.queueName, taskId: second, attempts: 1, delayMs: 0, tx: transaction.tx })).toBe(true);
      await f.commitAroundRead(transaction, async () => (await f.existingTask(second)).state, {
        whileOpen: (state) => expect(state).toBe("failed"),
        afterCommit: (state) => expect(state).toBe("pending"),
      });
    });

    it("rejects invalid attempts and delays with a ConfigError", async () => {
      const taskId = await failedTask(f.queueName);
      for (const [attempts, delayMs] of [[0, 0], [1.5, 0], [Number.NaN, 0], [1, -1], [1, 0.5]] as const) {
        await expect(f.storage.taskRequeue({ queueName: f.queueName, taskId, attempts, delayMs })).rejects.toBeInstanceOf(ConfigError);
      }
      expect((await f.existingTask(taskId)).state).toBe("failed");
    });
  });
}
