import { ConfigError, StorageError } from "@underway/core";
import { PgStorage } from "@underway/queue-pg";
import { createPgliteStorage, type TestDatabase } from "@underway/queue-pg/testing";
import type pg from "pg";
import { describe, expect, it } from "vitest";
import { countingQueries } from "./support/counting-queries.js";
import { useNoteTable } from "./support/note-table.js";
import { waitForRunningStatement } from "./support/running-statement.js";

const table = useNoteTable();
const notes = () => table.notes();

type Group = ReturnType<TestDatabase["storage"]["transactionOpenGroup"]>;

/** A member of `group` that writes the note `body` and keeps it. */
async function keepNote(group: Group, body: string): Promise<void> {
  const member = group.member();
  await member.tx.query("insert into note (body) values ($1)", [body]);
  await member.commit();
}

it("commits the members that kept their work and none of the one that rolled back", async () => {
  const group = table.database.storage.transactionOpenGroup();
  await keepNote(group, "a");
  const second = group.member();
  await second.tx.query("insert into note (body) values ($1)", ["b"]);
  await second.rollback();
  const idle = group.member();
  await idle.commit();
  await keepNote(group, "c");
  expect(await notes()).toEqual([]);
  await group.commit();
  expect(await notes()).toEqual(["a", "c"]);
  expect(group.isEnded).toBe(true);
  expect(() => group.member()).toThrow(StorageError);
});

it("lets a member recover from its own failed statement without touching the others", async () => {
  const group = table.database.storage.transactionOpenGroup();
  await keepNote(group, "kept");
  const failing = group.member();
  await failing.tx.query("insert into note (body) values ($1)", ["lost"]);
  await expect(failing.tx.query("insert into note (body) values ($1)", ["kept"])).rejects.toMatchObject({ code: "23505" });
  await failing.rollback();
  await keepNote(group, "last");
  await group.tx.query("insert into note (body) values ($1)", ["group"]);
  await group.commit();
  expect(await notes()).toEqual(["group", "kept", "last"]);
});

it("discards the whole group, earlier members included, when a member is discarded", async () => {
  const group = table.database.storage.transactionOpenGroup();
  await keepNote(group, "earlier");
  const stopped = group.member();
  await stopped.tx.query("insert into note (body) values ($1)", ["stopped"]);
  await stopped.discard(new Error("timed out"));
  await expect(stopped.tx.query("select 1")).rejects.toBeInstanceOf(StorageError);
  expect(group.isEnded).toBe(true);
  expect(() => group.member()).toThrow(StorageError);
  await group.commit();
  expect(await notes()).toEqual([]);
});

it("refuses a second member while the first is still running", async () => {
  const group = table.database.storage.transactionOpenGroup();
  const running = group.member();
  await running.tx.query("select 1");
  expect(() => group.member()).toThrow(/still running/);
  await running.rollback();
  await group.rollback();
});

it("is a pg.Pool feature: PGlite says so with a ConfigError", async () => {
  const embedded = await createPgliteStorage();
  try {
    expect(embedded.storage.capabilities.groupCommit).toBe(false);
    expect(() => embedded.storage.transactionOpenGroup()).toThrow(ConfigError);
  } finally {
    await embedded.close();
  }
  expect(new PgStorage(table.database.pool).capabilities.groupCommit).toBe(true);
});

describe("a member's savepoint travels with its first parameterised statement", () => {
  it("in one query on the connection per member (the first one's carries BEGIN too), then COMMIT", async () => {
    const { queries } = await countingQueries(table.database.pool, async () => {
      const group = table.database.storage.transactionOpenGroup();
      for (const body of ["a", "b", "c"]) await keepNote(group, body);
      await group.commit();
    });
    expect(queries).toBe(3 + 1);
    expect(await notes()).toEqual(["a", "b", "c"]);
  });

  it("a named (prepared) first statement travels with the savepoint too, parsed once on the connection", async () => {
    const insertNote = (body: string) => ({ name: "group_note_insert", text: "insert into note (body) values ($1)", values: [body] });
    const { queries } = await countingQueries(table.database.pool, async () => {
      const group = table.database.storage.transactionOpenGroup();
      for (const body of ["a", "b", "c"]) {
        const member = group.member();
        await (member.tx as unknown as pg.ClientBase).query(insertNote(body));
        await member.commit();
      }
      const prepared = await group.tx.query("select count(*)::int as count from pg_prepared_statements where name = 'group_note_insert'");
      expect(prepared.rows[0].count).toBe(1);
      await group.commit();
    });
    expect(queries).toBe(3 + 1 + 1);
    expect(await notes()).toEqual(["a", "b", "c"]);
  });

  it("a first statement that fails leaves the savepoint made: rolling back undoes only that member", async () => {
    const group = table.database.storage.transactionOpenGroup();
    await keepNote(group, "kept");
    const failing = group.member();
    await expect(failing.tx.query("insert into note (body) values ($1)", ["kept"])).rejects.toMatchObject({ code: "23505" });
    await failing.rollback();
    await keepNote(group, "last");
    await group.commit();
    expect(await notes()).toEqual(["kept", "last"]);
  });

  it("a first statement whose value cannot be sent fails alone, and the group goes on", async () => {
    const group = table.database.storage.transactionOpenGroup();
    const unsendable = { toPostgres: () => { throw new Error("cannot serialise"); } };
    const failing = group.member();
    await expect(failing.tx.query("insert into note (body) values ($1)", [unsendable])).rejects.toThrow("cannot serialise");
    await failing.rollback();
    await keepNote(group, "after");
    await group.commit();
    expect(await notes()).toEqual(["after"]);
  });

  it("a savepoint that cannot be made fails the member's statement, and the group cannot commit", async () => {
    const group = table.database.storage.transactionOpenGroup();
    const careless = group.member();
    await careless.tx.query("insert into note (body) values ($1)", ["x"]);
    await expect(careless.tx.query("insert into note (body) values ($1)", ["x"])).rejects.toMatchObject({ code: "23505" });
    // Keeping work after a failed statement leaves the shared transaction aborted.
    await careless.commit();
    const next = group.member();
    await expect(next.tx.query("insert into note (body) values ($1)", ["y"])).rejects.toMatchObject({ code: "25P02" });
    await expect(next.tx.query("select 1")).rejects.toBeInstanceOf(StorageError);
    await next.rollback();
    await expect(group.commit()).rejects.toBeInstanceOf(StorageError);
    expect(await notes()).toEqual([]);
  });

  it("query configs (rowMode, types) and statements without values answer as on a plain client", async () => {
    const group = table.database.storage.transactionOpenGroup();
    const configured = group.member();
    const arrays = await configured.tx.query({ text: "select $1::int + 1 as n", values: [41], rowMode: "array" } as never);
    expect(arrays.rows).toEqual([[42]]);
    await configured.commit();
    const plain = group.member();
    const multi = await plain.tx.query("insert into note (body) values ('p'); select count(*)::int as n from note");
    expect((multi as unknown as Array<{ rows: unknown[] }>)[1]!.rows).toEqual([{ n: 1 }]);
    await plain.commit();
    await group.commit();
    expect(await notes()).toEqual(["p"]);
  });
});

it("discarding a member whose first statement still runs ends it at once, with the group", async () => {
  const group = table.database.storage.transactionOpenGroup();
  await keepNote(group, "earlier");
  const sleeper = group.member();
  const sleeping = sleeper.tx.query("select pg_sleep($1)", [60]);
  sleeping.catch(() => undefined);
  await waitForRunningStatement(table.database, "select pg_sleep");
  await sleeper.discard(new Error("attempt timed out"));
  await expect(sleeping).rejects.toThrow();
  expect(group.isEnded).toBe(true);
  await group.commit();
  expect(await notes()).toEqual([]);
});
