import { StorageError } from "@underway/core";
import type { PgQueryable } from "@underway/queue-pg";
import { sql } from "drizzle-orm";
import { drizzle } from "drizzle-orm/node-postgres";
import { describe, expect, it } from "vitest";
import { useNoteTable, withEmbeddedNoteTable } from "./support/note-table.js";

const table = useNoteTable();
const notes = () => table.notes();

const refused = [
  "commit",
  "  COMMIT;",
  "commit and chain",
  "END",
  "abort",
  "rollback",
  "ROLLBACK WORK",
  "begin",
  "BEGIN ISOLATION LEVEL SERIALIZABLE",
  "start transaction",
  "prepare transaction 'pay'",
  "-- settle the order\ncommit",
  "/* settle\n the order */ commit",
  "/* nested /* comments */ end here */ commit",
  "insert into note (body) values ('settled'); commit",
  "select 1; select 2;\n  -- and then\n  END;",
]
const allowed = [
  "savepoint nested",
  "release savepoint nested",
  "rollback to savepoint nested",
  "ROLLBACK TRANSACTION TO SAVEPOINT nested",
  "select 'commit' as word",
  "select 1 as endpoint",
  "-- commit\nselect 1 as one",
  "/* commit */ select 1 as one",
  "select ';' as semicolon; select 'x; commit' as text",
  "select $$; commit$$ as body; select E'\\'; end' as escaped",
  'select 1 as "a; rollback"; savepoint inner_one; release savepoint inner_one',
];

/** Each refused statement, sent on `tx` as text and as a query config, fails with StorageError. */
async function expectRefusals(tx: PgQueryable): Promise<void> {
  const query = tx.query as (statement: unknown) => Promise<unknown>;
  for (const statement of refused) {
    await expect(query.call(tx, statement), statement).rejects.toBeInstanceOf(StorageError);
    await expect(query.call(tx, { text: statement }), statement).rejects.toBeInstanceOf(StorageError);
  }
}

describe("statements that would begin or end the transaction of a tx handle", () => {
  it("are refused on a transaction handle, which keeps its work and still commits or rolls back as its owner says", async () => {
    const kept = table.database.storage.transactionOpen();
    await kept.tx.query("insert into note (body) values ($1)", ["kept"]);
    await expectRefusals(kept.tx);
    await kept.tx.query("savepoint nested");
    await kept.tx.query("insert into note (body) values ($1)", ["undone"]);
    await kept.tx.query("rollback to savepoint nested");
    for (const statement of allowed.slice(4)) await kept.tx.query(statement);
    expect(await notes()).toEqual([]);
    await kept.commit();
    expect(await notes()).toEqual(["kept"]);

    const dropped = table.database.storage.transactionOpen();
    await dropped.tx.query("insert into note (body) values ($1)", ["dropped"]);
    await expect(dropped.tx.query("commit")).rejects.toThrow(/COMMIT is refused on this transaction/);
    await dropped.rollback();
    expect(await notes()).toEqual(["kept"]);
  });

  it("are refused before anything opens: a refused first statement leaves the handle unopened", async () => {
    const transaction = table.database.storage.transactionOpen();
    await expectRefusals(transaction.tx);
    expect(transaction.isOpen).toBe(false);
  });

  it("refuse drizzle's db.transaction() on cx.tx, whose BEGIN and COMMIT would end the attempt's transaction", async () => {
    const transaction = table.database.storage.transactionOpen();
    try {
      const db = drizzle(transaction.tx as never);
      await db.execute(sql`insert into note (body) values (${"before"})`);
      // drizzle wraps the refusal in its own error, naming the statement.
      await expect(db.transaction(async (nested) => nested.execute(sql`insert into note (body) values (${"inside"})`))).rejects.toMatchObject({
        cause: expect.any(StorageError),
      });
    } finally {
      await transaction.rollback();
    }
    expect(await notes()).toEqual([]);
  });

  it.each([false, true])("are refused on a member of a commit group (pipelined: %s), which touches no other member", async (pipelined) => {
    const group = table.database.storage.transactionOpenGroup({ pipelined });
    const first = group.member();
    await first.tx.query("insert into note (body) values ($1)", ["first"]);
    await expect(first.tx.query("commit")).rejects.toBeInstanceOf(StorageError);
    await first.commit();
    const second = group.member();
    await second.tx.query("insert into note (body) values ($1)", ["second"]);
    await expectRefusals(second.tx);
    await second.commit();
    expect(await notes()).toEqual([]);
    await group.commit();
    expect(await notes()).toEqual(["first", "second"]);
  });

  it("are refused on PGlite's transaction handle as well", async () => {
    await withEmbeddedNoteTable(async (storage, countNotes) => {
      const transaction = storage.transactionOpen();
      await transaction.tx.query("insert into note (body) values ($1)", ["pglite"]);
      await expectRefusals(transaction.tx);
      await transaction.rollback();
      expect(await countNotes()).toBe(0);
    });
  });
});
