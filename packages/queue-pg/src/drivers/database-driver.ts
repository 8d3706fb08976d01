import type { LeaderLock, StorageTransaction, StorageTransactionGroup } from "@underway/core";
import type { PgQueryable } from "../pg-queryable.js";
import type { SqlStatement } from "./sql-statement.js";

/** A notification as the listening connection received it. */
export interface RawNotification {
  channel: string;
  payload: string;
}

/** A live listening connection. */
export interface ListenConnection {
  /** Resolves (once) when the connection dropped; never resolves for engines that cannot drop. */
  readonly lost: Promise<unknown>;
  close(): Promise<void>;
}

/**
 * What PgStorage needs from a database engine: the few operations that differ between a
 * node-postgres pool and PGlite. Everything else is SQL, shared by both.
 */
export interface DatabaseDriver {
  readonly kind: "pg" | "pglite";
  /** Runs one statement on its own (autocommit). */
  run(statement: SqlStatement, values: unknown[]): Promise<any[]>;
  /** Runs one statement through a caller's transaction. */
  runOn(queryable: PgQueryable, statement: SqlStatement, values: unknown[]): Promise<any[]>;
  /** Runs `work` inside a transaction of the driver's own, committing when it resolves. */
  withTransaction<T>(work: (queryable: PgQueryable) => Promise<T>): Promise<T>;
  /** A lazily opened transaction for one attempt. */
  transactionOpen(): StorageTransaction<PgQueryable>;
  /** Whether {@link transactionOpenPipelinedGroup} is there to call. */
  readonly pipelinesGroups: boolean;
  /** A commit group whose members may run side by side, on a connection in pipeline mode. */
  transactionOpenPipelinedGroup?(): StorageTransactionGroup<PgQueryable>;
  /** Takes a session-long exclusive lock named by `scopedKey`, or returns null. */
  lockTry(scopedKey: [string, string]): Promise<LeaderLock | null>;
  /** Opens a connection that LISTENs on `channels` and calls `onNotification`. */
  listen(channels: ReadonlyArray<string>, onNotification: (notification: RawNotification) => void): Promise<ListenConnection>;
  /** Releases what the driver opened itself. */
  close(): Promise<void>;
}
