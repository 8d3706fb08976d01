// cx.state: the object given to the builder's .state(...), handed to every step of every run in
// this process as is (the same object, never serialized or stored).
import { ConfigError } from "@underway/core";
import type { PgQueryable } from "@underway/queue-pg";
import { describe, expect, it } from "vitest";
import { Job, To } from "../src/index.js";
import { useJobTestDatabase } from "./support/job-test-database.js";

const testDatabase = useJobTestDatabase();

/** State no JSON round trip could keep: a class instance with a Map and a function. */
class Mailer {
  readonly sent = new Map<string, number>();
  send(to: string): number {
    const count = (this.sent.get(to) ?? 0) + 1;
    this.sent.set(to, count);
    return count;
  }
}

describe("cx.state", () => {
  it("is the very object given to .state(...), shared by every step of every run", async () => {
    const state = { mailer: new Mailer() };
    const seenStates: unknown[] = [];
    const job = await Job.builder<PgQueryable>()
      .state(state)
      .step(async (cx, { to }: { to: string }) => {
        seenStates.push(cx.state);
        return To.next({ to, firstSend: cx.state.mailer.send(to) });
      })
      .step(async (cx, { to, firstSend }: { to: string; firstSend: number }) => {
        seenStates.push(cx.state);
        return To.done({ firstSend, secondSend: cx.state.mailer.send(to) });
      })
      .name("stateful-mailer")
      .storage(testDatabase.db.storage)
      .build();

    const first = await job.enqueue({ to: "ferris@example.com" });
    const handle = job.start({ worker: { pollIntervalMs: 1_000 } });
    testDatabase.handles.push(handle);
    // Each step sees what the steps before it did to the state, in this run and in earlier runs.
    await expect(first.result({ timeoutMs: 20_000 })).resolves.toEqual({ firstSend: 1, secondSend: 2 });
    const second = await job.enqueue({ to: "ferris@example.com" });
    await expect(second.result({ timeoutMs: 20_000 })).resolves.toEqual({ firstSend: 3, secondSend: 4 });
    await handle.shutdown();

    expect(seenStates).toHaveLength(4);
    for (const seen of seenStates) expect(seen).toBe(state);
    expect(state.mailer.sent.get("ferris@example.com")).toBe(4);
    // Not persisted: the stored steps hold their inputs only.
    const stored = await testDatabase.db.storage.taskList({ queueName: job.name });
    expect(stored).toHaveLength(4);
    expect(JSON.stringify(stored.map((task) => task.input))).not.toContain("mailer");
  });

  it("is undefined in the steps of a job built without .state(...)", async () => {
    const job = await Job.builder<PgQueryable>()
      .step(async (cx) => To.done({ stateIsUndefined: cx.state === undefined }))
      .name("stateless")
      .storage(testDatabase.db.storage)
      .build();
    const run = await job.enqueue(undefined);
    const handle = job.start({ worker: { pollIntervalMs: 1_000 } });
    testDatabase.handles.push(handle);
    await expect(run.result({ timeoutMs: 20_000 })).resolves.toEqual({ stateIsUndefined: true });
    await handle.shutdown();
  });

  it("must be given before the first step", () => {
    const builder = Job.builder<PgQueryable>().step(async () => To.done()) as unknown as { state(state: unknown): unknown };
    expect(() => builder.state({ late: true })).toThrow(ConfigError);
  });
});
