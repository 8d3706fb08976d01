import type { PgStorage } from "@underway/queue-pg";
import { createPgliteStorage, createTestDatabase, type TestDatabase } from "@underway/queue-pg/testing";
import { afterAll, beforeAll, beforeEach } from "vitest";

/** A test database with a `note (body text primary key)` table, emptied before each test. */
export interface NoteTable {
  /** The database; set once the file's tests start. */
  readonly database: TestDatabase;
  /** The committed notes, in order. */
  notes(): Promise<string[]>;
}

/** Registers the hooks that create, empty and drop a {@link NoteTable} for the calling test file. */
export function useNoteTable(): NoteTable {
  let database: TestDatabase | undefined;
  beforeAll(async () => {
    database = await createTestDatabase({ poolSize: 4 });
    await database.pool.query("create table note (body text primary key)");
  });
  beforeEach(async () => {
    await database!.pool.query("truncate note");
  });
  afterAll(() => database?.drop());
  return {
    get database() {
      return database!;
    },
    async notes() {
      const result = await database!.pool.query("select body from note order by body");
      return result.rows.map((row) => row.body as string);
    },
  };
}

/**
 * Runs `work` on a fresh embedded (PGlite) storage with the same `note` table, given a count of
 * its committed notes; closes the storage after.
 */
export async function withEmbeddedNoteTable(work: (storage: PgStorage, countNotes: () => Promise<number>) => Promise<void>): Promise<void> {
  const { storage, close } = await createPgliteStorage();
  try {
    const setUp = storage.transactionOpen();
    await setUp.tx.query("create table note (body text primary key)");
    await setUp.commit();
    const countNotes = async () => {
      const check = storage.transactionOpen();
      try {
        return (await check.tx.query("select count(*)::int as count from note")).rows[0].count as number;
      } finally {
        await check.rollback();
      }
    };
    await work(storage, countNotes);
  } finally {
    await close();
  }
}
