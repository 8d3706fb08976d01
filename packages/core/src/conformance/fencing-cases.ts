import { describe, expect, it } from "vitest";
import { TaskNotFoundError } from "../errors.js";
import type { ClaimedTask } from "../storage/records.js";
import { LEASE_MS, type ConformanceFixture } from "./conformance-fixture.js";

async function expectFenced(call: Promise<unknown>, taskId: string): Promise<void> {
  const error = await call.then(
    () => undefined,
    (rejection: unknown) => rejection,
  );
  expect(TaskNotFoundError.isInstance(error), `expected TaskNotFoundError, got ${String(error)}`).toBe(true);
  expect((error as TaskNotFoundError).taskId).toBe(taskId);
}

/** Fencing: a stale attempt's state changes are rejected and change nothing. */
export function fencingCases<Tx>(f: ConformanceFixture<Tx>): void {
  describe("fencing", () => {
    async function reclaimedTask(): Promise<{ stale: ClaimedTask; current: ClaimedTask }> {
      await f.enqueueOne();
      const stale = await f.claimOne();
      f.clock.advance(LEASE_MS);
      const current = await f.claimOne();
      expect(current.attempt).toBe(2);
      return { stale, current };
    }

    it("rejects every state change of a stale attempt with TaskNotFoundError and leaves the row as it was", async () => {
      const { stale, current } = await reclaimedTask();
      const before = await f.existingTask(stale.id);
      const attemptsBefore = await f.attempts(stale.id);
      f.clock.advance(10);

      await expectFenced(f.storage.taskHeartbeat(f.ref(stale)), stale.id);
      await expectFenced(f.storage.taskComplete({ ...f.ref(stale), output: "stale" }), stale.id);
      await expectFenced(f.storage.taskRetry({ ...f.ref(stale), delayMs: 0, errorMessage: "stale" }), stale.id);
      await expectFenced(f.storage.taskFail({ ...f.ref(stale), errorMessage: "stale" }), stale.id);

      expect(await f.existingTask(stale.id)).toEqual(before);
      expect(await f.attempts(stale.id)).toEqual(attemptsBefore);
      const outcome = await f.storage.taskComplete({ ...f.ref(current), output: "current" });
      expect(outcome.state).toBe("succeeded");
      expect(await f.existingTask(current.id)).toMatchObject({ state: "succeeded", output: "current" });
    });

    it("rejects an attempt number that was never handed out", async () => {
      await f.enqueueOne();
      const claimed = await f.claimOne();
      await expectFenced(f.storage.taskComplete({ ...f.ref(claimed), attempt: claimed.attempt + 1 }), claimed.id);
      await expectFenced(f.storage.taskHeartbeat({ ...f.ref(claimed), attempt: 0 }), claimed.id);
      expect(await f.existingTask(claimed.id)).toMatchObject({ state: "in_progress", currentAttempt: 1 });
    });

    it("rejects changes to a task that is no longer running, or does not exist", async () => {
      await f.enqueueOne();
      const claimed = await f.claimOne();
      await f.storage.taskComplete(f.ref(claimed));
      await expectFenced(f.storage.taskComplete(f.ref(claimed)), claimed.id);
      await expectFenced(f.storage.taskRetry({ ...f.ref(claimed), delayMs: 0, errorMessage: "again" }), claimed.id);
      const missing = f.newTask().id;
      await expectFenced(f.storage.taskHeartbeat({ queueName: f.queueName, taskId: missing, attempt: 1 }), missing);
      expect(await f.existingTask(claimed.id)).toMatchObject({ state: "succeeded" });
    });

    it("rejects an attempt presented under another queue's name", async () => {
      const other = await f.otherQueue("other");
      await f.enqueueOne();
      const claimed = await f.claimOne();
      await expectFenced(f.storage.taskComplete({ ...f.ref(claimed), queueName: other }), claimed.id);
      expect(await f.existingTask(claimed.id)).toMatchObject({ state: "in_progress" });
    });
  });
}
