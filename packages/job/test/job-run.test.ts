// job.run(): runs the job's worker and scheduler, and settles only once they are shut down.
import type { Logger } from "@underway/core";
import type { PgQueryable } from "@underway/queue-pg";
import { createTestDatabase, type TestDatabase } from "@underway/queue-pg/testing";
import { gracefulShutdown } from "@underway/worker";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { waitFor } from "../../../test/support/source-process.js";
import { Job, To, ZonedSchedule } from "../src/index.js";

let db: TestDatabase;

beforeAll(async () => {
  db = await createTestDatabase();
});

afterAll(async () => {
  await db?.drop();
});

/** A logger that keeps every info message, to see what the scheduler it is given did. */
function recordingLogger(): Logger & { infos: string[] } {
  const infos: string[] = [];
  return { infos, debug: () => undefined, info: (_fields, message) => void infos.push(message), warn: () => undefined, error: () => undefined };
}

describe("Job.run", () => {
  it("runs enqueued and scheduled runs until gracefulShutdown stops the job's queue, then resolves", async () => {
    const storage = db.storage;
    const sources: string[] = [];
    const job = await Job.builder<PgQueryable>()
      .step(async (_cx, { source }: { source: string }) => {
        sources.push(source);
        return To.done(source);
      })
      .name("job-run")
      .storage(storage)
      .build();
    await job.schedule(ZonedSchedule.parse("* * * * * *[UTC]"), { source: "schedule" });

    // The worker and the scheduler each subscribe to storage events; a shutdown request sent
    // before both subscriptions are live would not reach them.
    const subscribe = vi.spyOn(storage, "subscribe");
    const schedulerLogger = recordingLogger();
    let settled = false;
    const running = job.run({ worker: { pollIntervalMs: 1_000 }, scheduler: { logger: schedulerLogger } }).then((value) => {
      settled = true;
      return value;
    });
    try {
      await waitFor(() => subscribe.mock.results.length >= 2, { message: "the worker's and the scheduler's subscriptions" });
      await Promise.all(subscribe.mock.results.slice(0, 2).map((result) => result.value));

      const enqueued = await job.enqueue({ source: "enqueue" });
      await expect(enqueued.result({ timeoutMs: 20_000 })).resolves.toBe("enqueue");
      await waitFor(() => sources.includes("schedule"), { timeoutMs: 15_000, message: "a scheduled run" });
      expect(schedulerLogger.infos).toContain("Scheduler is now the leader");

      // A shutdown of another queue leaves this job running: a run enqueued afterwards completes.
      await gracefulShutdown(storage, { queue: "some-other-job" });
      const afterOtherShutdown = await job.enqueue({ source: "after another queue's shutdown" });
      await expect(afterOtherShutdown.result({ timeoutMs: 20_000 })).resolves.toBe("after another queue's shutdown");
      expect(settled).toBe(false);

      await gracefulShutdown(storage, { queue: job.name });
      await expect(running).resolves.toBeUndefined();
      expect(schedulerLogger.infos).toContain("Shutdown requested through the storage");
      expect(schedulerLogger.infos).toContain("Scheduler stopped");
    } finally {
      subscribe.mockRestore();
      if (!settled) {
        await gracefulShutdown(storage, { queue: job.name });
        await running;
      }
    }
  });
});

