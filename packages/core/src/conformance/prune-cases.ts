import { describe, expect, it } from "vitest";
import type { ConformanceFixture } from "./conformance-fixture.js";

const TTL_MS = 10_000;

/** TTL pruning: finished tasks only, measured from completion. */
export function pruneCases<Tx>(f: ConformanceFixture<Tx>): void {
  describe("TTL pruning", () => {
    it("deletes finished tasks and their attempts once completedAt + ttlMs has passed, and nothing else", async () => {
      const succeeded = await f.enqueueOne({ ttlMs: TTL_MS });
      const failed = await f.enqueueOne({ ttlMs: TTL_MS });
      const running = await f.enqueueOne({ ttlMs: TTL_MS });
      const [first, second, third] = await f.claim(3);
      const byId = new Map([first!, second!, third!].map((claimed) => [claimed.id, claimed]));
      const pending = await f.enqueueOne({ ttlMs: TTL_MS, delayMs: 365 * 24 * 60 * 60 * 1000 });
      const cancelled = await f.enqueueOne({ ttlMs: TTL_MS, delayMs: 1_000 });
      await f.storage.taskCancel({ queueName: f.queueName, taskId: cancelled.id });
      await f.storage.taskComplete(f.ref(byId.get(succeeded.id)!));
      f.clock.advance(5_000);
      await f.storage.taskFail({ ...f.ref(byId.get(failed.id)!), errorMessage: "fatal" });
      for (let beat = 0; beat < 4; beat += 1) await f.storage.taskHeartbeat(f.ref(byId.get(running.id)!));

      f.clock.advance(TTL_MS - 5_000 - 1);
      expect(await f.storage.taskPrune({ queueName: f.queueName })).toBe(0);
      f.clock.advance(1);
      expect(await f.storage.taskPrune({ queueName: f.queueName })).toBe(2);
      expect(await f.task(succeeded.id)).toBeNull();
      expect(await f.task(cancelled.id)).toBeNull();
      expect(await f.storage.taskAttempts({ taskId: succeeded.id })).toEqual([]);
      expect(await f.existingTask(failed.id)).toMatchObject({ state: "failed" });

      f.clock.advance(5_000);
      expect(await f.storage.taskPrune({ queueName: f.queueName })).toBe(1);
      expect(await f.task(failed.id)).toBeNull();

      f.clock.advance(10 * TTL_MS);
      expect(await f.storage.taskPrune({ queueName: f.queueName })).toBe(0);
      expect(await f.existingTask(running.id)).toMatchObject({ state: "in_progress" });
      expect(await f.existingTask(pending.id)).toMatchObject({ state: "pending" });
    });

    it("measures the TTL from completion, not creation", async () => {
      const task = await f.enqueueOne({ ttlMs: TTL_MS });
      const claimed = await f.claimOne();
      f.clock.advance(8_000);
      await f.storage.taskComplete(f.ref(claimed));
      f.clock.advance(TTL_MS - 1);
      expect(await f.storage.taskPrune({ queueName: f.queueName })).toBe(0);
      expect(await f.existingTask(task.id)).toMatchObject({ state: "succeeded" });
      f.clock.advance(1);
      expect(await f.storage.taskPrune({ queueName: f.queueName })).toBe(1);
    });

    it("honours the limit and the queue filter", async () => {
      const other = await f.otherQueue("other");
      await f.enqueue([f.newTask({ ttlMs: 0 }), f.newTask({ ttlMs: 0 }), f.newTask({ ttlMs: 0 })]);
      await f.enqueueOne({ ttlMs: 0 }, other);
      for (const claimed of await f.claim(10)) await f.storage.taskComplete(f.ref(claimed));
      await f.storage.taskComplete(f.ref(await f.claimOne(other)));
      expect(await f.storage.taskPrune({ queueName: f.queueName, limit: 2 })).toBe(2);
      expect(await f.storage.taskPrune({ queueName: f.queueName, limit: 2 })).toBe(1);
      expect(await f.storage.taskList({ queueName: other })).toHaveLength(1);
    });
  });
}
