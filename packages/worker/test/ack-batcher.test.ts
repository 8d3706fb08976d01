import { describe, expect, it } from "vitest";
import type { CompleteManyOutcome, StorageAdapter, TaskCompleteManyParams } from "@underway/core";
import { AckBatcher, type AttemptCompletion } from "../src/ack-batcher.js";
import { deferred } from "./support/worker-harness.js";

const quiet = { debug() {}, info() {}, warn() {}, error() {} };

function completion(taskId: string): AttemptCompletion {
  return { queueName: "q", taskId, attempt: 1, output: null, followUps: [] };
}

/** A storage whose `taskCompleteMany` the test answers by hand. */
function scriptedStorage() {
  const calls: Array<{ params: TaskCompleteManyParams<unknown>; answer: ReturnType<typeof deferred<CompleteManyOutcome | Error>> }> = [];
  const storage = {
    taskCompleteMany(params: TaskCompleteManyParams<unknown>) {
      const answer = deferred<CompleteManyOutcome | Error>();
      calls.push({ params, answer });
      return answer.promise.then((outcome) => {
        if (outcome instanceof Error) throw outcome;
        return outcome;
      });
    },
  } as unknown as StorageAdapter<unknown>;
  return { storage, calls };
}

describe("AckBatcher", () => {
  it("writes at once when idle, and gathers what finishes during a write into the next one", async () => {
    const { storage, calls } = scriptedStorage();
    const batcher = new AckBatcher(storage, { maxBatchSize: 100, logger: quiet });
    const first = batcher.add(completion("a"));
    await Promise.resolve();
    await Promise.resolve();
    expect(calls).toHaveLength(1);
    const later = ["b", "c", "d"].map((id) => batcher.add(completion(id)));
    expect(calls).toHaveLength(1);
    calls[0]!.answer.resolve({ rejected: [], cancelled: [], claimedFollowUps: [] });
    expect(await first).toEqual({ result: "succeeded", claimedFollowUp: null });
    await new Promise((resolve) => setImmediate(resolve));
    expect(calls).toHaveLength(2);
    expect(calls[1]!.params.attempts.map((attempt) => attempt.taskId)).toEqual(["b", "c", "d"]);
    calls[1]!.answer.resolve({ rejected: ["c"], cancelled: ["d"], claimedFollowUps: [] });
    expect((await Promise.all(later)).map((outcome) => outcome.result)).toEqual(["succeeded", "rejected", "cancelled"]);
  });

  it("caps a statement at maxBatchSize", async () => {
    const { storage, calls } = scriptedStorage();
    const batcher = new AckBatcher(storage, { maxBatchSize: 2, logger: quiet });
    const results = ["a", "b", "c"].map((id) => batcher.add(completion(id)));
    await new Promise((resolve) => setImmediate(resolve));
    expect(calls[0]!.params.attempts).toHaveLength(2);
    calls[0]!.answer.resolve({ rejected: [], cancelled: [], claimedFollowUps: [] });
    await new Promise((resolve) => setImmediate(resolve));
    expect(calls[1]!.params.attempts.map((attempt) => attempt.taskId)).toEqual(["c"]);
    calls[1]!.answer.resolve({ rejected: [], cancelled: [], claimedFollowUps: [] });
    expect((await Promise.all(results)).map((outcome) => outcome.result)).toEqual(["succeeded", "succeeded", "succeeded"]);
    await batcher.flush();
    expect(batcher.size).toBe(0);
  });

  it("retries a failed write, then gives the batch up with the error", async () => {
    const { storage, calls } = scriptedStorage();
    const batcher = new AckBatcher(storage, { maxBatchSize: 10, maxTries: 2, retryDelayMs: 1, logger: quiet });
    const result = batcher.add(completion("a"));
    const settled = result.then(
      () => "resolved",
      (error: unknown) => error,
    );
    await new Promise((resolve) => setImmediate(resolve));
    calls[0]!.answer.resolve(new Error("connection lost"));
    await new Promise<void>((resolve) => {
      const check = () => (calls.length === 2 ? resolve() : setTimeout(check, 1));
      check();
    });
    calls[1]!.answer.resolve(new Error("still down"));
    const error = await settled;
    expect(error).toBeInstanceOf(Error);
    expect((error as Error).message).toBe("still down");
  });

  it("reports as succeeded what a failed try did commit, and as rejected what another attempt took over", async () => {
    const { storage, calls } = scriptedStorage();
    const records: Record<string, { state: string; currentAttempt: number }> = {
      a: { state: "succeeded", currentAttempt: 1 },
      b: { state: "in_progress", currentAttempt: 2 },
    };
    (storage as { taskGet: unknown }).taskGet = async ({ taskId }: { taskId: string }) => records[taskId] ?? null;
    const batcher = new AckBatcher(storage, { maxBatchSize: 10, maxTries: 2, retryDelayMs: 1, logger: quiet });
    const results = ["a", "b", "c"].map((id) => batcher.add(completion(id)));
    await new Promise((resolve) => setImmediate(resolve));
    // The first try commits, but its answer is lost with the connection.
    calls[0]!.answer.resolve(new Error("connection lost"));
    await new Promise<void>((resolve) => {
      const check = () => (calls.length === 2 ? resolve() : setTimeout(check, 1));
      check();
    });
    calls[1]!.answer.resolve({ rejected: ["a", "b"], cancelled: [], claimedFollowUps: [] });
    expect((await Promise.all(results)).map((outcome) => outcome.result)).toEqual(["succeeded", "rejected", "succeeded"]);
  });
});
