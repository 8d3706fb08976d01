import { StorageError, type StorageTransaction } from "@underway/core";
import type { PGlite, Transaction } from "@electric-sql/pglite";
import { mapDriverError } from "../map-driver-error.js";
import type { PgQueryable } from "../pg-queryable.js";
import { TransactionQueryClient } from "./transaction-query-client.js";

type Phase = "idle" | "opening" | "open" | "ended";
type Outcome = "commit" | "rollback";

/**
 * The `cx.tx` of one attempt on PGlite. The first query opens a `pglite.transaction(...)` and
 * keeps it open until commit, rollback or discard. PGlite runs one transaction at a time, so
 * while this one is open every other statement on the instance waits for it.
 */
export class PgliteTransaction implements StorageTransaction<PgQueryable> {
  readonly tx: PgQueryable;
  #pglite: PGlite;
  #phase: Phase = "idle";
  #transaction: Transaction | undefined;
  #opening: Promise<Transaction> | undefined;
  #finished: Promise<void> | undefined;
  #decide: ((outcome: Outcome) => void) | undefined;
  #endReason: unknown;

  #onEnd: () => void;

  constructor(pglite: PGlite, onEnd: () => void = () => undefined) {
    this.#pglite = pglite;
    this.#onEnd = onEnd;
    const query = (...args: unknown[]) => this.#query(args);
    this.tx = new TransactionQueryClient(query) as unknown as PgQueryable;
  }

  get isOpen(): boolean {
    return this.#phase === "opening" || this.#phase === "open";
  }

  commit(): Promise<void> {
    return this.#end("commit", "commit");
  }

  rollback(): Promise<void> {
    return this.#end("rollback", "rollback");
  }

  async discard(reason: unknown): Promise<void> {
    this.#endReason = reason;
    await this.#end("rollback", "discard").catch(() => undefined);
  }

  async #end(outcome: Outcome, operation: string): Promise<void> {
    this.#onEnd();
    if (this.#phase === "idle" || this.#phase === "ended") {
      this.#phase = "ended";
      return;
    }
    if (this.#phase === "opening") await this.#opening?.catch(() => undefined);
    this.#phase = "ended";
    this.#decide?.(outcome);
    try {
      await this.#finished;
    } catch (error) {
      throw mapDriverError(error, operation);
    }
  }

  #open(): Promise<Transaction> {
    this.#phase = "opening";
    const decision = new Promise<Outcome>((resolve) => {
      this.#decide = resolve;
    });
    return new Promise<Transaction>((resolveOpened, rejectOpened) => {
      this.#finished = this.#pglite.transaction(async (transaction) => {
        this.#transaction = transaction;
        if ((this.#phase as Phase) !== "ended") this.#phase = "open";
        resolveOpened(transaction);
        if ((await decision) === "rollback" && !transaction.closed) await transaction.rollback();
      });
      this.#finished.catch((error: unknown) => {
        this.#phase = "ended";
        rejectOpened(mapDriverError(error, "transaction begin"));
      });
    });
  }

  async #query(args: unknown[]): Promise<any> {
    if (this.#phase === "ended") throw this.#endedError();
    if (this.#phase === "idle") this.#opening = this.#open();
    const transaction = this.#transaction ?? (await this.#opening!);
    if (this.#ended()) throw this.#endedError();
    return (transaction.query as (...queryArgs: unknown[]) => Promise<unknown>)(...args);
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
}
