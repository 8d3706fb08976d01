import { describe, expect, it } from "vitest";
import type { StorageEvent } from "../storage/storage-adapter.js";
import type { ConformanceFixture } from "./conformance-fixture.js";

const availableIn = (queueName: string) => (event: StorageEvent) => event.type === "task:available" && event.queueName === queueName;

/** Events: availability, completion and shutdown reach subscribers; transactional ones only at commit. */
export function eventCases<Tx>(f: ConformanceFixture<Tx>): void {
  describe("events", () => {
    it("announces task:available after an enqueue and after a retry", async () => {
      const recorder = await f.recordEvents();
      await f.enqueueOne();
      await recorder.waitFor(availableIn(f.queueName));
      const claimed = await f.claimOne();
      recorder.events.length = 0;
      await f.storage.taskRetry({ ...f.ref(claimed), delayMs: 0, errorMessage: "again" });
      await recorder.waitFor(availableIn(f.queueName));
    });

    it("announces task:available after a batch, whether its tasks share their settings or not", async () => {
      const recorder = await f.recordEvents();
      await f.storage.taskEnqueue({ queueName: f.queueName, tasks: [f.newTask(), f.newTask(), f.newTask()] });
      await recorder.waitFor(availableIn(f.queueName));
      recorder.events.length = 0;
      await f.storage.taskEnqueue({ queueName: f.queueName, tasks: [f.newTask({ priority: 1 }), f.newTask({ priority: 2 })] });
      await recorder.waitFor(availableIn(f.queueName));
      expect(await f.storage.taskList({ queueName: f.queueName })).toHaveLength(5);
    });

    it("announces task:finished when a task reaches a finished state", async () => {
      const recorder = await f.recordEvents();
      await f.enqueueOne();
      await f.storage.taskComplete(f.ref(await f.claimOne()));
      await recorder.waitFor((event) => event.type === "task:finished" && event.queueName === f.queueName);
    });

    it("announces a transactional enqueue only after the commit", async () => {
      const marker = await f.otherQueue("marker");
      const recorder = await f.recordEvents();
      const transaction = f.storage.transactionOpen();
      await f.storage.taskEnqueue({ queueName: f.queueName, tasks: [f.newTask()], tx: transaction.tx });
      // Events of one storage arrive in commit order. The marker's enqueue, made outside the
      // transaction, commits before it where transactions run side by side (so an event of the
      // uncommitted enqueue would have come first), and after it on a single-session storage.
      const markerEnqueue = await f.readOutside(transaction.tx, () => f.enqueueOne({}, marker));
      if (f.readsAroundTransactions) {
        await markerEnqueue.answer;
        await recorder.waitFor(availableIn(marker));
        expect(recorder.events.filter(availableIn(f.queueName))).toEqual([]);
        await transaction.commit();
        await recorder.waitFor(availableIn(f.queueName));
      } else {
        expect(markerEnqueue.waiting()).toBe(true);
        await transaction.commit();
        await markerEnqueue.answer;
        await recorder.waitFor(availableIn(marker));
        const order = recorder.events.filter((event) => availableIn(f.queueName)(event) || availableIn(marker)(event));
        expect(order.map((event) => event.type === "task:available" && event.queueName)).toEqual([f.queueName, marker]);
      }
    });

    it("never announces a rolled-back enqueue", async () => {
      const recorder = await f.recordEvents();
      const transaction = f.storage.transactionOpen();
      await f.storage.taskEnqueue({ queueName: f.queueName, tasks: [f.newTask()], tx: transaction.tx });
      await transaction.rollback();
      const visible = await f.enqueueOne();
      await recorder.waitFor(availableIn(f.queueName));
      expect(recorder.events.filter(availableIn(f.queueName))).toHaveLength(1);
      expect((await f.storage.taskList({ queueName: f.queueName })).map((task) => task.id)).toEqual([visible.id]);
    });

    it("delivers shutdown requests, per queue and for every queue", async () => {
      const recorder = await f.recordEvents();
      await f.storage.notifyShutdown({ queueName: f.queueName });
      await recorder.waitFor((event) => event.type === "shutdown" && event.queueName === f.queueName);
      await f.storage.notifyShutdown();
      await recorder.waitFor((event) => event.type === "shutdown" && event.queueName === null);
    });

    it("stops delivering to a closed subscription", async () => {
      const closed = await f.recordEvents();
      const open = await f.recordEvents();
      await closed.close();
      await f.enqueueOne();
      await open.waitFor(availableIn(f.queueName));
      await f.storage.notifyShutdown({ queueName: f.queueName });
      await open.waitFor((event) => event.type === "shutdown");
      expect(closed.events).toEqual([]);
    });
  });
}
