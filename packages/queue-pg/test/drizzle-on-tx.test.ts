import type { PGlite } from "@electric-sql/pglite";
import { eq } from "drizzle-orm";
import { drizzle as drizzleOnPg } from "drizzle-orm/node-postgres";
import { pgTable, text } from "drizzle-orm/pg-core";
import { drizzle as drizzleOnPglite } from "drizzle-orm/pglite";
import type pg from "pg";
import { expect, it } from "vitest";
import { useNoteTable, withEmbeddedNoteTable } from "./support/note-table.js";

// The recipe of docs/tasks.md ("Through drizzle"), on both drivers.
const note = pgTable("note", { body: text("body").primaryKey() });
const table = useNoteTable();

it("writes through drizzle's node-postgres driver on a tx handle, committed with it", async () => {
  const transaction = table.database.storage.transactionOpen();
  const db = drizzleOnPg(transaction.tx as unknown as pg.PoolClient);
  await db.insert(note).values({ body: "drizzle on pg" });
  expect(await db.select().from(note).where(eq(note.body, "drizzle on pg"))).toEqual([{ body: "drizzle on pg" }]);
  expect(await table.notes()).toEqual([]);
  await transaction.commit();
  expect(await table.notes()).toEqual(["drizzle on pg"]);
});

it("writes through drizzle's PGlite driver on a tx handle of an embedded storage, gone with its rollback", async () => {
  await withEmbeddedNoteTable(async (storage, countNotes) => {
    const transaction = storage.transactionOpen();
    const db = drizzleOnPglite(transaction.tx as unknown as PGlite);
    await db.insert(note).values({ body: "drizzle on pglite" });
    expect(await db.select().from(note)).toEqual([{ body: "drizzle on pglite" }]);
    await transaction.rollback();
    expect(await countNotes()).toBe(0);
  });
});
