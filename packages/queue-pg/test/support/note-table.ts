import { createTestDatabase, type TestDatabase } from "@underway/queue-pg/testing";
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
