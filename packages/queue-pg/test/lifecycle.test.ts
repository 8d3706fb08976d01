import { ManualClock } from "@underway/core/testing";
import { TaskNotFoundError } from "@underway/core";
import { PgStorage } from "@underway/queue-pg";
import { createTestDatabase, type TestDatabase } from "@underway/queue-pg/testing";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { newTask } from "./support/new-task.js";

let database: TestDatabase;
beforeAll(async () => {
  database = await createTestDatabase();
});
afterAll(() => database?.drop());

describe("PgStorage task life cycle on a server", () => {
  it("enqueues, claims in priority order, completes with output and follow-ups", async () => {
    const { storage } = database;
    await storage.queueUpsert({ queueName: "life" });
    const low = newTask({ n: 1 }, { priority: 0 });
    const high = newTask({ n: 2 }, { priority: 5 });
    const outcomes = await storage.taskEnqueue({ queueName: "life", tasks: [low, high] });
    expect(outcomes).toEqual([
      { id: low.id, deduplicated: false, correlationId: null },
      { id: high.id, deduplicated: false, correlationId: null },
    ]);
    const claimed = await storage.taskClaim({ queueName: "life", limit: 10 });
    expect(claimed.map((task) => task.id)).toEqual([high.id, low.id]);
    expect(claimed[0]).toMatchObject({ attempt: 1, input: { n: 2 }, heartbeatMs: 30_000, retryPolicy: { maxAttempts: 5 } });
    const followUp = newTask({ next: true });
    const completed = await storage.taskComplete({
      queueName: "life",
      taskId: high.id,
      attempt: 1,
      output: { done: 1 },
      followUps: [{ queueName: "life", task: followUp }],
    });
    expect(completed).toEqual({ state: "succeeded", followUpIds: [followUp.id], claimedFollowUps: [] });
    const record = await storage.taskGet({ taskId: high.id });
    expect(record).toMatchObject({ state: "succeeded", output: { done: 1 }, attemptCount: 1, currentAttempt: 1, leaseExpiresAt: null });
    expect(record?.completedAt).toBeInstanceOf(Date);
    expect((await storage.taskGet({ taskId: followUp.id }))?.state).toBe("pending");
    const attempts = await storage.taskAttempts({ taskId: high.id });
    expect(attempts).toHaveLength(1);
    expect(attempts[0]).toMatchObject({ attemptNumber: 1, state: "succeeded" });
    await expect(storage.taskComplete({ queueName: "life", taskId: high.id, attempt: 1 })).rejects.toBeInstanceOf(TaskNotFoundError);
  });

  it("retries with a delay, then fails into the dead-letter queue with all attempts", async () => {
    const { storage } = database;
    await storage.queueUpsert({ queueName: "flaky", deadLetterQueueName: "flaky-dlq" });
    const task = newTask({}, { retryPolicy: { maxAttempts: 2, initialIntervalMs: 0, maxIntervalMs: 0, backoffCoefficient: 1, jitterFactor: 0 } });
    await storage.taskEnqueue({ queueName: "flaky", tasks: [task] });
    const [first] = await storage.taskClaim({ queueName: "flaky", limit: 1 });
    const retry = await storage.taskRetry({ queueName: "flaky", taskId: task.id, attempt: first!.attempt, delayMs: 0, errorMessage: "boom 1" });
    expect(retry.state).toBe("pending");
    const [second] = await storage.taskClaim({ queueName: "flaky", limit: 1 });
    expect(second?.attempt).toBe(2);
    const failed = await storage.taskFail({ queueName: "flaky", taskId: task.id, attempt: 2, errorMessage: "boom 2" });
    expect(failed).toEqual({ state: "failed", deadLetterQueueName: "flaky-dlq" });
    const record = await storage.taskGet({ taskId: task.id });
    expect(record).toMatchObject({ queueName: "flaky-dlq", state: "failed" });
    const attempts = await storage.taskAttempts({ taskId: task.id });
    expect(attempts.map((attempt) => [attempt.queueName, attempt.state, attempt.errorMessage])).toEqual([
      ["flaky-dlq", "failed", "boom 1"],
      ["flaky-dlq", "failed", "boom 2"],
    ]);
  });

  it("reclaims an expired lease as the next attempt and rejects the stale attempt, row unchanged", async () => {
    const clock = new ManualClock(new Date("2031-01-01T00:00:00Z"));
    const storage = new PgStorage(database.pool, { clock });
    const task = newTask({}, { heartbeatMs: 1_000 });
    await storage.taskEnqueue({ queueName: "lease", tasks: [task] });
    const [first] = await storage.taskClaim({ queueName: "lease", limit: 1 });
    expect(first?.leaseExpiresAt.getTime()).toBe(clock.now().getTime() + 3_000);
    clock.advance(2_999);
    expect(await storage.taskClaim({ queueName: "lease", limit: 1 })).toEqual([]);
    clock.advance(1);
    const [second] = await storage.taskClaim({ queueName: "lease", limit: 1 });
    expect(second).toMatchObject({ id: task.id, attempt: 2 });
    const before = await storage.taskGet({ taskId: task.id });
    await expect(storage.taskComplete({ queueName: "lease", taskId: task.id, attempt: 1, output: "stale" })).rejects.toBeInstanceOf(TaskNotFoundError);
    await expect(storage.taskHeartbeat({ queueName: "lease", taskId: task.id, attempt: 1 })).rejects.toBeInstanceOf(TaskNotFoundError);
    await expect(storage.taskRetry({ queueName: "lease", taskId: task.id, attempt: 1, delayMs: 0, errorMessage: "x" })).rejects.toBeInstanceOf(TaskNotFoundError);
    await expect(storage.taskFail({ queueName: "lease", taskId: task.id, attempt: 1, errorMessage: "x" })).rejects.toBeInstanceOf(TaskNotFoundError);
    expect(await storage.taskGet({ taskId: task.id })).toEqual(before);
    const attempts = await storage.taskAttempts({ taskId: task.id });
    expect(attempts.map((attempt) => attempt.state)).toEqual(["failed", "in_progress"]);
    expect(attempts[0]?.errorMessage).toMatch(/lease expired/i);
  });
});
