import { describe, expect, it } from "vitest";
import { TaskNotFoundError } from "../errors.js";
import { LEASE_MS, type ConformanceFixture } from "./conformance-fixture.js";

/** Transactions: writes given `{ tx }` are visible only after commit and gone after rollback. */
export function transactionCases<Tx>(f: ConformanceFixture<Tx>): void {
  describe("transactions", () => {
    it("opens lazily, on first use", async () => {
      const transaction = f.storage.transactionOpen();
      expect(transaction.isOpen).toBe(false);
      await transaction.commit();
      const used = f.storage.transactionOpen();
      await f.storage.taskEnqueue({ queueName: f.queueName, tasks: [f.newTask()], tx: used.tx });
      expect(used.isOpen).toBe(true);
      await used.rollback();
    });

    it("keeps a transactional enqueue invisible until commit", async () => {
      const task = f.newTask();
      const transaction = f.storage.transactionOpen();
      const outcomes = await f.storage.taskEnqueue({ queueName: f.queueName, tasks: [task], tx: transaction.tx });
      expect(outcomes).toEqual([{ id: task.id, deduplicated: false, correlationId: null }]);
      await f.commitAroundRead(transaction, async () => ({ task: await f.task(task.id), claimed: await f.claim() }), {
        whileOpen: (seen) => expect(seen).toEqual({ task: null, claimed: [] }),
        afterCommit: (seen) => {
          expect(seen.task).toMatchObject({ state: "pending" });
          expect(seen.claimed.map((claimedTask) => claimedTask.id)).toEqual([task.id]);
        },
      });
      // Where the read ran while the transaction was open, it claimed nothing: the task waits now.
      if (f.readsAroundTransactions) {
        expect(await f.existingTask(task.id)).toMatchObject({ state: "pending" });
        expect((await f.claimOne()).id).toBe(task.id);
      }
    });

    it("drops a transactional enqueue on rollback", async () => {
      const task = f.newTask();
      const transaction = f.storage.transactionOpen();
      await f.storage.taskEnqueue({ queueName: f.queueName, tasks: [task], tx: transaction.tx });
      await transaction.rollback();
      expect(await f.task(task.id)).toBeNull();
      expect(await f.claim()).toEqual([]);
    });

    it("drops the writes of a discarded transaction", async () => {
      const task = f.newTask();
      const transaction = f.storage.transactionOpen();
      await f.storage.taskEnqueue({ queueName: f.queueName, tasks: [task], tx: transaction.tx });
      await transaction.discard(new Error("attempt timed out"));
      expect(await f.task(task.id)).toBeNull();
    });

    it("commits a completion, its follow-ups and the caller's enqueue together", async () => {
      await f.enqueueOne();
      const claimed = await f.claimOne();
      const followUp = f.newTask();
      const sideTask = f.newTask();
      const transaction = f.storage.transactionOpen();
      await f.storage.taskEnqueue({ queueName: f.queueName, tasks: [sideTask], tx: transaction.tx });
      await f.storage.taskComplete({ ...f.ref(claimed), output: 1, followUps: [{ queueName: f.queueName, task: followUp }], tx: transaction.tx });
      await f.commitAroundRead(transaction, async () => ({ claimed: await f.task(claimed.id), followUp: await f.task(followUp.id) }), {
        whileOpen: (seen) => {
          expect(seen.claimed).toMatchObject({ state: "in_progress" });
          expect(seen.followUp).toBeNull();
        },
        afterCommit: (seen) => {
          expect(seen.claimed).toMatchObject({ state: "succeeded", output: 1 });
          expect(seen.followUp).toMatchObject({ state: "pending" });
        },
      });
      expect(await f.existingTask(claimed.id)).toMatchObject({ state: "succeeded", output: 1 });
      expect(await f.existingTask(followUp.id)).toMatchObject({ state: "pending" });
      expect(await f.existingTask(sideTask.id)).toMatchObject({ state: "pending" });
    });

    it("rolls back a completion with everything else in the transaction", async () => {
      await f.enqueueOne();
      const claimed = await f.claimOne();
      const sideTask = f.newTask();
      const transaction = f.storage.transactionOpen();
      await f.storage.taskEnqueue({ queueName: f.queueName, tasks: [sideTask], tx: transaction.tx });
      await f.storage.taskComplete({ ...f.ref(claimed), tx: transaction.tx });
      await transaction.rollback();
      expect(await f.existingTask(claimed.id)).toMatchObject({ state: "in_progress", currentAttempt: 1 });
      expect(await f.task(sideTask.id)).toBeNull();
    });

    it("rejects a fenced completion inside a transaction when it is made", async () => {
      await f.enqueueOne();
      const stale = await f.claimOne();
      f.clock.advance(LEASE_MS);
      await f.claimOne();
      const transaction = f.storage.transactionOpen();
      const error = await f.storage
        .taskComplete({ ...f.ref(stale), tx: transaction.tx })
        .then(() => undefined, (rejection: unknown) => rejection);
      expect(TaskNotFoundError.isInstance(error)).toBe(true);
      await transaction.rollback();
      expect(await f.existingTask(stale.id)).toMatchObject({ state: "in_progress", currentAttempt: 2 });
    });

    it("cancels, retries and fails inside a transaction only at commit", async () => {
      const pending = await f.enqueueOne({ priority: -1 });
      const running = await f.enqueueOne();
      const claimed = await f.claimOne();
      expect(claimed.id).toBe(running.id);
      const transaction = f.storage.transactionOpen();
      await f.storage.taskCancel({ queueName: f.queueName, taskId: pending.id, tx: transaction.tx });
      await f.storage.taskRetry({ ...f.ref(claimed), delayMs: 60_000, errorMessage: "later", tx: transaction.tx });
      const states = async () => [(await f.existingTask(pending.id)).state, (await f.existingTask(running.id)).state];
      await f.commitAroundRead(transaction, states, {
        whileOpen: (seen) => expect(seen).toEqual(["pending", "in_progress"]),
        afterCommit: (seen) => expect(seen).toEqual(["cancelled", "pending"]),
      });
      expect(await states()).toEqual(["cancelled", "pending"]);
    });
  });
}
