import { describe, expect, it } from "vitest";
import { ConfigError, newTaskId, RetryPolicy, StorageError, TaskNotFoundError, type StorageEvent } from "../src/index.js";
import type { NewTask } from "../src/storage/records.js";
import { ManualClock, MemoryStorage, MemoryTransactionHandle } from "../src/testing/index.js";

function newTask(overrides: Partial<NewTask> = {}): NewTask {
  return {
    id: newTaskId(),
    input: { n: 1 },
    priority: 0,
    delayMs: 0,
    timeoutMs: 60_000,
    ttlMs: 60_000,
    heartbeatMs: 1_000,
    retryPolicy: RetryPolicy.defaults,
    concurrencyKey: null,
    dedupeKey: null,
    correlationId: null,
    ...overrides,
  };
}

async function storageWithQueue(clock = new ManualClock()) {
  const storage = new MemoryStorage({ clock });
  await storage.queueUpsert({ queueName: "q" });
  return { storage, clock };
}

describe("MemoryStorage", () => {
  it("declares that it is neither parallel, cross-process nor durable", () => {
    expect(new MemoryStorage().capabilities).toEqual({ parallelClaims: false, crossProcessEvents: false, durable: false });
  });

  it("refuses tasks for a queue that was never registered", async () => {
    const storage = new MemoryStorage();
    await expect(storage.taskEnqueue({ queueName: "nowhere", tasks: [newTask()] })).rejects.toThrow(/not registered/);
    await expect(storage.taskEnqueue({ queueName: "nowhere", tasks: [newTask()] })).rejects.toBeInstanceOf(StorageError);
  });

  it("refuses a claim limit below 1", async () => {
    const { storage } = await storageWithQueue();
    await expect(storage.taskClaim({ queueName: "q", limit: 0 })).rejects.toThrow(/limit/);
  });

  it("hands out copies, so callers cannot change stored rows", async () => {
    const { storage } = await storageWithQueue();
    const task = newTask({ input: { list: [1] } });
    await storage.taskEnqueue({ queueName: "q", tasks: [task] });
    const [claimed] = await storage.taskClaim({ queueName: "q", limit: 1 });
    (claimed!.input as { list: number[] }).list.push(2);
    const output = { total: 1 };
    await storage.taskComplete({ queueName: "q", taskId: task.id, attempt: 1, output });
    output.total = 99;
    const read = await storage.taskGet({ taskId: task.id });
    read!.runAt.setTime(0);
    expect(await storage.taskGet({ taskId: task.id })).toMatchObject({ input: { list: [1] }, output: { total: 1 } });
    expect((await storage.taskGet({ taskId: task.id }))!.runAt.getTime()).not.toBe(0);
  });

  it("delivers events after the call that caused them has returned", async () => {
    const { storage } = await storageWithQueue();
    const events: StorageEvent[] = [];
    await storage.subscribe((event) => events.push(event));
    const enqueued = storage.taskEnqueue({ queueName: "q", tasks: [newTask(), newTask()] });
    expect(events).toEqual([]);
    await enqueued;
    await new Promise<void>((resolve) => queueMicrotask(resolve));
    expect(events).toEqual([{ type: "task:available", queueName: "q" }]);
  });

  it("keeps delivering to other subscribers when one throws", async () => {
    const { storage } = await storageWithQueue();
    const logged: string[] = [];
    const quiet = new MemoryStorage({ logger: { debug() {}, info() {}, warn() {}, error: (_fields, message) => logged.push(message) } });
    await quiet.queueUpsert({ queueName: "q" });
    const received: StorageEvent[] = [];
    await quiet.subscribe(() => {
      throw new Error("subscriber bug");
    });
    await quiet.subscribe((event) => received.push(event));
    await quiet.notifyShutdown();
    await new Promise<void>((resolve) => queueMicrotask(resolve));
    expect(received).toEqual([{ type: "shutdown", queueName: null }]);
    expect(logged).toHaveLength(1);
    await storage.close();
  });

  it("refuses options that are not what they should be", () => {
    expect(() => new MemoryStorage(null as never)).toThrow(/new MemoryStorage\(options\) expects an options object/);
    expect(() => new MemoryStorage({ clock: {} as never })).toThrow(ConfigError);
    expect(() => new MemoryStorage({ clock: {} as never })).toThrow(/MemoryStorage's clock must have a now\(\) method/);
    expect(() => new MemoryStorage({ logger: { info() {} } as never })).toThrow(/MemoryStorage's logger must have .* debug is missing/);
  });

  describe("transactions", () => {
    it("runs onCommit callbacks at commit only", async () => {
      const storage = new MemoryStorage();
      const committed = storage.transactionOpen();
      const rolledBack = storage.transactionOpen();
      const calls: string[] = [];
      committed.tx.onCommit(() => calls.push("committed"));
      rolledBack.tx.onCommit(() => calls.push("rolled back"));
      expect(committed.isOpen).toBe(true);
      expect(calls).toEqual([]);
      await rolledBack.rollback();
      await committed.commit();
      expect(calls).toEqual(["committed"]);
    });

    it("keeps nothing when a write no longer applies at commit", async () => {
      const { storage, clock } = await storageWithQueue();
      const task = newTask();
      await storage.taskEnqueue({ queueName: "q", tasks: [task] });
      await storage.taskClaim({ queueName: "q", limit: 1 });
      const transaction = storage.transactionOpen();
      const sideTask = newTask();
      const calls: string[] = [];
      await storage.taskEnqueue({ queueName: "q", tasks: [sideTask], tx: transaction.tx });
      transaction.tx.onCommit(() => calls.push("side effect"));
      await storage.taskComplete({ queueName: "q", taskId: task.id, attempt: 1, tx: transaction.tx });
      // The lease runs out and another claimer takes the task before the commit.
      clock.advance(3_000);
      await storage.taskClaim({ queueName: "q", limit: 1 });
      await expect(transaction.commit()).rejects.toBeInstanceOf(TaskNotFoundError);
      expect(await storage.taskGet({ taskId: sideTask.id })).toBeNull();
      expect(await storage.taskGet({ taskId: task.id })).toMatchObject({ state: "in_progress", currentAttempt: 2 });
      expect(calls).toEqual([]);
      expect(transaction.tx.status).toBe("rolled-back");
      await transaction.rollback();
    });

    it("sees its own earlier writes", async () => {
      const { storage } = await storageWithQueue();
      const task = newTask();
      const transaction = storage.transactionOpen();
      await storage.taskEnqueue({ queueName: "q", tasks: [task], tx: transaction.tx });
      expect(await storage.taskCancel({ queueName: "q", taskId: task.id, tx: transaction.tx })).toBe(true);
      await transaction.commit();
      expect((await storage.taskGet({ taskId: task.id }))!.state).toBe("cancelled");
    });

    it("refuses a handle after it ended, and a handle of another storage", async () => {
      const { storage } = await storageWithQueue();
      const transaction = storage.transactionOpen();
      await storage.taskEnqueue({ queueName: "q", tasks: [newTask()], tx: transaction.tx });
      await transaction.discard(new Error("timed out"));
      await expect(storage.taskEnqueue({ queueName: "q", tasks: [newTask()], tx: transaction.tx })).rejects.toThrow(/already discarded/);
      await expect(transaction.commit()).rejects.toBeInstanceOf(StorageError);

      const other = new MemoryStorage();
      const foreign = other.transactionOpen();
      await expect(storage.taskEnqueue({ queueName: "q", tasks: [newTask()], tx: foreign.tx })).rejects.toThrow(/another MemoryStorage/);
      await expect(storage.taskEnqueue({ queueName: "q", tasks: [newTask()], tx: {} as MemoryTransactionHandle })).rejects.toThrow(/transactionOpen/);
    });

    it("treats a second commit as done, and rollback after commit as a no-op", async () => {
      const { storage } = await storageWithQueue();
      const task = newTask();
      const transaction = storage.transactionOpen();
      await storage.taskEnqueue({ queueName: "q", tasks: [task], tx: transaction.tx });
      await transaction.commit();
      await transaction.commit();
      await transaction.rollback();
      expect(await storage.taskGet({ taskId: task.id })).not.toBeNull();
    });
  });

  it("releases held locks, aborting their signals, when closed", async () => {
    const storage = new MemoryStorage();
    const lock = await storage.lockTry({ key: "leader" });
    await storage.close();
    expect(lock!.signal.aborted).toBe(true);
    expect(await storage.lockTry({ key: "leader" })).not.toBeNull();
  });

  it("exposes raw rows that match the adapter's reads", async () => {
    const { storage } = await storageWithQueue();
    const task = newTask();
    await storage.taskEnqueue({ queueName: "q", tasks: [task] });
    await storage.taskClaim({ queueName: "q", limit: 1 });
    expect(await storage.raw.task(task.id)).toEqual(await storage.taskGet({ taskId: task.id }));
    expect(await storage.raw.attempts(task.id)).toEqual(await storage.taskAttempts({ taskId: task.id }));
    expect(await storage.raw.task(newTaskId())).toBeNull();
  });
});
