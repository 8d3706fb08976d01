import { StorageError } from "@underway/core";
import { PgStorage, underwaySchema } from "@underway/queue-pg";
import { createTestDatabase, type TestDatabase } from "@underway/queue-pg/testing";
import { sql } from "drizzle-orm";
import { drizzle } from "drizzle-orm/node-postgres";
import pg from "pg";
import { afterAll, beforeAll, expect, it } from "vitest";
import { countingQueries } from "./support/counting-queries.js";
import { waitForRunningStatement } from "./support/running-statement.js";
import { newTask, waitFor } from "./support/new-task.js";

let database: TestDatabase;
beforeAll(async () => {
  database = await createTestDatabase({ poolSize: 4 });
  await database.pool.query("create table note (body text not null)");
});
afterAll(() => database?.drop());

/** `tx` as node-postgres' client, whose `query` also takes a config object (a named statement). */
function asClient(tx: unknown): pg.ClientBase {
  return tx as pg.ClientBase;
}

async function backendsInTransaction(): Promise<number> {
  const result = await database.pool.query(
    "select count(*)::int as count from pg_stat_activity where datname = $1 and state like 'idle in transaction%'",
    [database.name],
  );
  return result.rows[0].count;
}

it("sends nothing until the first query, then BEGIN ahead of it; commit releases the client", async () => {
  const transaction = database.storage.transactionOpen();
  expect(transaction.isOpen).toBe(false);
  expect(database.pool.totalCount - database.pool.idleCount).toBe(0);
  await transaction.tx.query("insert into note (body) values ($1)", ["committed"]);
  expect(transaction.isOpen).toBe(true);
  expect(await backendsInTransaction()).toBe(1);
  expect((await database.pool.query("select count(*)::int as count from note where body = 'committed'")).rows[0].count).toBe(0);
  await transaction.commit();
  expect((await database.pool.query("select count(*)::int as count from note where body = 'committed'")).rows[0].count).toBe(1);
  expect(database.pool.totalCount - database.pool.idleCount).toBe(0);
});

it("discard destroys the connection: the writes are gone and a late query rejects", async () => {
  const transaction = database.storage.transactionOpen();
  await transaction.tx.query("insert into note (body) values ($1)", ["discarded"]);
  const pid = (await transaction.tx.query("select pg_backend_pid() as pid")).rows[0].pid;
  const poolSizeBefore = database.pool.totalCount;
  await transaction.discard(new Error("attempt timed out"));
  expect(database.pool.totalCount).toBe(poolSizeBefore - 1);
  await expect(transaction.tx.query("select 1")).rejects.toBeInstanceOf(StorageError);
  await waitFor(async () => {
    const alive = await database.pool.query("select count(*)::int as count from pg_stat_activity where pid = $1", [pid]);
    return alive.rows[0].count === 0;
  }, "the discarded backend to end");
  expect((await database.pool.query("select count(*)::int as count from note where body = 'discarded'")).rows[0].count).toBe(0);
  await expect(transaction.commit()).resolves.toBeUndefined();
});

it("works as a drizzle node-postgres client, together with storage calls in the same transaction", async () => {
  const transaction = database.storage.transactionOpen();
  const db = drizzle(transaction.tx as never);
  await db.execute(sql`insert into note (body) values (${"through drizzle"})`);
  const task = newTask({ via: "drizzle" });
  await database.storage.taskEnqueue({ queueName: "drizzle-tx", tasks: [task], tx: transaction.tx });
  const { task: taskTable } = underwaySchema;
  const rows = await db.select({ id: taskTable.id, state: taskTable.state }).from(taskTable).where(sql`${taskTable.taskQueueName} = 'drizzle-tx'`);
  expect(rows).toEqual([{ id: task.id, state: "pending" }]);
  await transaction.rollback();
  expect(await database.storage.taskGet({ taskId: task.id })).toBeNull();
  expect((await database.pool.query("select count(*)::int as count from note where body = 'through drizzle'")).rows[0].count).toBe(0);
});

it("reports a commit of a transaction aborted by a failed statement as an error, keeping nothing", async () => {
  const transaction = database.storage.transactionOpen();
  await transaction.tx.query("insert into note (body) values ('aborted')");
  await expect(transaction.tx.query("select * from no_such_table")).rejects.toThrow();
  await expect(transaction.commit()).rejects.toBeInstanceOf(StorageError);
  expect((await database.pool.query("select count(*)::int as count from note where body = 'aborted'")).rows[0].count).toBe(0);
});

it("sends BEGIN with a first parameterised statement, in one query on the connection", async () => {
  const { queries } = await countingQueries(database.pool, async () => {
    const transaction = database.storage.transactionOpen();
    await transaction.tx.query("insert into note (body) values ($1)", ["together"]);
    await transaction.commit();
  });
  expect(queries).toBe(2);
  expect((await database.pool.query("select count(*)::int as count from note where body = 'together'")).rows[0].count).toBe(1);
});

it("sends BEGIN with a first named (prepared) statement as well, in one query on the connection", async () => {
  const insertNote = { name: "note_insert", text: "insert into note (body) values ($1)", values: ["named"] };
  for (let round = 0; round < 2; round += 1) {
    const { queries } = await countingQueries(database.pool, async () => {
      const transaction = database.storage.transactionOpen();
      await asClient(transaction.tx).query(insertNote);
      await transaction.commit();
    });
    expect(queries).toBe(2);
  }
  expect((await database.pool.query("select count(*)::int as count from note where body = 'named'")).rows[0].count).toBe(2);
});

it("a first named statement that fails to parse is parsed again on its next use on the connection", async () => {
  const onePool = new pg.Pool({ connectionString: database.url, max: 1 });
  try {
    const storage = new PgStorage(onePool);
    const countLater = { name: "later_note_count", text: "select count(*)::int as count from later_note" };
    const first = storage.transactionOpen();
    await expect(asClient(first.tx).query(countLater)).rejects.toMatchObject({ code: "42P01" });
    await first.rollback();
    await onePool.query("create table later_note (body text)");
    const second = storage.transactionOpen();
    expect((await asClient(second.tx).query(countLater)).rows).toEqual([{ count: 0 }]);
    await second.commit();
    expect((await onePool.query(countLater)).rows).toEqual([{ count: 0 }]);
  } finally {
    await onePool.end();
  }
});

it("a first named statement whose value cannot be sent fails alone; the statement stays usable", async () => {
  const onePool = new pg.Pool({ connectionString: database.url, max: 1 });
  try {
    const storage = new PgStorage(onePool);
    const insertNote = (body: unknown) => ({ name: "note_insert_checked", text: "insert into note (body) values ($1)", values: [body] });
    const unsendable = { toPostgres: () => { throw new Error("cannot serialise"); } };
    const transaction = storage.transactionOpen();
    await asClient(transaction.tx).query(insertNote("before unsendable"));
    await expect(asClient(transaction.tx).query(insertNote(unsendable))).rejects.toThrow("cannot serialise");
    await transaction.commit();
    const next = storage.transactionOpen();
    await expect(asClient(next.tx).query(insertNote(unsendable))).rejects.toThrow("cannot serialise");
    await asClient(next.tx).query(insertNote("after unsendable, named"));
    await next.commit();
    const bodies = await database.pool.query("select body from note where body like '%unsendable%named' or body = 'before unsendable' order by body");
    expect(bodies.rows.map((row) => row.body)).toEqual(["after unsendable, named", "before unsendable"]);
  } finally {
    await onePool.end();
  }
});

it("a first statement that fails has opened the transaction all the same: commit keeps nothing", async () => {
  const transaction = database.storage.transactionOpen();
  await expect(transaction.tx.query("insert into no_such_table (body) values ($1)", ["lost"])).rejects.toMatchObject({ code: "42P01" });
  expect(transaction.isOpen).toBe(true);
  await expect(transaction.commit()).rejects.toBeInstanceOf(StorageError);
  expect(database.pool.totalCount - database.pool.idleCount).toBe(0);
});

it("a first statement whose value cannot be sent fails alone; the transaction goes on", async () => {
  const transaction = database.storage.transactionOpen();
  const unsendable = { toPostgres: () => { throw new Error("cannot serialise"); } };
  await expect(transaction.tx.query("insert into note (body) values ($1)", [unsendable])).rejects.toThrow("cannot serialise");
  await transaction.tx.query("insert into note (body) values ($1)", ["after unsendable"]);
  await transaction.commit();
  expect((await database.pool.query("select count(*)::int as count from note where body = 'after unsendable'")).rows[0].count).toBe(1);
});

it("sends BEGIN on its own where the pool's clients are not node-postgres' own Client", async () => {
  // A client class of another kind (pg-native, say): here a factory that is not pg.Client.
  function ForeignClient(options: pg.ClientConfig) {
    return new pg.Client(options);
  }
  const foreignPool = new pg.Pool({ connectionString: database.url, max: 2, Client: ForeignClient as unknown as typeof pg.Client });
  try {
    const storage = new PgStorage(foreignPool);
    const { queries } = await countingQueries(foreignPool, async () => {
      const transaction = storage.transactionOpen();
      await transaction.tx.query("insert into note (body) values ($1)", ["foreign"]);
      await transaction.commit();
    });
    expect(queries).toBe(3);
    expect((await database.pool.query("select count(*)::int as count from note where body = 'foreign'")).rows[0].count).toBe(1);
  } finally {
    await foreignPool.end();
  }
});

it("discard ends a first statement that is still running, at once", async () => {
  const transaction = database.storage.transactionOpen();
  const sleeping = transaction.tx.query("select pg_sleep($1)", [60]);
  sleeping.catch(() => undefined);
  await waitForRunningStatement(database, "select pg_sleep");
  await transaction.discard(new Error("attempt timed out"));
  await expect(sleeping).rejects.toThrow();
  await expect(transaction.tx.query("select 1")).rejects.toBeInstanceOf(StorageError);
});
