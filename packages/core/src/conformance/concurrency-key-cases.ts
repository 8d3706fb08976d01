import { describe, expect, it } from "vitest";
import { LEASE_MS, type ConformanceFixture } from "./conformance-fixture.js";

/** Concurrency keys: strict serialisation per (queue, key), in claim order. */
export function concurrencyKeyCases<Tx>(f: ConformanceFixture<Tx>): void {
  describe("concurrency keys", () => {
    it("does not start a second task of a key until the first one finished", async () => {
      const first = await f.enqueueOne({ concurrencyKey: "account-1" });
      const second = await f.enqueueOne({ concurrencyKey: "account-1" });
      const claimed = await f.claim(10);
      expect(claimed.map((task) => task.id)).toEqual([first.id]);
      expect(await f.claim(10)).toEqual([]);
      await f.storage.taskComplete(f.ref(claimed[0]!));
      expect((await f.claimOne()).id).toBe(second.id);
    });

    it("runs tasks of different keys, and tasks without a key, side by side", async () => {
      const tasks = [
        f.newTask({ concurrencyKey: "k1" }),
        f.newTask({ concurrencyKey: "k2" }),
        f.newTask({ concurrencyKey: "k1" }),
        f.newTask(),
        f.newTask(),
      ];
      await f.enqueue(tasks);
      const claimed = await f.claim(10);
      expect(new Set(claimed.map((task) => task.id))).toEqual(new Set([tasks[0]!.id, tasks[1]!.id, tasks[3]!.id, tasks[4]!.id]));
    });

    it("keeps a key apart per queue: the same key runs in two queues at once", async () => {
      const otherQueue = await f.otherQueue("same-key");
      const here = await f.enqueueOne({ concurrencyKey: "account-1" });
      const there = await f.enqueueOne({ concurrencyKey: "account-1" }, otherQueue);
      expect((await f.claimOne()).id).toBe(here.id);
      expect((await f.claimOne(otherQueue)).id).toBe(there.id);
      await f.enqueueOne({ concurrencyKey: "account-1" });
      await f.enqueueOne({ concurrencyKey: "account-1" }, otherQueue);
      expect(await f.claim(10)).toEqual([]);
      expect(await f.claim(10, otherQueue)).toEqual([]);
    });

    it("keeps the claim order within a key, also across retries of earlier tasks", async () => {
      const ids = await f.enqueue([0, 1, 2].map((index) => f.newTask({ concurrencyKey: "ordered", input: { index } })));
      const order: string[] = [];
      for (let round = 0; round < 3; round += 1) {
        const [claimed, ...rest] = await f.claim(10);
        expect(rest).toEqual([]);
        order.push(claimed!.id);
        await f.storage.taskComplete(f.ref(claimed!));
      }
      expect(order).toEqual(ids);
    });

    it("lets a higher-priority task of the key go first, but never two at once", async () => {
      const low = await f.enqueueOne({ concurrencyKey: "prio" });
      const high = await f.enqueueOne({ concurrencyKey: "prio", priority: 5 });
      const [claimed, ...rest] = await f.claim(10);
      expect(rest).toEqual([]);
      expect(claimed!.id).toBe(high.id);
      await f.storage.taskFail({ ...f.ref(claimed!), errorMessage: "done for" });
      expect((await f.claimOne()).id).toBe(low.id);
    });

    it("holds back a task of the key while a task before it in claim order is not due yet", async () => {
      const high = await f.enqueueOne({ concurrencyKey: "due", priority: 5, delayMs: 2_000 });
      const low = await f.enqueueOne({ concurrencyKey: "due" });
      const free = await f.enqueueOne();
      expect((await f.claim(10)).map((task) => task.id)).toEqual([free.id]);
      f.clock.advance(2_000);
      const [claimed, ...rest] = await f.claim(10);
      expect(rest).toEqual([]);
      expect(claimed!.id).toBe(high.id);
      await f.storage.taskComplete(f.ref(claimed!));
      expect((await f.claimOne()).id).toBe(low.id);
    });

    it("keeps the key busy while its running task's lease is alive, and frees it when the task is reclaimed", async () => {
      const first = await f.enqueueOne({ concurrencyKey: "lease" });
      await f.enqueueOne({ concurrencyKey: "lease" });
      await f.claimOne();
      f.clock.advance(LEASE_MS - 1);
      expect(await f.claim(10)).toEqual([]);
      f.clock.advance(1);
      const [reclaimed, ...rest] = await f.claim(10);
      expect(rest).toEqual([]);
      expect(reclaimed).toMatchObject({ id: first.id, attempt: 2 });
    });
  });
}
