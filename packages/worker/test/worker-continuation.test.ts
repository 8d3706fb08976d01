import { afterEach, describe, expect, it, vi } from "vitest";
import { LeaseLostError, Queue, StorageUnavailableError, type StorageAdapter, type Task, type TaskContext } from "@underway/core";
import { MemoryStorage } from "@underway/core/testing";
import { createTestDatabase } from "@underway/queue-pg/testing";
import { waitFor } from "../../../test/support/source-process.js";
import { Worker } from "../src/index.js";
import { aborted, deferred, recordEvents, work } from "./support/worker-harness.js";

type Link = { chain: number; step: number };

const quiet = { debug() {}, info() {}, warn() {}, error() {} };

/** A storage for one test, and how to release it. */
interface StorageUnderTest {
  storage: StorageAdapter<unknown>;
  close(): Promise<void>;
}

const storages: Array<[string, () => Promise<StorageUnderTest>]> = [
  ["memory", async () => ({ storage: new MemoryStorage() as StorageAdapter<unknown>, close: async () => {} })],
  [
    "Postgres",
    async () => {
      const db = await createTestDatabase();
      return { storage: db.storage as StorageAdapter<unknown>, close: () => db.drop() };
    },
  ],
];

/** Runs `worker` until `steps` tasks have succeeded, then shuts it down; returns its events. */
async function drainSteps(worker: Worker<Link, unknown>, steps: number) {
  const events = recordEvents(worker);
  const running = worker.run();
  await waitFor(() => events.of("task:succeeded").length === steps, { message: `${steps} steps` });
  await worker.shutdown();
  await running;
  return events;
}

/** Counts the tasks that claims handed out. */
function countClaimed(storage: StorageAdapter<unknown>): { readonly rows: number } {
  const counter = { rows: 0 };
  const claim = storage.taskClaim.bind(storage);
  vi.spyOn(storage, "taskClaim").mockImplementation(async (params) => {
    const claimed = await claim(params);
    counter.rows += claimed.length;
    return claimed;
  });
  return counter;
}

/**
 * Lets only the worker's first claim reach the storage; later ones find nothing. A claim still in
 * flight when a shutdown starts may legitimately pick up a pending task, and the shutdown tests
 * are about what is left pending.
 */
function onlyFirstClaim(storage: StorageAdapter<unknown>): void {
  const claim = storage.taskClaim.bind(storage);
  let claims = 0;
  vi.spyOn(storage, "taskClaim").mockImplementation(async (params) => ((claims += 1) === 1 ? claim(params) : []));
}

describe.each(storages)("A follow-up continuing on its worker (%s storage)", (_name, open) => {
  let opened: StorageUnderTest | undefined;

  afterEach(async () => {
    vi.restoreAllMocks();
    await opened?.close();
    opened = undefined;
  });

  async function setup(queueName: string) {
    opened = await open();
    const queue = await Queue.builder<Link>().name(queueName).storage(opened.storage).build();
    return { storage: opened.storage, queue };
  }

  /** A task whose every step up to `lastStep` enqueues the next one on its own queue. */
  function chainTask(queue: Queue<Link, unknown>, lastStep: number, onStep: (link: Link, cx: TaskContext<unknown>) => Promise<void> | void = () => {}): Task<Link, unknown, unknown> {
    const task: Task<Link, unknown, unknown> = {
      async execute(cx: TaskContext<unknown>, link: Link) {
        await onStep(link, cx);
        if (link.step < lastStep) await cx.enqueueOnSuccess(queue, task, { chain: link.chain, step: link.step + 1 });
      },
    };
    return task;
  }

  it("runs the next step written claimed with its parent's acknowledgement, never claiming it", async () => {
    const { storage, queue } = await setup("continued");
    const claimed = countClaimed(storage);
    const task = chainTask(queue, 3);
    await queue.enqueueMany(task, Array.from({ length: 20 }, (_, chain) => ({ chain, step: 0 })));
    const events = await drainSteps(new Worker(queue, task, { concurrency: 4, logger: quiet }), 80);

    expect(claimed.rows).toBe(20);
    expect(events.of("task:claimed")).toHaveLength(80);
    const tasks = await storage.taskList({ queueName: "continued", limit: 1_000 });
    expect(tasks).toHaveLength(80);
    expect(tasks.every((record) => record.state === "succeeded" && record.attemptCount === 1)).toBe(true);
  });

  it("continues after a step that wrote through cx.tx, once its transaction has committed", async () => {
    const { storage, queue } = await setup("continued-after-tx");
    const claimed = countClaimed(storage);
    const audit = await Queue.builder<Link>().name("continued-audit").storage(storage).build();
    const auditTask: Task<Link, unknown, unknown> = { execute() {} };
    // Each step enqueues an audit task through its own transaction, so it commits with the step.
    const task = chainTask(queue, 2, async (link, cx) => {
      await audit.enqueue(auditTask, link, { tx: cx.tx });
    });
    await queue.enqueueMany(task, Array.from({ length: 5 }, (_, chain) => ({ chain, step: 0 })));
    await drainSteps(new Worker(queue, task, { concurrency: 2, logger: quiet }), 15);

    expect(claimed.rows).toBe(5);
    const tasks = await storage.taskList({ queueName: "continued-after-tx", limit: 100 });
    expect(tasks.every((record) => record.state === "succeeded" && record.attemptCount === 1)).toBe(true);
    expect(await storage.taskList({ queueName: "continued-audit", limit: 100 })).toHaveLength(15);
  });

  /**
   * A worker with one slot on a new queue `queueName`: chain 1 holds the slot (until
   * `releaseSlot`) while chain 0's next step comes back claimed and has to wait. Resolves once that
   * step is written. `beforeRun` sees the storage before the worker starts.
   */
  async function nextStepWaitingForSlot(
    queueName: string,
    taskOptions: { heartbeatMs?: number } = {},
    beforeRun: (storage: StorageAdapter<unknown>) => void = () => {},
    runNextStep: (cx: TaskContext<unknown>) => Promise<void> = async () => {},
  ) {
    const { storage, queue } = await setup(queueName);
    const slotTaken = deferred<void>();
    const slotFree = deferred<void>();
    const ran: Link[] = [];
    const task: Task<Link, unknown, unknown> = {
      ...taskOptions,
      async execute(cx, link) {
        ran.push(link);
        if (link.chain === 1) {
          slotTaken.resolve();
          await slotFree.promise;
        } else if (link.step === 0) {
          await cx.enqueueOnSuccess(queue, task, { chain: 0, step: 1 });
        } else {
          await runNextStep(cx);
        }
      },
    };
    await queue.enqueue(task, { chain: 0, step: 0 });
    await queue.enqueue(task, { chain: 1, step: 0 });
    beforeRun(storage);
    const worker = new Worker(queue, task, { concurrency: 1, logger: quiet });
    const events = recordEvents(worker);
    const running = worker.run();
    const releaseSlot = () => slotFree.resolve();
    try {
      await slotTaken.promise;
      const nextStep = await waitFor(async () => (await storage.taskList({ queueName, limit: 10 })).find((record) => (record.input as Link).step === 1));
      expect(nextStep).toMatchObject({ state: "in_progress", attemptCount: 1 });
      return { storage, queue, worker, events, running, ran, nextStep, releaseSlot };
    } catch (error) {
      releaseSlot();
      throw error;
    }
  }

  it("keeps the lease of a next step waiting for a slot, so no other claimer can take it", async () => {
    const beats: string[] = [];
    const { storage, worker, events, running, nextStep, releaseSlot } = await nextStepWaitingForSlot("waiting", { heartbeatMs: 100 }, (storage) => {
      const heartbeat = storage.taskHeartbeat.bind(storage);
      vi.spyOn(storage, "taskHeartbeat").mockImplementation(async (ref) => {
        beats.push(ref.taskId);
        return heartbeat(ref);
      });
    });
    try {
      // Five heartbeats 100 ms apart: well past the 300 ms lease the next step was written with.
      await waitFor(() => beats.filter((id) => id === nextStep.id).length >= 5, { message: "five heartbeats of the waiting next step" });
      expect(events.of("task:claimed").map((event) => event.taskId)).not.toContain(nextStep.id);
      expect(await storage.taskClaim({ queueName: "waiting", limit: 10, reclaimExpired: true })).toEqual([]);
    } finally {
      releaseSlot();
    }
    await waitFor(() => events.of("task:succeeded").length === 3, { message: "3 tasks" });
    await worker.shutdown();
    await running;
    const tasks = await storage.taskList({ queueName: "waiting", limit: 10 });
    expect(tasks.map((record) => [record.state, record.attemptCount])).toEqual([
      ["succeeded", 1],
      ["succeeded", 1],
      ["succeeded", 1],
    ]);
  });

  it("counts a next step's lease from when it was written: one kept by no heartbeat while it waited gives it up at its first heartbeat", async () => {
    const unreachable = new StorageUnavailableError("connect ECONNREFUSED 127.0.0.1:5432");
    const failedBeats: string[] = [];
    // Heartbeats of the next step's attempt itself, once it started (not those sent while it waited).
    const attemptBeats: string[] = [];
    const reasons: unknown[] = [];
    let isNextStep = (_taskId: string): boolean => false;
    let attemptStarted = (_taskId: string): boolean => false;
    const { worker, events, running, nextStep, releaseSlot } = await nextStepWaitingForSlot(
      "waiting-cut-off",
      { heartbeatMs: 100 },
      (storage) => {
        const heartbeat = storage.taskHeartbeat.bind(storage);
        vi.spyOn(storage, "taskHeartbeat").mockImplementation(async (ref) => {
          if (!isNextStep(ref.taskId)) return heartbeat(ref);
          (attemptStarted(ref.taskId) ? attemptBeats : failedBeats).push(ref.taskId);
          throw unreachable;
        });
      },
      async (cx) => {
        reasons.push(await aborted(cx.signal));
      },
    );
    isNextStep = (taskId) => taskId === nextStep.id;
    attemptStarted = (taskId) => events.of("task:claimed").some((event) => event.taskId === taskId);
    try {
      // Four failed heartbeats 100 ms apart: its 300 ms lease, set when it was written, has run out.
      await waitFor(() => failedBeats.length >= 4, { message: "four failed heartbeats of the waiting next step" });
    } finally {
      releaseSlot();
    }
    await waitFor(() => events.of("task:lease-lost").some((event) => event.taskId === nextStep.id), { message: "the next step's lease given up" });
    // Given up at its first heartbeat, before sending one: it never counted on a lease it had lost.
    expect(attemptBeats).toEqual([]);
    expect(reasons).toHaveLength(1);
    expect(LeaseLostError.isInstance(reasons[0])).toBe(true);
    await worker.shutdown();
    await running;
  });

  it("ends a next step cancelled while it waits for a slot, without running it", async () => {
    const { storage, queue, worker, events, running, ran, nextStep, releaseSlot } = await nextStepWaitingForSlot("waiting-cancelled");
    try {
      expect(await queue.cancel(nextStep.id)).toBe(true);
      await waitFor(() => events.of("task:cancelled").some((event) => event.taskId === nextStep.id), { message: "the waiting step cancelled" });
    } finally {
      releaseSlot();
    }
    await waitFor(() => events.of("task:succeeded").length === 2, { message: "2 tasks" });
    await worker.shutdown();
    await running;

    expect(ran).not.toContainEqual({ chain: 0, step: 1 });
    expect(events.of("task:claimed").map((event) => event.taskId)).not.toContain(nextStep.id);
    expect(await storage.taskGet({ taskId: nextStep.id })).toMatchObject({ state: "cancelled" });
  });

  it("never runs more than `concurrency` attempts at once, continuations included", async () => {
    const { queue } = await setup("bounded");
    let runningNow = 0;
    let mostAtOnce = 0;
    const task = chainTask(queue, 2, async () => {
      runningNow += 1;
      mostAtOnce = Math.max(mostAtOnce, runningNow);
      await work(20);
      runningNow -= 1;
    });
    await queue.enqueueMany(task, Array.from({ length: 8 }, (_, chain) => ({ chain, step: 0 })));
    await drainSteps(new Worker(queue, task, { concurrency: 2, logger: quiet }), 24);
    expect(mostAtOnce).toBe(2);
  });

  it("leaves to a claim a follow-up that is delayed, keyed or of another task", async () => {
    const { storage, queue } = await setup("claimed-later");
    const claimed = countClaimed(storage);
    const other: Task<Link, unknown, unknown> = { execute() {} };
    const task: Task<Link, unknown, unknown> = {
      async execute(cx, link) {
        if (link.step > 0) return;
        await cx.enqueueOnSuccess(queue, task, { chain: 0, step: 1 }, { delayMs: 1 });
        await cx.enqueueOnSuccess(queue, other, { chain: 0, step: 2 });
      },
    };
    const keyed: Task<Link, unknown, unknown> = { ...task, concurrencyKey: "one-at-a-time" };
    await queue.enqueue(task, { chain: 0, step: 0 });
    await queue.enqueue(keyed, { chain: 1, step: 5 });
    // `other`'s follow-up lands on this queue, whose worker runs `task`: a claim hands it out.
    await drainSteps(new Worker(queue, task, { concurrency: 2, logger: quiet }), 4);
    expect(claimed.rows).toBe(4);
  });

  it("runs a follow-up claimed while shutting down, and leaves the next one pending", async () => {
    const { storage, queue } = await setup("stopping");
    const writeAllowed = deferred<void>();
    let writeWaiting = false;
    const completeMany = storage.taskCompleteMany.bind(storage);
    vi.spyOn(storage, "taskCompleteMany").mockImplementation(async (params) => {
      writeWaiting = true;
      await writeAllowed.promise;
      return completeMany(params);
    });
    onlyFirstClaim(storage);
    const task = chainTask(queue, 2);
    const first = await queue.enqueue(task, { chain: 0, step: 0 });
    const worker = new Worker(queue, task, { logger: quiet });
    const events = recordEvents(worker);
    const running = worker.run();
    await waitFor(() => writeWaiting, { message: "the first step's acknowledgement" });
    const stopped = worker.shutdown();
    writeAllowed.resolve();
    await stopped;
    await running;

    const tasks = await storage.taskList({ queueName: "stopping", limit: 10 });
    expect(tasks.map((record) => [record.input, record.state])).toEqual([
      [{ chain: 0, step: 0 }, "succeeded"],
      [{ chain: 0, step: 1 }, "succeeded"],
      [{ chain: 0, step: 2 }, "pending"],
    ]);
    expect(tasks[0]!.id).toBe(first);
  });

  it("gives a follow-up claimed after the shutdown grace straight back to the queue", async () => {
    const { storage, queue } = await setup("given-back");
    const writeAllowed = deferred<void>();
    const completeMany = storage.taskCompleteMany.bind(storage);
    vi.spyOn(storage, "taskCompleteMany").mockImplementation(async (params) => {
      await writeAllowed.promise;
      return completeMany(params);
    });
    // Chain 0's first step finishes at once; chain 1's runs until the grace is over, and its
    // abort lets chain 0's acknowledgement (and with it the claimed next step) through.
    const task = chainTask(queue, 1, async (link, cx) => {
      if (link.chain !== 1) return;
      await new Promise<void>((resolve) => {
        cx.signal.addEventListener("abort", () => {
          writeAllowed.resolve();
          resolve();
        });
      });
    });
    await queue.enqueue(task, { chain: 0, step: 0 });
    await queue.enqueue(task, { chain: 1, step: 0 });
    onlyFirstClaim(storage);
    const worker = new Worker(queue, task, { concurrency: 2, shutdownTimeoutMs: 50, logger: quiet });
    const events = recordEvents(worker);
    const running = worker.run();
    await waitFor(() => events.of("task:claimed").length === 2, { message: "both first steps" });
    await worker.shutdown();
    await running;

    const tasks = await storage.taskList({ queueName: "given-back", limit: 10 });
    const next = tasks.find((record) => (record.input as Link).chain === 0 && (record.input as Link).step === 1);
    expect(next).toMatchObject({ state: "pending", attemptCount: 1 });
    expect(events.of("task:claimed").map((event) => event.taskId)).not.toContain(next!.id);
    expect(await storage.taskAttempts({ taskId: next!.id })).toEqual([expect.objectContaining({ state: "failed", errorMessage: expect.stringMatching(/shut/i) })]);
  });
});
