import { describe, expect, it } from "vitest";
import { z } from "zod";
import { ConfigError, Queue, RetryPolicy, ValidationError, type ScheduleDefinition, type Task } from "../src/index.js";
import { ManualClock, MemoryStorage } from "../src/testing/index.js";

type Signup = { userId: number; email: string };

const sendWelcome: Task<Signup> = {
  execute: () => undefined,
  schema: z.object({ userId: z.number().int().positive(), email: z.string().email() }),
};

/** A parsed schedule as ZonedSchedule gives one (core tests cannot import the scheduler). */
function parsedSchedule(cron: string, timeZone: string): ScheduleDefinition {
  return { cron, timeZone, next: (after = new Date()) => new Date(after.getTime() + 86_400_000) };
}

async function signupQueue(storage = new MemoryStorage()) {
  return Queue.builder<Signup>().name("signups").deadLetterQueue("signups-dlq").storage(storage).build();
}

describe("Queue", () => {
  describe("builder", () => {
    it("registers the queue and its dead-letter queue", async () => {
      const storage = new MemoryStorage();
      const queue = await signupQueue(storage);
      expect(queue.name).toBe("signups");
      expect(queue.deadLetterQueueName).toBe("signups-dlq");
      const claimed = await storage.taskClaim({ queueName: "signups-dlq", limit: 1 });
      expect(claimed).toEqual([]);
    });

    it("requires a name and a storage", async () => {
      await expect(Queue.builder().storage(new MemoryStorage()).build()).rejects.toThrow(/needs a name/);
      await expect(Queue.builder().name("q").build()).rejects.toThrow(/needs a storage/);
      await expect(Queue.builder().name("q").build()).rejects.toBeInstanceOf(ConfigError);
    });

    it("rejects invalid names, a queue that is its own dead-letter queue, and a non-storage", async () => {
      expect(() => Queue.builder().name("bad name")).toThrow(ConfigError);
      expect(() => Queue.builder().deadLetterQueue("")).toThrow(/dead-letter queue name/);
      await expect(Queue.builder().name("q").deadLetterQueue("q").storage(new MemoryStorage()).build()).rejects.toThrow(/own dead-letter/);
      expect(() => Queue.builder().storage({} as never)).toThrow(/storage adapter/);
    });
  });

  describe("enqueue", () => {
    it("writes a task with the task's settings snapshotted", async () => {
      const clock = new ManualClock();
      const storage = new MemoryStorage({ clock });
      const queue = await signupQueue(storage);
      const task: Task<Signup> = { ...sendWelcome, priority: (input) => input.userId, timeoutMs: 5_000, retryPolicy: { maxAttempts: 2 } };
      const id = await queue.enqueue(task, { userId: 3, email: "ada@example.com" });
      expect(await queue.getTask(id)).toMatchObject({
        state: "pending",
        input: { userId: 3, email: "ada@example.com" },
        priority: 3,
        timeoutMs: 5_000,
        retryPolicy: expect.objectContaining({ maxAttempts: 2, initialIntervalMs: 1_000 }),
        runAt: clock.now(),
      });
    });

    it("rejects input that fails the schema with a ValidationError and writes nothing", async () => {
      const storage = new MemoryStorage();
      const queue = await signupQueue(storage);
      const attempt = queue.enqueue(sendWelcome, { userId: -1, email: "not-an-email" });
      await expect(attempt).rejects.toBeInstanceOf(ValidationError);
      await expect(queue.enqueue(sendWelcome, { userId: 1, email: "nope" })).rejects.toThrow(/input\.email failed its schema/);
      expect(await storage.taskList({ queueName: "signups" })).toEqual([]);
    });

    it("rejects input that is not JSON with a ValidationError and writes nothing", async () => {
      const storage = new MemoryStorage();
      const queue = await Queue.builder<unknown>().name("raw").storage(storage).build();
      const task: Task<unknown> = { execute: () => undefined };
      await expect(queue.enqueue(task, { big: 1n })).rejects.toThrow(/input\.big is a BigInt/);
      await expect(queue.enqueue(task, undefined)).rejects.toBeInstanceOf(ValidationError);
      expect(await storage.taskList({ queueName: "raw" })).toEqual([]);
    });

    it("adds delayMs to the task's own delay", async () => {
      const clock = new ManualClock();
      const storage = new MemoryStorage({ clock });
      const queue = await signupQueue(storage);
      const id = await queue.enqueue({ ...sendWelcome, delayMs: 1_000 }, { userId: 1, email: "a@b.co" }, { delayMs: 500 });
      expect((await queue.getTask(id))!.runAt).toEqual(new Date(clock.now().getTime() + 1_500));
      await expect(queue.enqueue(sendWelcome, { userId: 1, email: "a@b.co" }, { delayMs: -1 })).rejects.toBeInstanceOf(ConfigError);
      expect(await storage.taskClaim({ queueName: "signups", limit: 5 })).toEqual([]);
      clock.advance(1_500);
      expect(await storage.taskClaim({ queueName: "signups", limit: 5 })).toHaveLength(1);
    });

    it("rejects an object without execute", async () => {
      const queue = await signupQueue();
      await expect(queue.enqueue({} as Task<Signup>, { userId: 1, email: "a@b.co" })).rejects.toThrow(/execute/);
    });

    it("rejects a schema that is not a Standard Schema with a ConfigError naming it, writing nothing", async () => {
      const storage = new MemoryStorage();
      const queue = await signupQueue(storage);
      for (const schema of [{}, "x", 5, [], { "~standard": {} }, { "~standard": { validate: "no" } }]) {
        const task = { execute: () => undefined, schema } as unknown as Task<Signup>;
        await expect(queue.enqueue(task, { userId: 1, email: "a@b.co" })).rejects.toThrow(ConfigError);
        await expect(queue.enqueue(task, { userId: 1, email: "a@b.co" })).rejects.toThrow(/schema must be a Standard Schema/);
        await expect(queue.enqueueMany(task, [{ userId: 1, email: "a@b.co" }])).rejects.toBeInstanceOf(ConfigError);
      }
      expect(await storage.taskList({ queueName: "signups" })).toEqual([]);
    });

    it("rejects a schema whose validate returns no result with a ConfigError, writing nothing", async () => {
      const storage = new MemoryStorage();
      const queue = await signupQueue(storage);
      const input = { userId: 1, email: "a@b.co" };
      for (const returned of [undefined, null, "ok", 5, Promise.resolve(undefined)]) {
        const schema = { "~standard": { version: 1, vendor: "test", validate: () => returned } };
        const task = { execute: () => undefined, schema } as unknown as Task<Signup>;
        await expect(queue.enqueue(task, input)).rejects.toThrow(ConfigError);
        await expect(queue.enqueue(task, input)).rejects.toThrow(/schema's validate returned no result/);
        await expect(queue.enqueueMany(task, [input])).rejects.toBeInstanceOf(ConfigError);
      }
      await expect(
        queue.enqueue({ execute: () => undefined, schema: { "~standard": { version: 1, vendor: "test", validate: () => undefined } } } as never, input),
      ).rejects.toThrow(/returned no result .*, got undefined$/);
      expect(await storage.taskList({ queueName: "signups" })).toEqual([]);
    });

    it("rejects a retry policy that is not an object with a ConfigError, writing nothing", async () => {
      const storage = new MemoryStorage();
      const queue = await signupQueue(storage);
      for (const retryPolicy of ["fast", 5, true, [], () => "fast"]) {
        const task = { ...sendWelcome, retryPolicy } as unknown as Task<Signup>;
        await expect(queue.enqueue(task, { userId: 1, email: "a@b.co" })).rejects.toThrow(/retryPolicy must be an object/);
      }
      expect(await storage.taskList({ queueName: "signups" })).toEqual([]);
      const id = await queue.enqueue({ ...sendWelcome, retryPolicy: new RetryPolicy({ maxAttempts: 2 }) }, { userId: 1, email: "a@b.co" });
      expect((await queue.getTask(id))!.retryPolicy.maxAttempts).toBe(2);
    });

    it("stores a valid correlation id and rejects any other with a ConfigError, writing nothing", async () => {
      const storage = new MemoryStorage();
      const queue = await signupQueue(storage);
      const input = { userId: 1, email: "a@b.co" };
      const id = await queue.enqueue(sendWelcome, input, { correlationId: "run-1" });
      expect((await queue.getTask(id))!.correlationId).toBe("run-1");
      const many = await queue.enqueueMany(sendWelcome, [input, input], { correlationId: "run-2" });
      expect((await Promise.all(many.map((taskId) => queue.getTask(taskId)))).map((task) => task!.correlationId)).toEqual(["run-2", "run-2"]);
      for (const correlationId of [5, {}, [], true, "", "x".repeat(100_000), "a\u0000b", "\uD800"]) {
        await expect(queue.enqueue(sendWelcome, input, { correlationId: correlationId as never })).rejects.toThrow(/correlationId must/);
        await expect(queue.enqueueMany(sendWelcome, [input], { correlationId: correlationId as never })).rejects.toThrow(/correlationId must/);
        await expect(queue.prepare(sendWelcome, input, { correlationId: correlationId as never })).rejects.toBeInstanceOf(ConfigError);
      }
      expect(await storage.taskList({ queueName: "signups" })).toHaveLength(3);
    });

    it("rejects options that are not an object with a ConfigError, writing nothing", async () => {
      const storage = new MemoryStorage();
      const queue = await signupQueue(storage);
      const input = { userId: 1, email: "a@b.co" };
      for (const options of [null, "tx", 5, []]) {
        await expect(queue.enqueue(sendWelcome, input, options as never)).rejects.toThrow(/enqueue\(\) expects an options object/);
        await expect(queue.enqueueMany(sendWelcome, [input], options as never)).rejects.toThrow(/enqueueMany\(\) expects an options object/);
        await expect(queue.enqueueMany(sendWelcome, [], options as never)).rejects.toBeInstanceOf(ConfigError);
      }
      expect(await storage.taskList({ queueName: "signups" })).toEqual([]);
    });

    it("rejects tx: null with a ConfigError instead of writing outside a transaction, writing nothing", async () => {
      const storage = new MemoryStorage();
      const queue = await signupQueue(storage);
      const input = { userId: 1, email: "a@b.co" };
      await expect(queue.enqueue(sendWelcome, input, { tx: null as never })).rejects.toThrow(ConfigError);
      await expect(queue.enqueue(sendWelcome, input, { tx: null as never })).rejects.toThrow(
        "enqueue(): tx expects a transaction handle; leave it out for none",
      );
      await expect(queue.enqueueMany(sendWelcome, [input], { tx: null as never })).rejects.toThrow(/enqueueMany\(\): tx expects a transaction handle/);
      await expect(queue.enqueueMany(sendWelcome, [], { tx: null as never })).rejects.toBeInstanceOf(ConfigError);
      expect(await storage.taskList({ queueName: "signups" })).toEqual([]);
    });

    it("returns the existing id for a matching dedupe key", async () => {
      const queue = await signupQueue();
      const task: Task<Signup> = { ...sendWelcome, dedupeKey: (input) => `user-${input.userId}` };
      const first = await queue.enqueue(task, { userId: 9, email: "a@b.co" });
      expect(await queue.enqueue(task, { userId: 9, email: "c@d.co" })).toBe(first);
      expect(await queue.enqueue(task, { userId: 10, email: "c@d.co" })).not.toBe(first);
    });

    it("writes inside the caller's transaction", async () => {
      const storage = new MemoryStorage();
      const queue = await signupQueue(storage);
      const transaction = storage.transactionOpen();
      const id = await queue.enqueue(sendWelcome, { userId: 1, email: "a@b.co" }, { tx: transaction.tx });
      expect(await queue.getTask(id)).toBeNull();
      await transaction.commit();
      expect(await queue.getTask(id)).not.toBeNull();
    });
  });

  describe("enqueueMany", () => {
    it("writes every input, in order, with a shared extra delay", async () => {
      const clock = new ManualClock();
      const storage = new MemoryStorage({ clock });
      const queue = await signupQueue(storage);
      const inputs = [1, 2, 3].map((userId) => ({ userId, email: `u${userId}@example.com` }));
      const ids = await queue.enqueueMany(sendWelcome, inputs, { delayMs: 2_000 });
      const tasks = await Promise.all(ids.map((id) => queue.getTask(id)));
      expect(tasks.map((task) => task!.input)).toEqual(inputs);
      expect(tasks.every((task) => task!.runAt.getTime() === clock.now().getTime() + 2_000)).toBe(true);
      expect(await queue.enqueueMany(sendWelcome, [])).toEqual([]);
    });

    it("writes nothing when one input is invalid", async () => {
      const storage = new MemoryStorage();
      const queue = await signupQueue(storage);
      const inputs = [
        { userId: 1, email: "a@b.co" },
        { userId: 2, email: "broken" },
        { userId: 3, email: "c@d.co" },
      ];
      await expect(queue.enqueueMany(sendWelcome, inputs)).rejects.toBeInstanceOf(ValidationError);
      expect(await storage.taskList({ queueName: "signups" })).toEqual([]);
    });

    it("rejects a non-array", async () => {
      const queue = await signupQueue();
      await expect(queue.enqueueMany(sendWelcome, "nope" as never)).rejects.toBeInstanceOf(ConfigError);
    });
  });

  describe("cancel and schedule", () => {
    it("cancels a pending task once", async () => {
      const queue = await signupQueue();
      const id = await queue.enqueue(sendWelcome, { userId: 1, email: "a@b.co" });
      expect(await queue.cancel(id)).toBe(true);
      expect((await queue.getTask(id))!.state).toBe("cancelled");
      expect(await queue.cancel(id)).toBe(false);
    });

    it("stores, replaces and removes the queue's schedule", async () => {
      const queue = await signupQueue();
      await queue.schedule(parsedSchedule("@daily", "Europe/Paris"), { userId: 1, email: "a@b.co" }, { task: sendWelcome });
      expect(await queue.getSchedule()).toMatchObject({ cron: "@daily", timeZone: "Europe/Paris", input: { userId: 1, email: "a@b.co" } });
      await expect(queue.schedule(parsedSchedule("@daily", "UTC"), { userId: 0, email: "x" }, { task: sendWelcome })).rejects.toBeInstanceOf(ValidationError);
      await expect(queue.schedule({} as never, { userId: 1, email: "a@b.co" })).rejects.toBeInstanceOf(ConfigError);
      expect((await queue.getSchedule())!.timeZone).toBe("Europe/Paris");
      expect(await queue.unschedule()).toBe(true);
      expect(await queue.getSchedule()).toBeNull();
    });

    it("refuses a plain { cron, timeZone } object, which nothing has parsed, with a ConfigError and stores nothing", async () => {
      const queue = await signupQueue();
      const input = { userId: 1, email: "a@b.co" };
      for (const plain of [{ cron: "garbage", timeZone: "Mars/Olympus" }, { cron: "@daily", timeZone: "UTC" }]) {
        const attempt = queue.schedule(plain as never, input);
        await expect(attempt).rejects.toBeInstanceOf(ConfigError);
        await expect(queue.schedule(plain as never, input)).rejects.toThrow(/ZonedSchedule\.parse\("<cron>\[<zone>\]"\)/);
      }
      for (const notASchedule of [null, undefined, "@daily[UTC]", { cron: "@daily", timeZone: "UTC", next: "soon" }]) {
        await expect(queue.schedule(notASchedule as never, input)).rejects.toBeInstanceOf(ConfigError);
      }
      expect(await queue.getSchedule()).toBeNull();
    });

    it("rejects options that are not an object in cancel, schedule and unschedule with a ConfigError, changing nothing", async () => {
      const queue = await signupQueue();
      const id = await queue.enqueue(sendWelcome, { userId: 1, email: "a@b.co" });
      for (const options of [null, "tx", []]) {
        await expect(queue.cancel(id, options as never)).rejects.toThrow(/cancel\(\) expects an options object/);
        await expect(queue.schedule(parsedSchedule("@daily", "UTC"), { userId: 1, email: "a@b.co" }, options as never)).rejects.toBeInstanceOf(ConfigError);
        await expect(queue.unschedule(options as never)).rejects.toBeInstanceOf(ConfigError);
      }
      expect((await queue.getTask(id))!.state).toBe("pending");
      expect(await queue.getSchedule()).toBeNull();
    });
  });

  describe("task ids", () => {
    it("finds, cancels and reads the attempts of a task by its id in upper case", async () => {
      const storage = new MemoryStorage();
      const queue = await signupQueue(storage);
      const id = await queue.enqueue(sendWelcome, { userId: 1, email: "a@b.co" });
      const running = await queue.enqueue(sendWelcome, { userId: 2, email: "c@d.co" });
      await storage.taskClaim({ queueName: "signups", limit: 1 });
      expect(await queue.getTask(id.toUpperCase())).toMatchObject({ id, state: "in_progress" });
      expect(await queue.getAttempts(id.toUpperCase())).toEqual([expect.objectContaining({ taskId: id, attemptNumber: 1 })]);
      expect(await queue.cancel(running.toUpperCase())).toBe(true);
      expect(await queue.getTask(running)).toMatchObject({ id: running, state: "cancelled" });
    });

    it("rejects a task id that is not a string with a ConfigError, changing nothing", async () => {
      const queue = await signupQueue();
      const id = await queue.enqueue(sendWelcome, { userId: 1, email: "a@b.co" });
      for (const taskId of [5, {}, null, undefined, [id], new String(id)]) {
        await expect(queue.getTask(taskId as never)).rejects.toThrow(ConfigError);
        await expect(queue.getAttempts(taskId as never)).rejects.toThrow(/getAttempts\(\) expects a task id \(a UUID string\), got /);
        await expect(queue.cancel(taskId as never)).rejects.toThrow(/cancel\(\) expects a task id/);
        await expect(queue.retry(taskId as never)).rejects.toThrow(/retry\(\) expects a task id/);
      }
      await expect(queue.getTask(5 as never)).rejects.toThrow("getTask() expects a task id (a UUID string), got number 5");
      expect((await queue.getTask(id))!.state).toBe("pending");
    });

    it("finds nothing for a string that is not a UUID, and changes nothing", async () => {
      const queue = await signupQueue();
      const id = await queue.enqueue(sendWelcome, { userId: 1, email: "a@b.co" });
      for (const taskId of ["", "nope", `${id} `, id.replace(/-/g, ""), `{${id}}`]) {
        expect(await queue.getTask(taskId)).toBeNull();
        expect(await queue.getAttempts(taskId)).toEqual([]);
        expect(await queue.cancel(taskId)).toBe(false);
        expect(await queue.retry(taskId)).toBe(false);
      }
      expect((await queue.getTask(id))!.state).toBe("pending");
    });

    it("rejects tx: null in cancel, retry, schedule and unschedule with a ConfigError, changing nothing", async () => {
      const queue = await signupQueue();
      const id = await queue.enqueue(sendWelcome, { userId: 1, email: "a@b.co" });
      await queue.schedule(parsedSchedule("@daily", "UTC"), { userId: 1, email: "a@b.co" });
      const tx = { tx: null as never };
      await expect(queue.cancel(id, tx)).rejects.toThrow("cancel(): tx expects a transaction handle; leave it out for none");
      await expect(queue.retry(id, tx)).rejects.toThrow(/retry\(\): tx expects a transaction handle/);
      await expect(queue.schedule(parsedSchedule("@hourly", "UTC"), { userId: 2, email: "c@d.co" }, tx)).rejects.toThrow(/schedule\(\): tx expects/);
      await expect(queue.unschedule(tx)).rejects.toThrow(/unschedule\(\): tx expects/);
      for (const call of [() => queue.cancel(id, tx), () => queue.retry(id, tx), () => queue.unschedule(tx)]) await expect(call()).rejects.toBeInstanceOf(ConfigError);
      expect((await queue.getTask(id))!.state).toBe("pending");
      expect(await queue.getSchedule()).toMatchObject({ cron: "@daily", input: { userId: 1 } });
    });
  });

  describe("retry", () => {
    async function deadLettered(queue: Queue<Signup, unknown>, storage: MemoryStorage): Promise<string> {
      const id = await queue.enqueue(sendWelcome, { userId: 1, email: "a@b.co" });
      const claimed = (await storage.taskClaim({ queueName: queue.name, limit: 100 })).find((task) => task.id === id);
      await storage.taskFail({ queueName: queue.name, taskId: id, attempt: claimed!.attempt, errorMessage: "mailbox full" });
      return id;
    }

    it("brings a dead-lettered task back with one more attempt by default, or as many as asked", async () => {
      const clock = new ManualClock();
      const storage = new MemoryStorage({ clock });
      const queue = await signupQueue(storage);
      const id = await deadLettered(queue, storage);
      expect(await queue.getTask(id)).toMatchObject({ state: "failed", queueName: "signups-dlq", deadLetteredFrom: "signups" });
      expect(await queue.retry(id)).toBe(true);
      expect(await queue.getTask(id)).toMatchObject({ state: "pending", queueName: "signups", runAt: clock.now(), retryPolicy: { maxAttempts: 2 } });
      expect(await queue.retry(id)).toBe(false);

      const later = await deadLettered(queue, storage);
      expect(await queue.retry(later, { attempts: 3, delayMs: 60_000 })).toBe(true);
      expect(await queue.getTask(later)).toMatchObject({ runAt: new Date(clock.now().getTime() + 60_000), retryPolicy: { maxAttempts: 4 } });
    });

    it("rejects invalid attempts and delays with a ConfigError, changing nothing", async () => {
      const storage = new MemoryStorage();
      const queue = await signupQueue(storage);
      const id = await deadLettered(queue, storage);
      for (const options of [{ attempts: 0 }, { attempts: 2.5 }, { attempts: "3" as never }, { delayMs: -1 }, { delayMs: Number.NaN }]) {
        await expect(queue.retry(id, options)).rejects.toBeInstanceOf(ConfigError);
      }
      for (const options of [null, "3", 3, []]) {
        await expect(queue.retry(id, options as never)).rejects.toThrow(/retry\(\) expects an options object/);
      }
      expect((await queue.getTask(id))!.state).toBe("failed");
    });
  });
});
