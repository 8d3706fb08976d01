import type { AttemptRecord, TaskRecord } from "../storage/records.js";
import type { StorageAdapter } from "../storage/storage-adapter.js";
import type { ManualClock } from "../testing/manual-clock.js";

/** What a storage under test hands to {@link runStorageConformance} for one test. */
export interface ConformanceHarness<Tx> {
  /** The storage under test, built with the clock given to `setup`. */
  storage: StorageAdapter<Tx>;
  /** Reads bypassing the adapter (raw SQL for Postgres, internal maps in memory), or omitted. */
  raw?: { task(taskId: string): Promise<TaskRecord | null>; attempts(taskId: string): Promise<AttemptRecord[]> };
  /** Runs `body` inside a fresh transaction of this storage, committing if it resolves. */
  withTransaction?<T>(body: (tx: Tx) => Promise<T>): Promise<T>;
  /** Releases what `setup` opened; called after every test. */
  teardown(): Promise<void>;
}

/** What the suite gives `setup` for each test. */
export interface ConformanceOptions {
  /** The clock the storage must read "now" from; the suite moves it to expire leases, delays and TTLs. */
  clock: ManualClock;
}
