// cx.enqueueOnSuccess refuses bad arguments with a ConfigError, and the attempt that made the call
// fails as it does for a follow-up whose input fails validation: nothing is written for it.
import { describe, expect, it } from "vitest";
import { ConfigError, Queue, type Task, type TaskContext } from "@underway/core";
import { MemoryStorage } from "@underway/core/testing";
import { Worker } from "../src/index.js";

type Item = { n: number };

const quiet = { debug() {}, info() {}, warn() {}, error() {} };

async function runOnce(call: (cx: TaskContext<unknown>, followUps: Queue<Item, unknown>, task: Task<Item>) => Promise<unknown>) {
  const storage = new MemoryStorage();
  const queue = await Queue.builder<Item>().name("parents").storage(storage).build();
  const followUps = await Queue.builder<Item>().name("children").storage(storage).build();
  const child: Task<Item> = { execute() {} };
  const outcomes: unknown[] = [];
  const parent: Task<Item> = {
    retryPolicy: { maxAttempts: 1 },
    async execute(cx) {
      outcomes.push(await call(cx, followUps, child).then(
        () => "resolved",
        (error: unknown) => error,
      ));
    },
  };
  const id = await queue.enqueue(parent, { n: 1 });
  const worker = new Worker(queue, parent, { logger: quiet, pruneIntervalMs: 0 });
  await worker.processNextTask();
  return { record: await storage.taskGet({ taskId: id }), attempts: await storage.taskAttempts({ taskId: id }), children: await storage.taskList({ queueName: "children" }), outcomes };
}

describe("cx.enqueueOnSuccess with bad arguments", () => {
  it.each([
    ["options of another name", (cx: TaskContext<unknown>, queue: Queue<Item, unknown>, task: Task<Item>) => cx.enqueueOnSuccess(queue, task, { n: 2 }, { dely: 5 } as never), /no option "dely"/],
    ["options that are null", (cx: TaskContext<unknown>, queue: Queue<Item, unknown>, task: Task<Item>) => cx.enqueueOnSuccess(queue, task, { n: 2 }, null as never), /options object/],
    ["a queue that is not a Queue", (cx: TaskContext<unknown>, _queue: Queue<Item, unknown>, task: Task<Item>) => cx.enqueueOnSuccess({ name: "children" } as never, task, { n: 2 }), /expects a Queue/],
  ])("refuses %s and fails the attempt, writing no follow-up", async (_label, call, message) => {
    const { record, attempts, children, outcomes } = await runOnce(call);
    expect(outcomes).toHaveLength(1);
    expect(outcomes[0]).toBeInstanceOf(ConfigError);
    expect((outcomes[0] as Error).message).toMatch(message);
    expect(record?.state).toBe("failed");
    expect(attempts.at(-1)?.errorMessage).toMatch(message);
    expect(children).toEqual([]);
  });

  it("fails the attempt even when the task does not await the call", async () => {
    const { record, children } = await runOnce(async (cx, queue, task) => {
      void cx.enqueueOnSuccess(queue, task, { n: 2 }, { dely: 5 } as never).catch(() => {});
    });
    expect(record?.state).toBe("failed");
    expect(children).toEqual([]);
  });

  it("writes the follow-up when the arguments are right", async () => {
    const { record, children } = await runOnce((cx, queue, task) => cx.enqueueOnSuccess(queue, task, { n: 2 }, { delayMs: 0, correlationId: null }));
    expect(record?.state).toBe("succeeded");
    expect(children.map((task) => task.input)).toEqual([{ n: 2 }]);
  });
});
