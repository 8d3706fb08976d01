import { StorageError, type StorageTransaction } from "@underway/core";
import type { Pool, PoolClient } from "pg";
import { mapDriverError } from "../map-driver-error.js";
import type { PgQueryable } from "../pg-queryable.js";
import { endTransactionOn } from "./end-transaction.js";
import { type PrefixedQueries, type PrefixedQuery, type PrefixedQueryOutcome } from "./prefixed-query.js";
import { TransactionQueryClient } from "./transaction-query-client.js";

type Phase = "idle" | "opening" | "open" | "ended";

/**
 * The 'error' listener of a checked-out client. It has no pool listener then: without one, a
 * connection cut while the task works between two statements would be an unhandled 'error' event
 * and end the whole process. The error itself needs no handling here; the next statement on the
 * client fails with it. One function for every transaction (a client has one at a time).
 */
function ignoreClientError(): void {}

/**
 * The `cx.tx` of one attempt on a node-postgres pool. Nothing happens until the first query: then
 * it checks out a pool client and sends `BEGIN` ahead of that query (in the same round trip when
 * the query is a parameterised or named statement, see {@link PrefixedQuery}). Every call shape of
 * `client.query` is forwarded as is (config objects with `rowMode`, `types`, names), so drivers
 * such as drizzle's node-postgres one work on it.
 */
export class PoolTransaction implements StorageTransaction<PgQueryable> {
  readonly tx: PgQueryable;
  #pool: Pool;
  /** Makes statements with commands ahead of them in their round trip; null where the clients cannot. */
  #prefixed: PrefixedQueries | null;
  #phase: Phase = "idle";
  #client: PoolClient | undefined;
  /** The client whose first statement (with BEGIN ahead of it) is still running. */
  #openingClient: PoolClient | undefined;
  #opening: Promise<PoolClient> | undefined;
  #endReason: unknown;

  /** `prefixed`: the pool's prefixed queries (see prefixedQueriesFor), null where its clients cannot send them. */
  constructor(pool: Pool, prefixed: PrefixedQueries | null) {
    this.#pool = pool;
    this.#prefixed = prefixed;
    const query = (...args: unknown[]) => this.#query(args);
    this.tx = new TransactionQueryClient(query) as unknown as PgQueryable;
  }

  get isOpen(): boolean {
    return this.#phase === "opening" || this.#phase === "open";
  }

  async commit(): Promise<void> {
    const client = await this.#settleOpening();
    if (!client) return;
    this.#phase = "ended";
    this.#client = undefined;
    await endTransactionOn(client, "COMMIT", (healthy) => this.#returnToPool(healthy));
  }

  async rollback(): Promise<void> {
    const client = await this.#settleOpening();
    if (!client) return;
    this.#phase = "ended";
    this.#client = undefined;
    await endTransactionOn(client, "ROLLBACK", (healthy) => this.#returnToPool(healthy));
  }

  async discard(reason: unknown): Promise<void> {
    const wasPhase = this.#phase;
    this.#phase = "ended";
    this.#endReason = reason;
    const client = this.#client ?? this.#openingClient;
    this.#client = undefined;
    this.#openingClient = undefined;
    // Destroying the connection (instead of rolling back on it) is what guarantees that a task
    // still running on it can never reach COMMIT; it also ends a first statement still running.
    if (client) client.release(reason instanceof Error ? reason : new Error("transaction discarded"));
    if (wasPhase === "opening") await this.#opening?.catch(() => undefined);
  }

  /**
   * Runs `query(...args)` with `commands` sent ahead of it in the same round trip (see
   * {@link PrefixedQuery}); null, sending nothing, when the arguments do not qualify.
   */
  queryAfter(commands: ReadonlyArray<string>, args: ReadonlyArray<unknown>): PrefixedQueryOutcome | null {
    const prefixed = this.#prefixed;
    if (prefixed === null) return null;
    if (this.#phase === "idle") {
      const query = prefixed.of(["BEGIN", ...commands], args);
      if (query === null) return null;
      return { done: this.#beginWith(query), prefixRan: query.outcome().prefixRan };
    }
    const query = prefixed.of(commands, args);
    if (query === null) return null;
    const outcome = query.outcome();
    // The client answers a submittable with the submittable itself; its outcome is the answer.
    const done = this.#query([query]).then(() => outcome.done);
    return { done, prefixRan: outcome.prefixRan };
  }

  async #settleOpening(): Promise<PoolClient | undefined> {
    if (this.#phase === "opening") await this.#opening?.catch(() => undefined);
    return this.#phase === "open" ? this.#client : undefined;
  }

  async #open(): Promise<PoolClient> {
    const client = await this.#checkOut();
    try {
      await client.query("BEGIN");
    } catch (error) {
      client.release(error instanceof Error ? error : true);
      this.#phase = "ended";
      throw mapDriverError(error, "transaction begin");
    }
    return this.#opened(client);
  }

  /** Opens the transaction with `query`, whose prefix starts with `BEGIN`; resolves as the query. */
  #beginWith(query: PrefixedQuery): Promise<unknown> {
    this.#opening = this.#openWith(query);
    const { done } = query.outcome();
    return this.#opening.then(() => done);
  }

  /**
   * Opens the transaction with its first statement: `BEGIN` (and any further commands of the
   * query's prefix) travels ahead of it, in the same round trip. Resolves with the client once
   * `BEGIN` ran; the statement's own outcome is the query's.
   */
  async #openWith(query: PrefixedQuery): Promise<PoolClient> {
    const client = await this.#checkOut();
    const { done, prefixRan } = query.outcome();
    this.#openingClient = client;
    (client.query as (submittable: unknown) => unknown)(query);
    const failure = await done.then(
      () => undefined,
      (error: unknown) => error,
    );
    this.#openingClient = undefined;
    // Discarded meanwhile: the discard has released (destroyed) the client already.
    if (this.#ended()) throw this.#endedError();
    if (!prefixRan()) {
      client.release(failure instanceof Error ? failure : true);
      this.#phase = "ended";
      throw mapDriverError(failure, "transaction begin");
    }
    return this.#opened(client);
  }

  /** A client from the pool for this transaction, watched for connection errors. */
  async #checkOut(): Promise<PoolClient> {
    this.#phase = "opening";
    let client: PoolClient;
    try {
      client = await this.#pool.connect();
    } catch (error) {
      this.#phase = "ended";
      throw mapDriverError(error, "transaction begin");
    }
    client.on("error", ignoreClientError);
    if (this.#ended()) {
      client.release(new Error("transaction discarded while opening"));
      throw this.#endedError();
    }
    return client;
  }

  /** The transaction is open on `client`, unless it was discarded while opening. */
  #opened(client: PoolClient): PoolClient {
    if (this.#ended()) {
      client.release(new Error("transaction discarded while opening"));
      throw this.#endedError();
    }
    this.#client = client;
    this.#phase = "open";
    return client;
  }

  /** Gives a healthy client back to the pool, which watches it again while it is idle. */
  #returnToPool(client: PoolClient): void {
    client.removeListener("error", ignoreClientError);
    client.release();
  }

  // A method, not a field comparison: the phase changes across awaits, which narrowing ignores.
  #ended(): boolean {
    return this.#phase === "ended";
  }

  #endedError(): StorageError {
    return new StorageError("This transaction has ended (committed, rolled back or discarded); it takes no more queries", {
      cause: this.#endReason,
    });
  }

  async #query(args: unknown[]): Promise<any> {
    if (this.#phase === "ended") throw this.#endedError();
    if (this.#phase === "idle") {
      const withBegin = this.#prefixed?.of(["BEGIN"], args) ?? null;
      if (withBegin !== null) return this.#beginWith(withBegin);
      this.#opening = this.#open();
    }
    const client = this.#phase === "open" && this.#client ? this.#client : await this.#opening!;
    if (this.#ended()) throw this.#endedError();
    return (client.query as (...queryArgs: unknown[]) => Promise<unknown>)(...args);
  }
}
