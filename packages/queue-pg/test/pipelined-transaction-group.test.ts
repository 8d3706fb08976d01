import { ConfigError, StorageError } from "@underway/core";
import { createPgliteStorage } from "@underway/queue-pg/testing";
import type pg from "pg";
import { expect, it } from "vitest";
import { waitFor } from "../../../test/support/source-process.js";
import { countingQueries } from "./support/counting-queries.js";
import { useNoteTable } from "./support/note-table.js";

const table = useNoteTable();
const notes = () => table.notes();

function openGroup() {
  return table.database.storage.transactionOpenGroup({ pipelined: true });
}

type Member = ReturnType<ReturnType<typeof openGroup>["member"]>;

function insertNote(member: Member, body: string) {
  return member.tx.query("insert into note (body) values ($1)", [body]);
}

/** Counts the socket writes of every client `pool` hands out while `work` runs. */
async function countingWrites<T>(pool: pg.Pool, work: () => Promise<T>): Promise<{ result: T; writes: number }> {
  let writes = 0;
  const restore: Array<() => void> = [];
  const onAcquire = (client: pg.PoolClient) => {
    const stream = (client as unknown as { connection: { stream: Record<string, (...args: unknown[]) => unknown> } }).connection.stream;
    for (const method of ["_write", "_writev"]) {
      const original = stream[method]!;
      stream[method] = (...args: unknown[]) => {
        writes += 1;
        return original.apply(stream, args);
      };
      restore.push(() => (stream[method] = original));
    }
  };
  pool.on("acquire", onAcquire);
  try {
    return { result: await work(), writes };
  } finally {
    pool.off("acquire", onAcquire);
    for (const undo of restore) undo();
  }
}

/** The state of the group's connection as Postgres reports it. */
async function groupConnectionIsIdleInTransaction(): Promise<boolean> {
  const { rows } = await table.database.pool.query("select count(*)::int as n from pg_stat_activity where datname = current_database() and state = 'idle in transaction'");
  return rows[0].n === 1;
}

it("sends the statements members make side by side in one write, and commits every member that kept its work", async () => {
  const { writes } = await countingWrites(table.database.pool, async () => {
    const group = openGroup();
    const members = ["a", "b", "c", "d", "e"].map((body) => ({ body, member: group.member() }));
    await Promise.all(
      members.map(async ({ body, member }) => {
        const result = await insertNote(member, body);
        expect(result.rowCount).toBe(1);
        await member.commit();
      }),
    );
    await group.commit();
  });
  // BEGIN, five savepoints and inserts in one write, then COMMIT.
  expect(writes).toBe(2);
  expect(await notes()).toEqual(["a", "b", "c", "d", "e"]);
});

it("hands a member its answer only once every member that wrote before it has ended", async () => {
  const group = openGroup();
  const first = group.member();
  const second = group.member();
  const order: string[] = [];
  const firstInsert = insertNote(first, "first").then(() => order.push("first answered"));
  const secondInsert = insertNote(second, "second").then(() => order.push("second answered"));
  await firstInsert;
  // Both statements have run on the server; the second one's answer waits for the first member.
  await waitFor(groupConnectionIsIdleInTransaction, { message: "the group's statements ran" });
  await new Promise((resolve) => setImmediate(resolve));
  order.push("first commits");
  await first.commit();
  await secondInsert;
  await second.commit();
  await group.commit();
  expect(order).toEqual(["first answered", "first commits", "second answered"]);
  expect(await notes()).toEqual(["first", "second"]);
});

it("sends the later members' statements again when an earlier member rolls back, and keeps their work", async () => {
  const { queries } = await countingQueries(table.database.pool, async () => {
    const group = openGroup();
    const rolledBack = group.member();
    const later = [group.member(), group.member()];
    const rolledBackInsert = insertNote(rolledBack, "rolled-back");
    const laterDone = later.map(async (member, index) => {
      const result = await insertNote(member, `later-${index}`);
      expect(result.rowCount).toBe(1);
      await member.commit();
    });
    await rolledBackInsert;
    await rolledBack.rollback();
    await Promise.all(laterDone);
    await group.commit();
  });
  expect(await notes()).toEqual(["later-0", "later-1"]);
  // The two later inserts went twice: nested after the rolled-back member, then after its rollback.
  expect(queries).toBe(1 + 2 + 1 + 2 + 1);
});

it("fails a later member's own failing statement alone: the members around it keep their work", async () => {
  const group = openGroup();
  const [first, failing, last] = [group.member(), group.member(), group.member()];
  const firstDone = insertNote(first, "taken").then(() => first.commit());
  const failingDone = insertNote(failing, "taken").then(
    () => "inserted",
    async (error: unknown) => {
      await failing.rollback();
      return (error as { code?: string }).code;
    },
  );
  const lastDone = insertNote(last, "last").then(() => last.commit());
  await firstDone;
  expect(await failingDone).toBe("23505");
  await lastDone;
  await group.commit();
  expect(await notes()).toEqual(["last", "taken"]);
});

it("gives a member that sends more statements the answers it would have had taking turns", async () => {
  const group = openGroup();
  const members = ["a", "b", "c"].map(() => group.member());
  const seen = await Promise.all(
    members.map(async (member, index) => {
      await insertNote(member, `note-${index}`);
      const { rows } = await member.tx.query("select count(*)::int as n from note");
      await insertNote(member, `after-${index}`);
      await member.commit();
      return rows[0].n as number;
    }),
  );
  await group.commit();
  expect(seen).toEqual([1, 3, 5]);
  expect(await notes()).toEqual(["after-0", "after-1", "after-2", "note-0", "note-1", "note-2"]);
});

it("lets a member whose first statement failed roll back while later members' savepoints were never made", async () => {
  await table.database.pool.query("insert into note (body) values ('existing')");
  const group = openGroup();
  const failing = group.member();
  const later = group.member();
  const laterDone = insertNote(later, "later").then(() => later.commit());
  await expect(insertNote(failing, "existing")).rejects.toMatchObject({ code: "23505" });
  // A statement after the failure, with the later member's statement already sent behind it.
  await expect(failing.tx.query("select 1")).rejects.toMatchObject({ code: "25P02" });
  await failing.rollback();
  await laterDone;
  await group.commit();
  expect(await notes()).toEqual(["existing", "later"]);
});

it("sends a statement a member did not wait for before the member commits", async () => {
  const group = openGroup();
  const member = group.member();
  const unawaited = insertNote(member, "unawaited");
  await member.commit();
  expect((await unawaited).rowCount).toBe(1);
  await group.commit();
  expect(await notes()).toEqual(["unawaited"]);
});

it("discards the whole group when a member is discarded: statements still waiting fail, nothing commits", async () => {
  const group = openGroup();
  const kept = group.member();
  await insertNote(kept, "kept");
  await kept.commit();
  const stopped = group.member();
  const waiting = group.member();
  const stoppedInsert = insertNote(stopped, "stopped");
  const waitingInsert = insertNote(waiting, "waiting");
  await stoppedInsert;
  await stopped.discard(new Error("timed out"));
  await expect(waitingInsert).rejects.toBeInstanceOf(StorageError);
  await expect(waiting.commit()).rejects.toBeInstanceOf(StorageError);
  expect(group.isEnded).toBe(true);
  expect(() => group.member()).toThrow(StorageError);
  await expect(group.commit()).rejects.toBeInstanceOf(StorageError);
  expect(await notes()).toEqual([]);
});

it("ends the rollback a later member asked for when the group is discarded before its turn", async () => {
  const group = openGroup();
  const first = group.member();
  const later = group.member();
  const firstInsert = insertNote(first, "first");
  const laterInsert = insertNote(later, "later");
  laterInsert.catch(() => undefined);
  const laterRollback = later.rollback();
  await firstInsert;
  await first.discard(new Error("timed out"));
  await expect(laterRollback).resolves.toBeUndefined();
  await expect(laterInsert).rejects.toBeInstanceOf(StorageError);
  expect(await notes()).toEqual([]);
});

it("refuses to commit while a member has not ended, and then keeps nothing", async () => {
  const group = openGroup();
  const running = group.member();
  await insertNote(running, "running");
  await expect(group.commit()).rejects.toThrow(/has not ended/);
  expect(await notes()).toEqual([]);
});

it("runs the group's own statements once the members have ended, and answers query configs as a client does", async () => {
  const group = openGroup();
  const member = group.member();
  const arrays = await member.tx.query({ text: "select $1::int + 1 as n", values: [41], rowMode: "array" } as never);
  expect(arrays.rows).toEqual([[42]]);
  const plain = await member.tx.query("insert into note (body) values ('plain')");
  expect(plain.rowCount).toBe(1);
  await member.commit();
  const { rows } = await group.tx.query("select count(*)::int as n from note");
  expect(rows[0].n).toBe(1);
  await group.commit();
  expect(await notes()).toEqual(["plain"]);
});

it("is a pg.Pool feature: PGlite says so with a ConfigError", async () => {
  expect(table.database.storage.capabilities.groupPipeline).toBe(true);
  const embedded = await createPgliteStorage();
  try {
    expect(embedded.storage.capabilities.groupPipeline).toBe(false);
    expect(() => embedded.storage.transactionOpenGroup({ pipelined: true })).toThrow(ConfigError);
  } finally {
    await embedded.close();
  }
});
