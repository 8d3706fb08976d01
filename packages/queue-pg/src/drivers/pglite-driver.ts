import type { LeaderLock, StorageTransaction } from "@underway/core";
import type { PGlite } from "@electric-sql/pglite";
import { assertQueryable, type PgQueryable } from "../pg-queryable.js";
import type { DatabaseDriver, ListenConnection, RawNotification } from "./database-driver.js";
import { PgliteTransaction } from "./pglite-transaction.js";
import type { SqlStatement } from "./sql-statement.js";

// One PGlite instance is one backend, where advisory locks are always granted to the asker; so
// leadership among the storages sharing an instance is decided here, in process.
const heldLocksByInstance = new WeakMap<PGlite, Set<string>>();

/** The PGlite driver: the same SQL as text, transactions through `pglite.transaction`. */
export class PgliteDriver implements DatabaseDriver {
  readonly kind = "pglite" as const;
  #pglite: PGlite;
  #heldLocks: Set<string>;
  #ownLocks = new Set<LeaderLock>();
  // Attempt transactions not yet ended; each removes itself when it ends.
  #transactions = new Set<PgliteTransaction>();

  constructor(pglite: PGlite) {
    this.#pglite = pglite;
    let heldLocks = heldLocksByInstance.get(pglite);
    if (!heldLocks) {
      heldLocks = new Set();
      heldLocksByInstance.set(pglite, heldLocks);
    }
    this.#heldLocks = heldLocks;
  }

  async run(statement: SqlStatement, values: unknown[]): Promise<any[]> {
    const result = await this.#pglite.query(statement.text, values);
    return result.rows;
  }

  async runOn(queryable: PgQueryable, statement: SqlStatement, values: unknown[]): Promise<any[]> {
    assertQueryable(queryable);
    const result = await queryable.query(statement.text, values);
    return result.rows;
  }

  withTransaction<T>(work: (queryable: PgQueryable) => Promise<T>): Promise<T> {
    return this.#pglite.transaction((transaction) => work(transaction as unknown as PgQueryable));
  }

  readonly pipelinesGroups = false;

  transactionOpen(): StorageTransaction<PgQueryable> {
    const transaction: PgliteTransaction = new PgliteTransaction(this.#pglite, () => this.#transactions.delete(transaction));
    this.#transactions.add(transaction);
    return transaction;
  }

  async lockTry([scope, key]: [string, string]): Promise<LeaderLock | null> {
    const lockName = `${scope}\u0000${key}`;
    if (this.#heldLocks.has(lockName)) return null;
    this.#heldLocks.add(lockName);
    const controller = new AbortController();
    const lock: LeaderLock = {
      signal: controller.signal,
      release: async () => {
        if (controller.signal.aborted) return;
        this.#heldLocks.delete(lockName);
        this.#ownLocks.delete(lock);
        controller.abort(new Error("The leader lock was released"));
      },
    };
    this.#ownLocks.add(lock);
    return lock;
  }

  async listen(channels: ReadonlyArray<string>, onNotification: (notification: RawNotification) => void): Promise<ListenConnection> {
    let active = true;
    const unsubscribers: Array<() => Promise<void>> = [];
    const unlistenAll = () => Promise.all(unsubscribers.map((unsubscribe) => unsubscribe().catch(() => undefined)));
    try {
      for (const channel of channels) {
        // PGlite lower-cases unquoted names; quoting keeps the channel exactly as sent.
        unsubscribers.push(
          await this.#pglite.listen(`"${channel}"`, (payload) => {
            if (active) onNotification({ channel, payload });
          }),
        );
      }
    } catch (error) {
      await unlistenAll();
      throw error;
    }
    return {
      lost: new Promise<unknown>(() => undefined),
      close: async () => {
        active = false;
        // Not awaited: UNLISTEN queues behind any transaction open on the instance, and closing a
        // subscription must not wait for (or deadlock with) an attempt still holding one.
        if (!this.#pglite.closed) void unlistenAll();
      },
    };
  }

  async close(): Promise<void> {
    // The PGlite instance belongs to the caller; what this storage holds on it is released: its
    // locks, and any attempt transaction still open, which would otherwise block the instance.
    const transactions = [...this.#transactions];
    this.#transactions.clear();
    await Promise.all(transactions.map((transaction) => transaction.discard(new Error("The storage was closed"))));
    await Promise.all([...this.#ownLocks].map((lock) => lock.release()));
  }
}
