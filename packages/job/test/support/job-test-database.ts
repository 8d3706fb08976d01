import { createTestDatabase, type TestDatabase } from "@underway/queue-pg/testing";
import { afterAll, beforeAll } from "vitest";
import type { JobHandle } from "../../src/index.js";

/** A test file's database, and the job handles started on it. */
export interface JobTestDatabase {
  /** Made before the file's first test. */
  readonly db: TestDatabase;
  /** Handles pushed here are shut down after the file's last test, before the database is dropped. */
  readonly handles: JobHandle[];
}

/**
 * A fresh Postgres database for the calling test file: created before its tests, and dropped
 * after them once every handle in `handles` has shut down. Call it at the top of the file.
 */
export function useJobTestDatabase(): JobTestDatabase {
  let db: TestDatabase | undefined;
  const handles: JobHandle[] = [];
  beforeAll(async () => {
    db = await createTestDatabase();
  });
  afterAll(async () => {
    await Promise.all(handles.map((handle) => handle.shutdown()));
    await db?.drop();
  });
  return {
    get db(): TestDatabase {
      if (db === undefined) throw new Error("The test database is made in beforeAll; read it inside a test");
      return db;
    },
    handles,
  };
}
