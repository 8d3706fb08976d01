import fc from "fast-check";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ConfigError, Queue, RetryPolicy, TASK_DEFAULTS, type StorageAdapter, type Task } from "@underway/core";
import { MemoryStorage } from "@underway/core/testing";
import { Job, To } from "@underway/job";
import { PgStorage, runMigrations } from "@underway/queue-pg";
import { createTestDatabase, type TestDatabase } from "@underway/queue-pg/testing";
import { Scheduler, ScheduleParseError, ZonedSchedule } from "@underway/scheduler";
import { Worker } from "@underway/worker";
import { outcomeOf, recordUnhandledRejections } from "./support/outcome.js";

const unhandledRejections = recordUnhandledRejections();
const noop: Task<unknown> = { execute: () => undefined };

/** Numbers a careless caller might pass as a duration, priority or count. */
const awkwardNumber = fc.oneof(
  fc.constantFrom(Number.NaN, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY, -1, -0, 0, 0.5, 1e21, 2 ** 31, 2 ** 53, Number.MAX_VALUE, Number.MIN_VALUE),
  fc.integer({ min: -1_000_000, max: 10_000_000 }),
  fc.double(),
);
/** Values of the wrong type altogether. */
const wrongType = fc.constantFrom<unknown>("100", null, {}, [], true, 10n, () => 5, Symbol("x"));
const awkwardValue = fc.oneof(awkwardNumber, wrongType);

const DEFAULTS = { timeoutMs: TASK_DEFAULTS.timeoutMs, ttlMs: TASK_DEFAULTS.ttlMs, delayMs: 0, heartbeatMs: TASK_DEFAULTS.heartbeatMs, priority: 0 };

/** -0 is stored as 0 (the same number); every other value as is. */
function sameNumber(value: unknown): unknown {
  return Object.is(value, -0) ? 0 : value;
}

const SQL_NAMES = ["'; drop table underway.task; --", 'q"; delete from underway.task; --', "q');--", "robert'); drop schema underway cascade;--"];

describe("task settings, enqueue options and retry policies", () => {
  let storage: MemoryStorage;
  let queue: Queue<unknown, unknown>;

  beforeAll(async () => {
    storage = new MemoryStorage();
    queue = await Queue.builder().name("bad-settings").storage(storage).build();
  });

  afterAll(() => {
    expect(unhandledRejections).toEqual([]);
  });

  const rows = async () => (await storage.taskList({ queueName: "bad-settings", limit: 100_000 })).length;

  it.each(["timeoutMs", "ttlMs", "delayMs", "heartbeatMs", "priority"] as const)(
    "%s: any value is snapshotted into the row exactly, or rejected with a ConfigError before anything is written (property)",
    async (setting) => {
      await fc.assert(
        fc.asyncProperty(awkwardValue, fc.boolean(), async (value, asFunction) => {
          const before = await rows();
          const task: Task<unknown> = { ...noop, [setting]: asFunction ? () => value : value };
          const outcome = await outcomeOf(() => queue.enqueue(task, { ok: true }));
          if (outcome.accepted) {
            const record = await storage.taskGet({ taskId: outcome.value });
            // null (like undefined) selects the default; anything else is kept as given.
            // A function is the "per input" form; null (like undefined) selects the default.
            const given = typeof value === "function" ? (value as () => unknown)() : value;
            expect(sameNumber(record?.[setting])).toBe(given === null ? DEFAULTS[setting] : sameNumber(given));
            expect(given === null || Number.isInteger(given)).toBe(true);
            expect(await rows()).toBe(before + 1);
          } else {
            expect(outcome.error).toBeInstanceOf(ConfigError);
            expect(outcome.error.message).toContain(setting);
            expect(await rows()).toBe(before);
          }
        }),
        { numRuns: 120 },
      );
    },
  );

  it("enqueue delayMs: accepted exactly or rejected with a ConfigError, for enqueue and enqueueMany (property)", async () => {
    await fc.assert(
      fc.asyncProperty(awkwardValue, async (delayMs) => {
        const before = await rows();
        const single = await outcomeOf(() => queue.enqueue(noop, {}, { delayMs: delayMs as number }));
        const many = await outcomeOf(() => queue.enqueueMany(noop, [{}, {}], { delayMs: delayMs as number }));
        expect(many.accepted).toBe(single.accepted);
        if (single.accepted) {
          expect(sameNumber((await storage.taskGet({ taskId: single.value }))?.delayMs)).toBe(delayMs === null ? 0 : sameNumber(delayMs));
          expect(await rows()).toBe(before + 3);
        } else {
          expect(single.error).toBeInstanceOf(ConfigError);
          expect(await rows()).toBe(before);
        }
      }),
      { numRuns: 100 },
    );
  });

  it("retry policies: accepted and stored field by field, or rejected with a ConfigError (property)", async () => {
    const policyField = fc.constantFrom("maxAttempts", "initialIntervalMs", "maxIntervalMs", "backoffCoefficient", "jitterFactor");
    await fc.assert(
      fc.asyncProperty(fc.dictionary(policyField, awkwardValue, { maxKeys: 3 }), async (options) => {
        const before = await rows();
        const direct = await outcomeOf(() => new RetryPolicy(options as never));
        const enqueued = await outcomeOf(() => queue.enqueue({ ...noop, retryPolicy: options as never }, {}));
        expect(enqueued.accepted).toBe(direct.accepted);
        if (direct.accepted && enqueued.accepted) {
          expect((await storage.taskGet({ taskId: enqueued.value }))?.retryPolicy).toEqual(direct.value.toJSON());
          expect(await rows()).toBe(before + 1);
        } else {
          expect(direct.accepted ? null : direct.error).toBeInstanceOf(ConfigError);
          expect(await rows()).toBe(before);
        }
      }),
      { numRuns: 200 },
    );
  });

  it("correlation ids: stored exactly, or rejected with a ConfigError before anything is written, for enqueue and enqueueMany (property)", async () => {
    const correlationId = fc.oneof(wrongType, fc.string({ unit: "binary", maxLength: 20 }), fc.constantFrom("", "a\u0000b", "x".repeat(513), "x".repeat(100_000), ...SQL_NAMES));
    await fc.assert(
      fc.asyncProperty(correlationId, async (value) => {
        const before = await rows();
        const single = await outcomeOf(() => queue.enqueue(noop, {}, { correlationId: value as string }));
        const many = await outcomeOf(() => queue.enqueueMany(noop, [{}, {}], { correlationId: value as string }));
        expect(many.accepted).toBe(single.accepted);
        if (single.accepted) {
          expect((await storage.taskGet({ taskId: single.value }))?.correlationId).toBe(value ?? null);
          expect(await rows()).toBe(before + 3);
        } else {
          expect(single.error).toBeInstanceOf(ConfigError);
          expect(single.error.message).toContain("correlationId");
          expect(await rows()).toBe(before);
        }
      }),
      { numRuns: 150 },
    );
  });

  it("retry policies, schemas and options objects of the wrong type are rejected with a ConfigError before anything is written", async () => {
    const before = await rows();
    for (const retryPolicy of ["fast", 5, true, [], 10n]) {
      const outcome = await outcomeOf(() => queue.enqueue({ ...noop, retryPolicy: retryPolicy as never }, {}));
      expect(outcome.accepted ? null : outcome.error.message).toMatch(/retryPolicy/);
      expect((await outcomeOf(() => new RetryPolicy(retryPolicy as never))).accepted).toBe(false);
    }
    expect((await outcomeOf(() => new RetryPolicy(null as never))).accepted).toBe(false);
    for (const schema of [{}, "x", 0, []]) {
      const outcome = await outcomeOf(() => queue.enqueue({ ...noop, schema: schema as never }, {}));
      expect(outcome.accepted ? null : outcome.error.message).toMatch(/schema/);
    }
    for (const call of [
      () => queue.enqueue(noop, {}, null as never),
      () => queue.enqueueMany(noop, [{}], null as never),
      () => queue.cancel("00000000-0000-0000-0000-000000000000", null as never),
      () => queue.retry("00000000-0000-0000-0000-000000000000", null as never),
    ]) {
      const outcome = await outcomeOf(call);
      expect(outcome.accepted ? null : outcome.error).toBeInstanceOf(ConfigError);
    }
    expect(await rows()).toBe(before);
  });

  it("concurrency and dedupe keys made of SQL are stored as data", async () => {
    for (const key of SQL_NAMES) {
      const id = await queue.enqueue({ ...noop, concurrencyKey: key, dedupeKey: `${key}-dedupe` }, {});
      expect(await storage.taskGet({ taskId: id })).toMatchObject({ concurrencyKey: key, dedupeKey: `${key}-dedupe` });
    }
  });
});

describe("Worker, Scheduler, Job and To options", () => {
  let queue: Queue<unknown, unknown>;

  beforeAll(async () => {
    queue = await Queue.builder().name("bad-options").storage(new MemoryStorage()).build();
  });

  it.each(["concurrency", "pollIntervalMs", "shutdownTimeoutMs", "claimBatchSize", "pruneIntervalMs"] as const)(
    "new Worker({ %s }) takes a sane integer or throws a ConfigError at construction (property)",
    async (option) => {
      await fc.assert(
        fc.asyncProperty(awkwardValue, async (value) => {
          const outcome = await outcomeOf(() => new Worker(queue, noop, { [option]: value }));
          if (outcome.accepted) expect(value === null || Number.isInteger(value)).toBe(true);
          else expect(outcome.error).toBeInstanceOf(ConfigError);
        }),
        { numRuns: 60 },
      );
    },
  );

  it.each(["standbyRetryMs", "refreshIntervalMs"] as const)("new Scheduler({ %s }) takes an integer or throws a ConfigError (property)", async (option) => {
    await fc.assert(
      fc.asyncProperty(awkwardValue, async (value) => {
        const outcome = await outcomeOf(() => new Scheduler(queue, noop, { [option]: value }));
        if (outcome.accepted) expect(value === null || Number.isInteger(value)).toBe(true);
        else expect(outcome.error).toBeInstanceOf(ConfigError);
      }),
      { numRuns: 60 },
    );
  });

  it("new Scheduler({ missedFires }) takes skip or a bounded catch-up, else a ConfigError (property)", async () => {
    const policy = fc.oneof(fc.constantFrom<unknown>("skip", "catchUp", "SKIP", null, 3), awkwardValue.map((catchUp) => ({ catchUp })));
    await fc.assert(
      fc.asyncProperty(policy, async (missedFires) => {
        const outcome = await outcomeOf(() => new Scheduler(queue, noop, { missedFires: missedFires as never }));
        if (!outcome.accepted) expect(outcome.error).toBeInstanceOf(ConfigError);
      }),
      { numRuns: 60 },
    );
  });

  it.each(["timeoutMs", "delayMs", "heartbeatMs", "ttlMs", "priority"] as const)(
    "Job.builder().step(...).%s(value) accepts integers in range, else a ConfigError at the call (property)",
    async (option) => {
      await fc.assert(
        fc.asyncProperty(awkwardValue, async (value) => {
          const builder = Job.builder().step(async () => To.done()) as unknown as Record<string, (value: unknown) => unknown>;
          const outcome = await outcomeOf(() => builder[option]!(value));
          if (outcome.accepted) expect(value === null || Number.isInteger(value)).toBe(true);
          else expect(outcome.error).toBeInstanceOf(ConfigError);
        }),
        { numRuns: 60 },
      );
    },
  );

  it("Job.builder().step(...).retryPolicy(...) and .concurrencyKey(...) reject bad values with a ConfigError", async () => {
    const step = () => Job.builder().step(async () => To.done()) as unknown as Record<string, (value: unknown) => unknown>;
    for (const policy of [{ maxAttempts: 0 }, { jitterFactor: 2 }, { initialIntervalMs: Number.NaN }, { backoffCoefficient: Number.POSITIVE_INFINITY }]) {
      const outcome = await outcomeOf(() => step().retryPolicy!(policy));
      expect(outcome.accepted ? null : outcome.error).toBeInstanceOf(ConfigError);
    }
    for (const key of ["", "a\u0000b", "x".repeat(513), 5]) {
      const outcome = await outcomeOf(() => step().concurrencyKey!(key));
      expect(outcome.accepted ? null : outcome.error).toBeInstanceOf(ConfigError);
    }
  });

  it("To.delayFor takes a non-negative integer delay, else a ConfigError (property)", async () => {
    await fc.assert(
      fc.asyncProperty(awkwardValue, async (delayMs) => {
        const outcome = await outcomeOf(() => To.delayFor({ next: true }, delayMs as number));
        if (outcome.accepted) expect(outcome.value.delayMs).toBe(delayMs);
        else expect(outcome.error).toBeInstanceOf(ConfigError);
      }),
      { numRuns: 100 },
    );
  });
});

/** The storage, with the name of every method called on it pushed to `calls`. */
function recordCalls<Tx>(storage: StorageAdapter<Tx>, calls: string[]): StorageAdapter<Tx> {
  return new Proxy(storage, {
    get(target, property, receiver) {
      const value = Reflect.get(target, property, receiver);
      if (typeof value !== "function") return value;
      return (...args: unknown[]) => {
        calls.push(String(property));
        return (value as (...callArgs: unknown[]) => unknown).apply(target, args);
      };
    },
  });
}

describe("names, schema names and schedules on Postgres", () => {
  let db: TestDatabase;

  beforeAll(async () => {
    db = await createTestDatabase({ poolSize: 4 });
  });

  afterAll(async () => {
    await db.drop();
    expect(unhandledRejections).toEqual([]);
  });

  it("queue names: stored as data and read back exactly, or a ConfigError with nothing written (property)", async () => {
    const names = fc.oneof(fc.string({ unit: "binary", maxLength: 140 }), fc.constantFrom(...SQL_NAMES, "", " ", "a b", "\u200b", "é".repeat(128), "é".repeat(129)));
    await fc.assert(
      fc.asyncProperty(names, async (name) => {
        const calls: string[] = [];
        const built = await outcomeOf(() => Queue.builder().name(name).storage(recordCalls(db.storage, calls)).build());
        if (!built.accepted) {
          expect(built.error).toBeInstanceOf(ConfigError);
          expect(calls).toEqual([]);
          return;
        }
        expect(calls).toEqual(["queueUpsert"]);
        const id = await built.value.enqueue(noop, { name });
        const record = await db.storage.taskGet({ taskId: id });
        expect(record).toMatchObject({ queueName: name, input: { name } });
      }),
      { numRuns: 150 },
    );
  });

  it("schema names: plain identifiers only; anything else is a ConfigError before a single statement runs", async () => {
    const statements: string[] = [];
    const recordingPool = new pg.Pool({ connectionString: db.url, max: 1 });
    recordingPool.on("error", () => undefined);
    const realQuery = recordingPool.query.bind(recordingPool) as (...args: unknown[]) => unknown;
    (recordingPool as unknown as { query: (...args: unknown[]) => unknown }).query = (...args: unknown[]) => {
      statements.push(String(typeof args[0] === "string" ? args[0] : (args[0] as { text?: string }).text));
      return realQuery(...args);
    };
    const realConnect = recordingPool.connect.bind(recordingPool);
    let connections = 0;
    (recordingPool as unknown as { connect: () => unknown }).connect = () => {
      connections += 1;
      return realConnect();
    };
    try {
      for (const schema of [...SQL_NAMES, "", "1abc", "has space", "Ü", "a".repeat(64), "public.task", 'x"y']) {
        const migrated = await outcomeOf(() => runMigrations(recordingPool, { schema }));
        expect(migrated.accepted ? null : migrated.error).toBeInstanceOf(ConfigError);
        const constructed = await outcomeOf(() => new PgStorage(recordingPool, { schema }));
        expect(constructed.accepted ? null : constructed.error).toBeInstanceOf(ConfigError);
      }
      expect(statements).toEqual([]);
      expect(connections).toBe(0);
    } finally {
      await recordingPool.end();
    }
  });

  it("schedule texts: ZonedSchedule.parse yields a schedule that round-trips through the storage, or a ScheduleParseError (property)", async () => {
    const queue = await Queue.builder<{ tick: number }>().name("bad-schedules").storage(db.storage).build();
    const field = fc.constantFrom("*", "0", "59", "60", "*/5", "1-5", "5-1", "mon-fri", "L", "?", "#", "-1", "1,2", "a", "");
    const cron = fc.oneof(
      fc.array(field, { minLength: 0, maxLength: 8 }).map((fields) => fields.join(" ")),
      fc.constantFrom("@daily", "@hourly", "@yearly", "@reboot", "@every 5m", "* * * * * * *", ...SQL_NAMES),
      fc.string({ unit: "binary", maxLength: 30 }),
    );
    const zone = fc.oneof(
      fc.constantFrom("UTC", "America/Los_Angeles", "Europe/Berlin", "Asia/Kathmandu", "Mars/Olympus", "utc", "", "+05:00", "Etc/GMT+12", "../../etc/passwd", "'; drop table underway.task_schedule; --"),
      fc.string({ unit: "binary", maxLength: 20 }),
    );
    const text = fc.oneof(fc.tuple(cron, zone).map(([c, z]) => `${c}[${z}]`), cron, fc.string({ unit: "binary", maxLength: 40 }));
    let accepted = 0;
    await fc.assert(
      fc.asyncProperty(text, async (source) => {
        const parsed = await outcomeOf(() => ZonedSchedule.parse(source));
        if (!parsed.accepted) {
          expect(parsed.error).toBeInstanceOf(ScheduleParseError);
          return;
        }
        accepted += 1;
        const schedule = parsed.value;
        expect(ZonedSchedule.parse(schedule.toString()).equals(schedule)).toBe(true);
        const next = schedule.next(new Date("2030-01-01T00:00:00Z"));
        if (next !== null) expect(Number.isNaN(next.getTime())).toBe(false);
        await queue.schedule(schedule, { tick: 1 });
        const stored = await queue.getSchedule();
        expect(stored).toMatchObject({ cron: schedule.cron, timeZone: schedule.timeZone, input: { tick: 1 } });
      }),
      { numRuns: 300 },
    );
    expect(accepted).toBeGreaterThan(0);
  });

  it("queue.schedule rejects objects that are not schedules with a ConfigError and stores nothing", async () => {
    const queue = await Queue.builder<{ tick: number }>().name("bad-schedule-objects").storage(db.storage).build();
    const unparsed = [{ cron: "garbage", timeZone: "Mars/Olympus" }, { cron: "@daily", timeZone: "UTC" }];
    for (const notASchedule of [null, "@daily[UTC]", { cron: 5, timeZone: "UTC" }, { cron: "@daily" }, ...unparsed]) {
      const outcome = await outcomeOf(() => queue.schedule(notASchedule as never, { tick: 1 }));
      expect(outcome.accepted ? null : outcome.error).toBeInstanceOf(ConfigError);
    }
    for (const plain of unparsed) {
      await expect(queue.schedule(plain as never, { tick: 1 })).rejects.toThrow(/ZonedSchedule\.parse\("<cron>\[<zone>\]"\)/);
    }
    expect(await queue.getSchedule()).toBeNull();
  });
});
