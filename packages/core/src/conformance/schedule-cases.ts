import { describe, expect, it } from "vitest";
import type { ConformanceFixture } from "./conformance-fixture.js";

/** Schedules: one per queue, replaced by upsert; each occurrence fires once, whoever fires it. */
export function scheduleCases<Tx>(f: ConformanceFixture<Tx>): void {
  describe("schedules", () => {
    it("creates, reads, replaces and deletes the schedule of a queue", async () => {
      expect(await f.storage.scheduleGet({ queueName: f.queueName })).toBeNull();
      const createdAt = f.clock.now();
      await f.storage.scheduleUpsert({ queueName: f.queueName, cron: "@daily", timeZone: "America/Los_Angeles", input: { report: "sales" } });
      expect(await f.storage.scheduleGet({ queueName: f.queueName })).toMatchObject({
        queueName: f.queueName,
        cron: "@daily",
        timeZone: "America/Los_Angeles",
        input: { report: "sales" },
        createdAt,
        updatedAt: createdAt,
        lastFiredAt: null,
      });

      f.clock.advance(1_000);
      await f.storage.scheduleUpsert({ queueName: f.queueName, cron: "0 9 * * 1-5", timeZone: "UTC", input: [1, 2] });
      expect(await f.storage.scheduleGet({ queueName: f.queueName })).toMatchObject({
        cron: "0 9 * * 1-5",
        timeZone: "UTC",
        input: [1, 2],
        createdAt,
        updatedAt: f.clock.now(),
      });

      expect(await f.storage.scheduleDelete({ queueName: f.queueName })).toBe(true);
      expect(await f.storage.scheduleGet({ queueName: f.queueName })).toBeNull();
      expect(await f.storage.scheduleDelete({ queueName: f.queueName })).toBe(false);
    });

    it("keeps schedules of different queues apart", async () => {
      const other = await f.otherQueue("other");
      await f.storage.scheduleUpsert({ queueName: f.queueName, cron: "@hourly", timeZone: "UTC", input: "mine" });
      await f.storage.scheduleUpsert({ queueName: other, cron: "@daily", timeZone: "UTC", input: "theirs" });
      await f.storage.scheduleDelete({ queueName: other });
      expect(await f.storage.scheduleGet({ queueName: f.queueName })).toMatchObject({ input: "mine" });
    });

    it("fires each occurrence exactly once under parallel calls, and advances lastFiredAt", async () => {
      const storedAt = f.clock.now();
      await f.storage.scheduleUpsert({ queueName: f.queueName, cron: "* * * * *", timeZone: "UTC", input: { tick: true } });
      f.clock.advance(1_000);
      const fireAt = new Date(Math.floor(f.clock.now().getTime() / 60_000) * 60_000);
      const outcomes = await Promise.all(
        Array.from({ length: 10 }, () => f.storage.scheduleFire({ queueName: f.queueName, fireAt, task: f.newTask({ input: { tick: true } }) })),
      );
      const fired = outcomes.filter((outcome) => outcome.fired);
      expect(fired).toHaveLength(1);
      expect(outcomes.filter((outcome) => !outcome.fired).every((outcome) => outcome.taskId === null)).toBe(true);
      const listed = await f.storage.taskList({ queueName: f.queueName });
      expect(listed.map((task) => task.id)).toEqual([fired[0]!.taskId]);
      expect(listed[0]).toMatchObject({ state: "pending", input: { tick: true }, scheduledFor: fireAt });
      expect((await f.storage.scheduleGet({ queueName: f.queueName }))!.lastFiredAt).toEqual(fireAt);

      const next = new Date(fireAt.getTime() + 60_000);
      expect((await f.storage.scheduleFire({ queueName: f.queueName, fireAt: next, task: f.newTask() })).fired).toBe(true);
      expect((await f.storage.scheduleFire({ queueName: f.queueName, fireAt, task: f.newTask() })).fired).toBe(false);
      // Firing records lastFiredAt alone: updatedAt stays the time the schedule was last written.
      expect(await f.storage.scheduleGet({ queueName: f.queueName })).toMatchObject({ lastFiredAt: next, createdAt: storedAt, updatedAt: storedAt });
      expect(await f.storage.taskList({ queueName: f.queueName })).toHaveLength(2);
    });

    it("takes an occurrence without writing its task while a live task holds the task's dedupe key", async () => {
      await f.storage.scheduleUpsert({ queueName: f.queueName, cron: "* * * * *", timeZone: "UTC", input: {} });
      const minute = Math.floor(f.clock.now().getTime() / 60_000) * 60_000;
      const holder = await f.enqueueOne({ dedupeKey: "nightly" });
      const first = f.newTask({ dedupeKey: "nightly" });
      const fireAt = new Date(minute);
      expect(await f.storage.scheduleFire({ queueName: f.queueName, fireAt, task: first })).toEqual({
        fired: true,
        taskId: holder.id,
        deduplicated: true,
      });
      expect(await f.task(first.id)).toBeNull();
      expect((await f.storage.scheduleGet({ queueName: f.queueName }))!.lastFiredAt).toEqual(fireAt);
      // The occurrence is taken: firing it again writes nothing, even once the key is free.
      await f.storage.taskComplete(f.ref(await f.claimOne()));
      expect(await f.storage.scheduleFire({ queueName: f.queueName, fireAt, task: f.newTask({ dedupeKey: "nightly" }) })).toEqual({
        fired: false,
        taskId: null,
        deduplicated: false,
      });
      const next = f.newTask({ dedupeKey: "nightly" });
      expect(await f.storage.scheduleFire({ queueName: f.queueName, fireAt: new Date(minute + 60_000), task: next })).toEqual({
        fired: true,
        taskId: next.id,
        deduplicated: false,
      });
      expect(await f.existingTask(next.id)).toMatchObject({ state: "pending", dedupeKey: "nightly" });
    });

    it("scopes fire keys to the queue", async () => {
      const other = await f.otherQueue("other");
      const fireAt = new Date(Math.floor(f.clock.now().getTime() / 60_000) * 60_000);
      expect((await f.storage.scheduleFire({ queueName: f.queueName, fireAt, task: f.newTask() })).fired).toBe(true);
      expect((await f.storage.scheduleFire({ queueName: other, fireAt, task: f.newTask() })).fired).toBe(true);
    });
  });
}
