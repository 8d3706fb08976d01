import { describe, expect, it, vi } from "vitest";
import {
  ConfigError,
  LeaseLostError,
  Queue,
  ShutdownError,
  StorageUnavailableError,
  TaskCancelledError,
  TimeoutError,
  fatal,
  type Task,
} from "@underway/core";
import { ManualClock, MemoryStorage } from "@underway/core/testing";
import { Worker, gracefulShutdown } from "../src/index.js";
import { waitFor } from "../../../test/support/source-process.js";
import { aborted, deferred, recordEvents, work } from "./support/worker-harness.js";

type Tx = ReturnType<MemoryStorage["transactionOpen"]>["tx"];
type Item = { n: number };

const quiet = { debug() {}, info() {}, warn() {}, error() {} };

/** Spies on `storage`'s completions and records every transaction it makes. */
function spyOnCompletions(storage: MemoryStorage) {
  const completeMany = vi.spyOn(storage, "taskCompleteMany");
  const completeOne = vi.spyOn(storage, "taskComplete");
  const transactions: Array<ReturnType<MemoryStorage["transactionOpen"]>> = [];
  const open = storage.transactionOpen.bind(storage);
  vi.spyOn(storage, "transactionOpen").mockImplementation(() => {
    const trx = open();
    transactions.push(trx);
    return trx;
  });
  return { completeMany, completeOne, transactions };
}

async function setup(name = "jobs", storage = new MemoryStorage()) {
  const queue = await Queue.builder<Item>().name(name).deadLetterQueue(`${name}-dlq`).storage(storage).build();
  return { storage, queue };
}

/** Runs `task` on a worker with a 50 ms shutdown grace, shuts it down once the task is claimed, and returns its events. */
async function shutDownWhileRunning(queue: Queue<Item, Tx>, task: Task<Item, unknown, Tx>) {
  const worker = new Worker(queue, task, { shutdownTimeoutMs: 50, logger: quiet });
  const events = recordEvents(worker);
  const running = worker.run();
  await waitFor(() => events.of("task:claimed").length === 1, { message: "the claim" });
  await worker.shutdown();
  await running;
  return events;
}

describe("Worker options", () => {
  it.each([
    [{ concurrency: 0 }, /concurrency/],
    [{ concurrency: -1 }, /concurrency/],
    [{ concurrency: 1.5 }, /concurrency/],
    [{ concurrency: "3" as unknown as number }, /concurrency/],
    [{ claimBatchSize: 0 }, /claimBatchSize/],
    [{ pollIntervalMs: 0 }, /pollIntervalMs/],
    [{ shutdownTimeoutMs: -5 }, /shutdownTimeoutMs/],
    [{ pruneIntervalMs: Number.NaN }, /pruneIntervalMs/],
    [{ groupPipeline: "yes" as unknown as boolean }, /groupPipeline must be true or false/],
    [{ groupPipeline: true }, /set groupCommit to 2 or more/],
  ])("rejects %o at construction", async (options, message) => {
    const { queue } = await setup();
    const task: Task<Item, unknown, Tx> = { execute() {} };
    expect(() => new Worker(queue, task, options)).toThrow(ConfigError);
    expect(() => new Worker(queue, task, options)).toThrow(message);
  });

  it("rejects groupCommit on a storage without group transactions", async () => {
    const { queue } = await setup();
    const task: Task<Item, unknown, Tx> = { execute() {} };
    expect(() => new Worker(queue, task, { groupCommit: 5 })).toThrow(/groupCommit needs a storage/);
    expect(() => new Worker(queue, task, { groupCommit: 0 })).toThrow(ConfigError);
    expect(() => new Worker(queue, task, { groupCommit: 1 })).not.toThrow();
  });

  it("rejects a task without execute", async () => {
    const { queue } = await setup();
    expect(() => new Worker(queue, {} as Task<Item, unknown, Tx>)).toThrow(ConfigError);
  });

  it("rejects a run() signal that is not an AbortSignal, and still runs and shuts down afterwards", async () => {
    const { queue } = await setup();
    const worker = new Worker(queue, { execute() {} } as Task<Item, unknown, Tx>, { logger: quiet });
    const events = recordEvents(worker);
    for (const signal of ["x", null, 5, {}, { aborted: false }]) {
      const outcome = worker.run(signal as unknown as AbortSignal);
      await expect(outcome).rejects.toBeInstanceOf(ConfigError);
      await expect(outcome).rejects.toThrow(/expects an AbortSignal/);
    }
    expect(events.of("worker:started")).toHaveLength(0);
    const controller = new AbortController();
    const running = worker.run(controller.signal);
    await waitFor(() => events.of("worker:started").length === 1);
    await queue.enqueue(worker.task, { n: 1 });
    await waitFor(() => events.of("task:succeeded").length === 1, { message: "a task run after the rejected calls" });
    await worker.shutdown();
    await running;
    expect(events.of("worker:stopped")).toHaveLength(1);
  });

  it.each([
    [null, /expects options/],
    [{ queue: null }, /queue option must be a queue name or a Queue/],
    [{ queue: "" }, /queue option must be a queue name or a Queue/],
    [{ queue: 5 }, /queue option must be a queue name or a Queue/],
    [{ queue: "x".repeat(9_000) }, /gracefulShutdown's queue name must be at most 128 characters/],
    [{ queue: "two words" }, /gracefulShutdown's queue name "two words" contains U\+0020/],
  ])("gracefulShutdown rejects the options %o with a ConfigError and sends nothing", async (options, message) => {
    const storage = new MemoryStorage();
    const notify = vi.spyOn(storage, "notifyShutdown");
    const outcome = gracefulShutdown(storage, options as unknown as { queue?: string });
    await expect(outcome).rejects.toBeInstanceOf(ConfigError);
    await expect(outcome).rejects.toThrow(message);
    expect(notify).not.toHaveBeenCalled();
  });
});

describe("Worker on the memory storage", () => {
  it("acknowledges tasks that never touch cx.tx in bulk, without opening a transaction", async () => {
    const { storage, queue } = await setup();
    const { completeMany, completeOne, transactions } = spyOnCompletions(storage);
    const task: Task<Item, unknown, Tx> = { execute: (_cx, { n }) => ({ doubled: n * 2 }) };
    const ids = await queue.enqueueMany(task, Array.from({ length: 200 }, (_, n) => ({ n })));
    const worker = new Worker(queue, task, { concurrency: 20, logger: quiet });
    const events = recordEvents(worker);
    const running = worker.run();
    await waitFor(() => events.of("task:succeeded").length === 200, { message: "200 successes" });
    await worker.shutdown();
    await running;

    const finished = await Promise.all(ids.map((id) => storage.taskGet({ taskId: id })));
    expect(finished.every((record) => record?.state === "succeeded")).toBe(true);
    expect(finished[7]?.output).toEqual({ doubled: 14 });
    expect(completeOne).not.toHaveBeenCalled();
    const acknowledged = completeMany.mock.calls.reduce((sum, [params]) => sum + params.attempts.length, 0);
    expect(acknowledged).toBe(200);
    // Bulk: fewer statements than tasks.
    expect(completeMany.mock.calls.length).toBeLessThan(200);
    // The transaction behind cx.tx is made only when a task asks for it.
    expect(transactions).toHaveLength(0);
  });

  it("makes an attempt's transaction when the task asks for cx.tx, and acknowledges it in bulk while nothing ran on it", async () => {
    const { storage, queue } = await setup();
    const { completeMany, completeOne, transactions } = spyOnCompletions(storage);
    const seen: Tx[] = [];
    const task: Task<Item, unknown, Tx> = {
      execute: (cx) => {
        seen.push(cx.tx, cx.tx);
      },
    };
    await queue.enqueueMany(task, Array.from({ length: 20 }, (_, n) => ({ n })));
    const worker = new Worker(queue, task, { concurrency: 5, logger: quiet });
    const events = recordEvents(worker);
    const running = worker.run();
    await waitFor(() => events.of("task:succeeded").length === 20, { message: "20 successes" });
    await worker.shutdown();
    await running;

    expect(transactions).toHaveLength(20);
    // One transaction per attempt, the same one however often the task reads cx.tx.
    expect(seen.filter((tx, index) => index % 2 === 1 && tx !== seen[index - 1])).toEqual([]);
    expect(transactions.every((trx) => !trx.isOpen)).toBe(true);
    expect(completeOne).not.toHaveBeenCalled();
    expect(completeMany.mock.calls.reduce((sum, [params]) => sum + params.attempts.length, 0)).toBe(20);
  });


  it("frees a slot once a success is queued for acknowledgement, and shutdown still waits for the write", async () => {
    const { storage, queue } = await setup();
    const writeAllowed = deferred<void>();
    const completeMany = storage.taskCompleteMany.bind(storage);
    vi.spyOn(storage, "taskCompleteMany").mockImplementation(async (params) => {
      await writeAllowed.promise;
      return completeMany(params);
    });
    const started: number[] = [];
    const task: Task<Item, unknown, Tx> = { execute: (_cx, { n }) => void started.push(n) };
    const ids = await queue.enqueueMany(task, [{ n: 1 }, { n: 2 }]);
    const worker = new Worker(queue, task, { concurrency: 1, logger: quiet });
    const events = recordEvents(worker);
    const running = worker.run();
    // Concurrency 1, yet the second task starts while the first one's acknowledgement is held.
    await waitFor(() => started.length === 2, { message: "both tasks started" });
    expect(events.of("task:succeeded")).toHaveLength(0);
    const stopped = worker.shutdown();
    let stoppedYet = false;
    void stopped.then(() => (stoppedYet = true));
    await new Promise((resolve) => setImmediate(resolve));
    expect(stoppedYet).toBe(false);
    writeAllowed.resolve();
    await stopped;
    await running;
    expect(events.of("task:succeeded")).toHaveLength(2);
    const finished = await Promise.all(ids.map((id) => storage.taskGet({ taskId: id })));
    expect(finished.map((record) => record?.state)).toEqual(["succeeded", "succeeded"]);
  });
  it("commits a task's writes with its success, and drops them when it throws", async () => {
    const { storage, queue } = await setup();
    const effects: string[] = [];
    const task: Task<Item, unknown, Tx> = {
      retryPolicy: { maxAttempts: 1 },
      execute(cx, { n }) {
        cx.tx.onCommit(() => effects.push(`effect-${n}`));
        if (n === 1) throw new Error("boom after writing");
        return "ok";
      },
    };
    const [failing, succeeding] = await queue.enqueueMany(task, [{ n: 1 }, { n: 2 }]);
    const worker = new Worker(queue, task, { logger: quiet });
    const completeOne = vi.spyOn(storage, "taskComplete");
    expect(await worker.processNextTask()).toBe(failing);
    expect(await worker.processNextTask()).toBe(succeeding);
    expect(await worker.processNextTask()).toBeNull();

    expect(effects).toEqual(["effect-2"]);
    expect(completeOne).toHaveBeenCalledTimes(1);
    const failed = await storage.taskGet({ taskId: failing! });
    expect(failed?.state).toBe("failed");
    const [attempt] = await storage.taskAttempts({ taskId: failing! });
    expect(attempt?.state).toBe("failed");
    expect(attempt?.errorMessage).toBe("boom after writing");
    expect((await storage.taskGet({ taskId: succeeding! }))?.state).toBe("succeeded");
  });

  it("records a fatal error's message, fails at once and reports the dead-letter move", async () => {
    const { storage, queue } = await setup();
    const task: Task<Item, unknown, Tx> = {
      execute() {
        throw fatal(new Error("input can never work"));
      },
    };
    const id = await queue.enqueue(task, { n: 1 });
    const worker = new Worker(queue, task, { logger: quiet });
    const events = recordEvents(worker);
    await worker.processNextTask();
    expect(events.of("task:failed")).toHaveLength(1);
    expect(events.of("task:dead-lettered")).toEqual([{ queueName: "jobs", taskId: id, attempt: 1, deadLetterQueueName: "jobs-dlq" }]);
    const record = await storage.taskGet({ taskId: id });
    expect(record?.state).toBe("failed");
    expect(record?.queueName).toBe("jobs-dlq");
    const [attempt] = await storage.taskAttempts({ taskId: id });
    expect(attempt?.errorMessage).toBe("input can never work");
  });

  it("retries an ordinary error with the policy's backoff, then fails when attempts run out", async () => {
    const { storage, queue } = await setup();
    const task: Task<Item, unknown, Tx> = {
      retryPolicy: { maxAttempts: 2, initialIntervalMs: 0, maxIntervalMs: 0 },
      execute() {
        throw new Error("flaky");
      },
    };
    const id = await queue.enqueue(task, { n: 1 });
    const worker = new Worker(queue, task, { logger: quiet, random: () => 0.5 });
    const events = recordEvents(worker);
    await worker.processNextTask();
    expect(events.of("task:retry")).toMatchObject([{ taskId: id, attempt: 1, delayMs: 0 }]);
    expect((await storage.taskGet({ taskId: id }))?.state).toBe("pending");
    await worker.processNextTask();
    expect(events.of("task:failed")).toMatchObject([{ taskId: id, attempt: 2 }]);
    const attempts = await storage.taskAttempts({ taskId: id });
    expect(attempts.map((attempt) => [attempt.state, attempt.errorMessage])).toEqual([
      ["failed", "flaky"],
      ["failed", "flaky"],
    ]);
  });

  it("never runs more than `concurrency` tasks at once", async () => {
    const { queue } = await setup();
    let runningNow = 0;
    let mostAtOnce = 0;
    const task: Task<Item, unknown, Tx> = {
      async execute() {
        runningNow += 1;
        mostAtOnce = Math.max(mostAtOnce, runningNow);
        await work(200);
        runningNow -= 1;
      },
    };
    await queue.enqueueMany(task, Array.from({ length: 10 }, (_, n) => ({ n })));
    const worker = new Worker(queue, task, { concurrency: 2, logger: quiet });
    const events = recordEvents(worker);
    const running = worker.run();
    await waitFor(() => events.of("task:succeeded").length === 10, { message: "10 successes" });
    await worker.shutdown();
    await running;
    expect(mostAtOnce).toBe(2);
  });

  it("stops the heartbeat when the attempt throws", async () => {
    const { storage, queue } = await setup();
    const heartbeat = vi.spyOn(storage, "taskHeartbeat");
    const task: Task<Item, unknown, Tx> = {
      heartbeatMs: 20,
      retryPolicy: { maxAttempts: 1 },
      async execute(cx, { n }) {
        if (n === 1) {
          await waitFor(() => heartbeat.mock.calls.some(([ref]) => ref.taskId === cx.taskId), { message: "a first heartbeat" });
          throw new Error("thrown while beating");
        }
        // The second task runs long enough for ten of its own heartbeats; the first task's heartbeat
        // would have fired as often by then had it not stopped.
        await waitFor(() => heartbeat.mock.calls.filter(([ref]) => ref.taskId === cx.taskId).length >= 10, { message: "ten heartbeats" });
      },
    };
    const [thrower, witness] = await queue.enqueueMany(task, [{ n: 1 }, { n: 2 }]);
    const worker = new Worker(queue, task, { logger: quiet });
    await worker.processNextTask();
    const beatsOfThrower = () => heartbeat.mock.calls.filter(([ref]) => ref.taskId === thrower).length;
    const afterThrow = beatsOfThrower();
    expect(afterThrow).toBeGreaterThanOrEqual(1);
    expect(await worker.processNextTask()).toBe(witness);
    expect(beatsOfThrower()).toBe(afterThrow);
  });

  it("fires the signal with a TimeoutError, retries, and never lets the stale attempt commit", async () => {
    const { storage, queue } = await setup();
    const effects: string[] = [];
    const lateWrite = deferred<unknown>();
    const reasons: unknown[] = [];
    const task: Task<Item, unknown, Tx> = {
      timeoutMs: 100,
      retryPolicy: { maxAttempts: 3, initialIntervalMs: 60_000, maxIntervalMs: 60_000 },
      async execute(cx) {
        await Promise.race([aborted(cx.signal), work(5_000)]);
        reasons.push(cx.signal.reason);
        try {
          cx.tx.onCommit(() => effects.push("late"));
          lateWrite.resolve("accepted");
        } catch (error) {
          lateWrite.resolve(error);
        }
      },
    };
    const id = await queue.enqueue(task, { n: 1 });
    const worker = new Worker(queue, task, { logger: quiet });
    const events = recordEvents(worker);
    await worker.processNextTask();
    expect(events.of("task:timed-out")).toEqual([{ queueName: "jobs", taskId: id, attempt: 1, timeoutMs: 100 }]);
    expect(events.of("task:retry")).toHaveLength(1);
    expect(TimeoutError.isInstance(reasons[0])).toBe(true);
    expect(await lateWrite.promise).toBeInstanceOf(Error);
    expect(effects).toEqual([]);
    const [attempt] = await storage.taskAttempts({ taskId: id });
    expect(attempt?.errorMessage).toMatch(/timed out after 100 ms/);
    expect((await storage.taskGet({ taskId: id }))?.state).toBe("pending");
  });

  it("aborts a running task with TaskCancelledError when it is cancelled, and ends it cancelled", async () => {
    const { storage, queue } = await setup();
    const started = deferred();
    let reason: unknown;
    const task: Task<Item, unknown, Tx> = {
      async execute(cx) {
        started.resolve();
        reason = await aborted(cx.signal);
        return "finished anyway";
      },
    };
    const id = await queue.enqueue(task, { n: 1 });
    const worker = new Worker(queue, task, { logger: quiet });
    const events = recordEvents(worker);
    const running = worker.run();
    await started.promise;
    expect(await queue.cancel(id)).toBe(true);
    await waitFor(() => events.of("task:cancelled").length === 1, { message: "the cancellation" });
    expect(TaskCancelledError.isInstance(reason)).toBe(true);
    expect((await storage.taskGet({ taskId: id }))?.state).toBe("cancelled");
    await worker.shutdown();
    await running;
  });

  it("aborts with LeaseLostError and records nothing when another worker took the task over", async () => {
    const clock = new ManualClock();
    const { storage, queue } = await setup("jobs", new MemoryStorage({ clock }));
    const started = deferred();
    const reasons: unknown[] = [];
    const effects: string[] = [];
    const task: Task<Item, unknown, Tx> = {
      heartbeatMs: 20,
      async execute(cx) {
        if (cx.attempt === 1) {
          started.resolve();
          reasons.push(await aborted(cx.signal));
          return;
        }
        cx.tx.onCommit(() => effects.push(`attempt ${cx.attempt}`));
      },
    };
    const id = await queue.enqueue(task, { n: 1 });
    const stale = new Worker(queue, task, { logger: quiet });
    const events = recordEvents(stale);
    const staleRun = stale.processNextTask();
    await started.promise;
    clock.advance(60_000);
    const successor = new Worker(queue, task, { logger: quiet });
    expect(await successor.processNextTask()).toBe(id);
    await staleRun;
    expect(events.of("task:lease-lost")).toEqual([{ queueName: "jobs", taskId: id, attempt: 1 }]);
    expect(LeaseLostError.isInstance(reasons[0])).toBe(true);
    expect(effects).toEqual(["attempt 2"]);
    const attempts = await storage.taskAttempts({ taskId: id });
    expect(attempts.map((attempt) => attempt.state)).toEqual(["failed", "succeeded"]);
  });

  it.each([
    ["fail", (error: Error) => Promise.reject(error)],
    ["hang on a dead connection", () => new Promise<never>(() => {})],
  ])("gives its lease up with LeaseLostError, recording nothing, when heartbeats %s for a lease's length", async (outcome, heartbeatOutcome) => {
    const clock = new ManualClock();
    const { storage, queue } = await setup("jobs", new MemoryStorage({ clock }));
    const unreachable = new StorageUnavailableError("connect ECONNREFUSED 127.0.0.1:5432");
    const heartbeat = vi.spyOn(storage, "taskHeartbeat").mockImplementation(() => heartbeatOutcome(unreachable));
    const reasons: unknown[] = [];
    const task: Task<Item, unknown, Tx> = {
      heartbeatMs: 20,
      async execute(cx) {
        if (cx.attempt === 1) reasons.push(await aborted(cx.signal));
      },
    };
    const id = await queue.enqueue(task, { n: 1 });
    const worker = new Worker(queue, task, { logger: quiet });
    const events = recordEvents(worker);
    expect(await worker.processNextTask()).toBe(id);
    expect(heartbeat).toHaveBeenCalled();
    const reason = reasons[0] as Error;
    expect(LeaseLostError.isInstance(reason)).toBe(true);
    expect(reason.cause).toBe(outcome === "fail" ? unreachable : undefined);
    expect(events.of("task:lease-lost")).toEqual([{ queueName: "jobs", taskId: id, attempt: 1 }]);
    // Nothing was recorded: the task stays in progress until its lease returns it to the queue.
    expect((await storage.taskGet({ taskId: id }))?.state).toBe("in_progress");
    expect((await storage.taskAttempts({ taskId: id })).map((attempt) => attempt.state)).toEqual(["in_progress"]);
    heartbeat.mockRestore();
    clock.advance(60_000);
    expect(await new Worker(queue, task, { logger: quiet }).processNextTask()).toBe(id);
    expect((await storage.taskAttempts({ taskId: id })).map((attempt) => attempt.state)).toEqual(["failed", "succeeded"]);
  });

  it("prunes the finished tasks past their TTL of its queue and of its dead-letter queue, and nothing else", async () => {
    const clock = new ManualClock();
    const { storage, queue } = await setup("jobs", new MemoryStorage({ clock }));
    const task: Task<Item, unknown, Tx> = {
      ttlMs: 60_000,
      retryPolicy: { maxAttempts: 1 },
      execute(_cx, { n }) {
        if (n === 1) throw fatal(new Error("bad input"));
      },
    };
    const [failed, succeeded] = await queue.enqueueMany(task, [{ n: 1 }, { n: 2 }]);
    const drainer = new Worker(queue, task, { pruneIntervalMs: 0, logger: quiet });
    expect(await drainer.processNextTask()).toBeTruthy();
    expect(await drainer.processNextTask()).toBeTruthy();
    expect((await storage.taskGet({ taskId: failed! }))?.queueName).toBe("jobs-dlq");
    const waiting = await queue.enqueue(task, { n: 3 }, { delayMs: 3_600_000 });
    const elsewhere = await Queue.builder<Item>().name("other").storage(storage).build();
    const otherFinished = await elsewhere.enqueue(task, { n: 2 });
    expect(await new Worker(elsewhere, task, { pruneIntervalMs: 0, logger: quiet }).processNextTask()).toBe(otherFinished);
    clock.advance(60_001);

    const worker = new Worker(queue, task, { pruneIntervalMs: 10, logger: quiet });
    const running = worker.run();
    await waitFor(async () => (await storage.taskGet({ taskId: failed! })) === null && (await storage.taskGet({ taskId: succeeded! })) === null, {
      message: "both finished tasks pruned",
    });
    await worker.shutdown();
    await running;
    expect((await storage.taskGet({ taskId: waiting }))?.state).toBe("pending");
    expect((await storage.taskGet({ taskId: otherFinished }))?.state).toBe("succeeded");
  });

  it("lets in-flight tasks finish on shutdown and claims nothing new", async () => {
    const { storage, queue } = await setup();
    const task: Task<Item, unknown, Tx> = { execute: () => work(1_000) };
    const first = await queue.enqueueMany(task, Array.from({ length: 5 }, (_, n) => ({ n })));
    const worker = new Worker(queue, task, { concurrency: 5, logger: quiet });
    const events = recordEvents(worker);
    const running = worker.run();
    await waitFor(() => events.of("task:claimed").length === 5, { message: "five claims" });
    const later = await queue.enqueue(task, { n: 99 });
    await worker.shutdown();
    await running;
    expect(events.of("task:succeeded").map((event) => event.taskId).sort()).toEqual([...first].sort());
    expect(events.of("task:claimed")).toHaveLength(5);
    expect((await storage.taskGet({ taskId: later }))?.state).toBe("pending");
    expect(events.entries.at(-1)?.event).toBe("worker:stopped");
  });

  it("aborts tasks still running when the shutdown grace is over and puts them back to pending", async () => {
    const { storage, queue } = await setup();
    const reasons: unknown[] = [];
    const task: Task<Item, unknown, Tx> = {
      async execute(cx) {
        reasons.push(await aborted(cx.signal));
      },
    };
    const id = await queue.enqueue(task, { n: 1 });
    const events = await shutDownWhileRunning(queue, task);
    expect(ShutdownError.isInstance(reasons[0])).toBe(true);
    expect(events.of("task:retry")).toMatchObject([{ taskId: id, delayMs: 0 }]);
    expect((await storage.taskGet({ taskId: id }))?.state).toBe("pending");
  });

  it("counts a task aborted at shutdown as an attempt: on its last one it fails for good and is dead-lettered", async () => {
    const { storage, queue } = await setup();
    const task: Task<Item, unknown, Tx> = {
      async execute(cx) {
        await aborted(cx.signal);
      },
      retryPolicy: { maxAttempts: 1 },
    };
    const id = await queue.enqueue(task, { n: 1 });
    const events = await shutDownWhileRunning(queue, task);
    expect(events.of("task:retry")).toEqual([]);
    expect(events.of("task:failed")).toMatchObject([{ taskId: id, attempt: 1 }]);
    expect(ShutdownError.isInstance(events.of("task:failed")[0]!.error)).toBe(true);
    expect(await storage.taskGet({ taskId: id })).toMatchObject({ state: "failed", queueName: "jobs-dlq" });
    expect(await storage.taskAttempts({ taskId: id })).toMatchObject([{ state: "failed", errorMessage: new ShutdownError().message }]);
  });

  it("stops when gracefulShutdown is called for its queue, and ignores other queues", async () => {
    const { storage, queue } = await setup();
    const task: Task<Item, unknown, Tx> = { execute() {} };
    const worker = new Worker(queue, task, { logger: quiet });
    const events = recordEvents(worker);
    let stopped = false;
    const running = worker.run().then(() => {
      stopped = true;
    });
    await waitFor(() => events.of("worker:started").length === 1);
    await gracefulShutdown(storage, { queue: "some-other-queue" });
    // The other queue's request was delivered; a task enqueued afterwards still runs.
    await queue.enqueue(task, { n: 1 });
    await waitFor(() => events.of("task:succeeded").length === 1, { message: "a success after the unrelated shutdown" });
    expect(stopped).toBe(false);
    await gracefulShutdown(storage, { queue });
    await running;
    expect(stopped).toBe(true);
  });

  it("is safe to shut down before run, and twice", async () => {
    const { queue } = await setup();
    const worker = new Worker(queue, { execute() {} } as Task<Item, unknown, Tx>, { logger: quiet });
    await worker.shutdown();
    await worker.shutdown();
    await worker.run();
  });

  it("backs off when claims fail instead of spinning, and survives", async () => {
    const { storage, queue } = await setup();
    const claim = vi.spyOn(storage, "taskClaim").mockRejectedValue(new Error("database is down"));
    const task: Task<Item, unknown, Tx> = { execute() {} };
    const worker = new Worker(queue, task, { logger: quiet });
    const events = recordEvents(worker);
    const running = worker.run();
    await waitFor(() => events.of("worker:error").length >= 4, { message: "four claim errors" });
    const times = events.entries.filter((entry) => entry.event === "worker:error").map((entry) => entry.at);
    expect(times[3]! - times[2]!).toBeGreaterThanOrEqual(300);
    claim.mockRestore();
    await queue.enqueue(task, { n: 1 });
    await waitFor(() => events.of("task:succeeded").length === 1, { message: "recovery", timeoutMs: 10_000 });
    await worker.shutdown();
    await running;
  });

  it("starts a delayed task on time without waiting for the poll", async () => {
    const { queue } = await setup();
    let startedAt = 0;
    const task: Task<Item, unknown, Tx> = {
      execute() {
        startedAt = Date.now();
      },
    };
    const worker = new Worker(queue, task, { pollIntervalMs: 60_000, logger: quiet });
    const events = recordEvents(worker);
    const running = worker.run();
    await waitFor(() => events.of("worker:started").length === 1);
    const enqueuedAt = Date.now();
    await queue.enqueue(task, { n: 1 }, { delayMs: 500 });
    await waitFor(() => events.of("task:succeeded").length === 1, { message: "the delayed task" });
    expect(startedAt - enqueuedAt).toBeGreaterThanOrEqual(490);
    expect(startedAt - enqueuedAt).toBeLessThan(1_500);
    await worker.shutdown();
    await running;
  });

  it("starts a task that came due between a short claim and the read of the next run time", async () => {
    const storage = new MemoryStorage();
    const { queue } = await setup("jobs", storage);
    const task: Task<Item, unknown, Tx> = { execute() {} };
    const [id] = await queue.enqueueMany(task, [{ n: 1 }], { delayMs: 200 });
    const runAt = (await storage.taskGet({ taskId: id! }))!.runAt.getTime();
    // The read of the next run time reaches the storage only once the task is due: the claim
    // before it found nothing due, and the worker must still wake up for the task.
    const readNextRunAt = storage.taskNextRunAt.bind(storage);
    vi.spyOn(storage, "taskNextRunAt").mockImplementation(async (params) => {
      while (Date.now() <= runAt) await new Promise((resolve) => setTimeout(resolve, runAt - Date.now() + 1));
      return readNextRunAt(params);
    });
    const worker = new Worker(queue, task, { pollIntervalMs: 60_000, logger: quiet });
    const events = recordEvents(worker);
    const running = worker.run();
    await waitFor(() => events.of("task:succeeded").length === 1, { message: "the task that came due", timeoutMs: 10_000 });
    await worker.shutdown();
    await running;
  });
});
