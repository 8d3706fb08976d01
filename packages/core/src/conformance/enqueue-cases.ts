import { describe, expect, it } from "vitest";
import { after, type ConformanceFixture } from "./conformance-fixture.js";

/** Enqueue: snapshotted configuration, delay, priority, dedupe keys, atomicity, order, big batches. */
export function enqueueCases<Tx>(f: ConformanceFixture<Tx>): void {
  describe("enqueue", () => {
    it("stores the task's configuration as given, pending, with runAt = now", async () => {
      const task = f.newTask({
        input: { userId: 42, tags: ["a", "b"], nested: { ok: true } },
        priority: 7,
        timeoutMs: 12_345,
        ttlMs: 67_890,
        heartbeatMs: 2_000,
        retryPolicy: { maxAttempts: 9, initialIntervalMs: 10, maxIntervalMs: 100, backoffCoefficient: 3, jitterFactor: 0.25 },
        concurrencyKey: "key-1",
        dedupeKey: "dedupe-1",
        correlationId: "run-1",
      });
      const outcomes = await f.storage.taskEnqueue({ queueName: f.queueName, tasks: [task] });
      expect(outcomes).toEqual([{ id: task.id, deduplicated: false, correlationId: "run-1" }]);
      const stored = await f.existingTask(task.id);
      expect(stored).toMatchObject({
        id: task.id,
        queueName: f.queueName,
        input: task.input,
        output: null,
        state: "pending",
        priority: 7,
        runAt: f.clock.now(),
        createdAt: f.clock.now(),
        completedAt: null,
        attemptCount: 0,
        currentAttempt: 0,
        leaseExpiresAt: null,
        timeoutMs: 12_345,
        ttlMs: 67_890,
        delayMs: 0,
        heartbeatMs: 2_000,
        retryPolicy: task.retryPolicy,
        concurrencyKey: "key-1",
        dedupeKey: "dedupe-1",
        correlationId: "run-1",
        cancelRequested: false,
      });
      expect(await f.attempts(task.id)).toEqual([]);
    });

    it("stores a task id given in upper case in lower case, and finds the task by its id in either case", async () => {
      const task = f.newTask();
      const upper = task.id.toUpperCase();
      expect(await f.enqueue([{ ...task, id: upper }])).toEqual([task.id]);
      expect((await f.existingTask(task.id)).id).toBe(task.id);
      expect(await f.storage.taskGet({ taskId: upper })).toMatchObject({ id: task.id, state: "pending" });
      const claimed = await f.claimOne();
      expect(await f.storage.taskAttempts({ taskId: upper })).toEqual([expect.objectContaining({ taskId: task.id, attemptNumber: 1 })]);
      expect(await f.storage.taskComplete({ ...f.ref(claimed), taskId: upper })).toMatchObject({ state: "succeeded" });

      const other = f.newTask();
      await f.enqueue([other]);
      const second = await f.claimOne();
      const outcome = await f.storage.taskCompleteMany({ attempts: [{ ...f.ref(second), taskId: other.id.toUpperCase() }] });
      expect(outcome).toMatchObject({ rejected: [], cancelled: [] });
      expect((await f.existingTask(other.id)).state).toBe("succeeded");
    });

    it("keeps its own copy of the input", async () => {
      const input = { list: [1, 2, 3] };
      const task = f.newTask({ input });
      await f.enqueue([task]);
      input.list.push(4);
      expect((await f.existingTask(task.id)).input).toEqual({ list: [1, 2, 3] });
    });

    it("sets runAt = now + delayMs", async () => {
      const task = await f.enqueueOne({ delayMs: 90_000 });
      const stored = await f.existingTask(task.id);
      expect(stored.runAt).toEqual(after(f.clock.now(), 90_000));
      expect(stored.delayMs).toBe(90_000);
    });

    it("returns the ids in input order", async () => {
      const tasks = Array.from({ length: 25 }, (_, index) => f.newTask({ input: { index } }));
      const outcomes = await f.storage.taskEnqueue({ queueName: f.queueName, tasks });
      expect(outcomes.map((outcome) => outcome.id)).toEqual(tasks.map((task) => task.id));
      expect(outcomes.every((outcome) => !outcome.deduplicated)).toBe(true);
    });

    it("writes all tasks of a call or none", async () => {
      const first = f.newTask();
      const second = f.newTask();
      const clash = f.newTask({ id: first.id });
      await expect(f.storage.taskEnqueue({ queueName: f.queueName, tasks: [first, second, clash] })).rejects.toThrow();
      expect(await f.task(first.id)).toBeNull();
      expect(await f.task(second.id)).toBeNull();
      expect(await f.storage.taskList({ queueName: f.queueName })).toEqual([]);
    });

    it("writes a batch of 10 000 tasks in one call", async () => {
      const tasks = Array.from({ length: 10_000 }, (_, index) => f.newTask({ input: { index } }));
      const outcomes = await f.storage.taskEnqueue({ queueName: f.queueName, tasks });
      expect(outcomes).toHaveLength(10_000);
      expect(outcomes.map((outcome) => outcome.id)).toEqual(tasks.map((task) => task.id));
      const listed = await f.storage.taskList({ queueName: f.queueName, limit: 20_000 });
      expect(listed).toHaveLength(10_000);
      expect(new Set(listed.map((task) => task.id)).size).toBe(10_000);
      expect((await f.existingTask(tasks[9_999]!.id)).input).toEqual({ index: 9_999 });
    });

    it("lists a queue's tasks oldest first, optionally by correlation id", async () => {
      const first = await f.enqueueOne({ correlationId: "run-a" });
      f.clock.advance(1_000);
      const second = await f.enqueueOne({ correlationId: "run-b" });
      f.clock.advance(1_000);
      const third = await f.enqueueOne({ correlationId: "run-a" });
      const all = await f.storage.taskList({ queueName: f.queueName });
      expect(all.map((task) => task.id)).toEqual([first.id, second.id, third.id]);
      const runA = await f.storage.taskList({ queueName: f.queueName, correlationId: "run-a" });
      expect(runA.map((task) => task.id)).toEqual([first.id, third.id]);
      const limited = await f.storage.taskList({ queueName: f.queueName, limit: 2 });
      expect(limited.map((task) => task.id)).toEqual([first.id, second.id]);
    });

    it("lists nothing, without an error, for a queue name or correlation id no task can have", async () => {
      await f.enqueueOne({ correlationId: "run-a" });
      expect(await f.storage.taskList({ queueName: `${f.queueName}\u0000` })).toEqual([]);
      expect(await f.storage.taskList({ queueName: f.queueName, correlationId: "run-a\u0000" })).toEqual([]);
      expect(await f.storage.taskNextRunAt({ queueName: `${f.queueName}\u0000` })).toBeNull();
    });

    describe("dedupe key", () => {
      it("returns the id and correlation id of the pending task with the same key instead of writing another", async () => {
        const original = await f.enqueueOne({ dedupeKey: "report-7", correlationId: "run-original" });
        const duplicate = f.newTask({ dedupeKey: "report-7", correlationId: "run-duplicate" });
        const outcomes = await f.storage.taskEnqueue({ queueName: f.queueName, tasks: [duplicate] });
        expect(outcomes).toEqual([{ id: original.id, deduplicated: true, correlationId: "run-original" }]);
        expect(await f.task(duplicate.id)).toBeNull();
      });

      it("also matches a running task, and a task earlier in the same call", async () => {
        const running = await f.enqueueOne({ dedupeKey: "running-key", correlationId: "run-running" });
        await f.claimOne();
        const a = f.newTask({ dedupeKey: "running-key", correlationId: "run-a" });
        const b = f.newTask({ dedupeKey: "batch-key", correlationId: "run-b" });
        const c = f.newTask({ dedupeKey: "batch-key", correlationId: "run-c" });
        const d = f.newTask();
        const outcomes = await f.storage.taskEnqueue({ queueName: f.queueName, tasks: [a, b, c, d] });
        expect(outcomes).toEqual([
          { id: running.id, deduplicated: true, correlationId: "run-running" },
          { id: b.id, deduplicated: false, correlationId: "run-b" },
          { id: b.id, deduplicated: true, correlationId: "run-b" },
          { id: d.id, deduplicated: false, correlationId: null },
        ]);
        expect(await f.task(c.id)).toBeNull();
      });

      it("writes a new task once the earlier one has finished", async () => {
        const original = await f.enqueueOne({ dedupeKey: "finished-key" });
        const claimed = await f.claimOne();
        await f.storage.taskComplete(f.ref(claimed));
        const again = f.newTask({ dedupeKey: "finished-key" });
        const outcomes = await f.storage.taskEnqueue({ queueName: f.queueName, tasks: [again] });
        expect(outcomes).toEqual([{ id: again.id, deduplicated: false, correlationId: null }]);
        expect(original.id).not.toBe(again.id);
      });

      it("is scoped to the queue", async () => {
        const other = await f.otherQueue("other");
        await f.enqueueOne({ dedupeKey: "shared" });
        const elsewhere = f.newTask({ dedupeKey: "shared" });
        const outcomes = await f.storage.taskEnqueue({ queueName: other, tasks: [elsewhere] });
        expect(outcomes).toEqual([{ id: elsewhere.id, deduplicated: false, correlationId: null }]);
      });
    });
  });
}
