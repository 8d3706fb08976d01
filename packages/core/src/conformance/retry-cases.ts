import { describe, expect, it } from "vitest";
import { ConfigError } from "../errors.js";
import { after, type ConformanceFixture } from "./conformance-fixture.js";

/** Retry: the attempt is failed with its message and the task waits until now + delay. */
export function retryCases<Tx>(f: ConformanceFixture<Tx>): void {
  describe("retry", () => {
    it("records the failure and makes the task claimable again at now + delayMs, as the next attempt", async () => {
      const task = await f.enqueueOne();
      const first = await f.claimOne();
      f.clock.advance(100);
      const failedAt = f.clock.now();
      const outcome = await f.storage.taskRetry({ ...f.ref(first), delayMs: 5_000, errorMessage: "connection reset" });
      expect(outcome).toEqual({ state: "pending", runAt: after(failedAt, 5_000) });
      expect(await f.existingTask(task.id)).toMatchObject({ state: "pending", runAt: after(failedAt, 5_000), leaseExpiresAt: null, attemptCount: 1 });
      expect(await f.attempts(task.id)).toEqual([
        expect.objectContaining({ attemptNumber: 1, state: "failed", errorMessage: "connection reset", completedAt: failedAt }),
      ]);

      expect(await f.claim()).toEqual([]);
      expect(await f.storage.taskNextRunAt({ queueName: f.queueName })).toEqual(after(failedAt, 5_000));
      f.clock.advance(4_999);
      expect(await f.claim()).toEqual([]);
      f.clock.advance(1);
      const second = await f.claimOne();
      expect(second.attempt).toBe(2);
      expect((await f.attempts(task.id)).map((attempt) => attempt.state)).toEqual(["failed", "in_progress"]);
    });

    it("keeps the task's settings, its enqueue delay included, through a retry", async () => {
      const task = await f.enqueueOne({ delayMs: 250, timeoutMs: 9_000, heartbeatMs: 2_000 });
      f.clock.advance(250);
      const first = await f.claimOne();
      await f.storage.taskRetry({ ...f.ref(first), delayMs: 5_000, errorMessage: "flaky" });
      expect(await f.existingTask(task.id)).toMatchObject({ delayMs: 250, timeoutMs: 9_000, heartbeatMs: 2_000 });
    });

    it("refuses a delay that is not a whole number of ms from 0 with a ConfigError, leaving the attempt running", async () => {
      const task = await f.enqueueOne();
      const first = await f.claimOne();
      for (const delayMs of [-1, 1.5, Number.NaN, Number.POSITIVE_INFINITY, 1e20]) {
        await expect(f.storage.taskRetry({ ...f.ref(first), delayMs, errorMessage: "x" }), String(delayMs)).rejects.toBeInstanceOf(ConfigError);
      }
      expect(await f.existingTask(task.id)).toMatchObject({ state: "in_progress", currentAttempt: 1 });
      expect(await f.attempts(task.id)).toEqual([expect.objectContaining({ attemptNumber: 1, state: "in_progress" })]);
    });

    it("retries with no delay at once", async () => {
      await f.enqueueOne();
      const first = await f.claimOne();
      await f.storage.taskRetry({ ...f.ref(first), delayMs: 0, errorMessage: "flaky" });
      expect((await f.claimOne()).attempt).toBe(2);
    });
  });
}
