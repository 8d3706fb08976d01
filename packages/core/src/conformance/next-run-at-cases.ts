import { describe, expect, it } from "vitest";
import { after, type ConformanceFixture } from "./conformance-fixture.js";

/** taskNextRunAt: the earliest future runAt of a queue's pending tasks. */
export function nextRunAtCases<Tx>(f: ConformanceFixture<Tx>): void {
  describe("taskNextRunAt", () => {
    it("reports the earliest runAt among pending tasks not claimable yet, or null", async () => {
      expect(await f.storage.taskNextRunAt({ queueName: f.queueName })).toBeNull();
      const start = f.clock.now();
      await f.enqueueOne();
      expect(await f.storage.taskNextRunAt({ queueName: f.queueName })).toBeNull();
      await f.enqueueOne({ delayMs: 5_000 });
      await f.enqueueOne({ delayMs: 3_000 });
      const other = await f.otherQueue("other");
      await f.enqueueOne({ delayMs: 1_000 }, other);
      expect(await f.storage.taskNextRunAt({ queueName: f.queueName })).toEqual(after(start, 3_000));
      f.clock.advance(3_000);
      expect(await f.storage.taskNextRunAt({ queueName: f.queueName })).toEqual(after(start, 5_000));
      f.clock.advance(2_000);
      expect(await f.storage.taskNextRunAt({ queueName: f.queueName })).toBeNull();
    });

    it("with an earlier `after`, also reports tasks that came due since then", async () => {
      const start = f.clock.now();
      await f.enqueueOne({ delayMs: 1_000 });
      await f.enqueueOne({ delayMs: 4_000 });
      f.clock.advance(2_000);
      expect(await f.storage.taskNextRunAt({ queueName: f.queueName })).toEqual(after(start, 4_000));
      expect(await f.storage.taskNextRunAt({ queueName: f.queueName, after: start })).toEqual(after(start, 1_000));
      // An `after` later than the storage's now changes nothing.
      expect(await f.storage.taskNextRunAt({ queueName: f.queueName, after: after(start, 3_000) })).toEqual(after(start, 4_000));
    });

    it("ignores cancelled tasks", async () => {
      const task = await f.enqueueOne({ delayMs: 5_000 });
      await f.storage.taskCancel({ queueName: f.queueName, taskId: task.id });
      expect(await f.storage.taskNextRunAt({ queueName: f.queueName })).toBeNull();
    });
  });
}
