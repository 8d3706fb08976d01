import { StorageError, type StorageTransaction, type StorageTransactionGroup } from "@underway/core";
import type { PgQueryable } from "../pg-queryable.js";
import { PoolTransaction } from "./pool-transaction.js";
import type { PrefixedQueryOutcome } from "./prefixed-query.js";
import { TransactionQueryClient } from "./transaction-query-client.js";

/** The one savepoint name members use: members run one after another, never nested. */
const MEMBER_SAVEPOINT = "underway_member";
const SAVEPOINT = `savepoint ${MEMBER_SAVEPOINT}`;
const RELEASE_SAVEPOINT = `release savepoint ${MEMBER_SAVEPOINT}`;

type MemberPhase = "idle" | "opening" | "open" | "ended";

/**
 * A transaction that attempts share one after another (group commit), over any lazily opened
 * transaction of this package. Each member works inside the savepoint `underway_member`: a member
 * that succeeds leaves its savepoint to be released by the next member's first statement (one
 * round trip for both) or by the group's commit; one that fails rolls back to it, undoing its own
 * work only. On node-postgres a member's savepoint travels with its first parameterised or named
 * statement, in the same round trip.
 */
export class PgTransactionGroup implements StorageTransactionGroup<PgQueryable> {
  readonly #shared: StorageTransaction<PgQueryable>;
  #ended = false;
  #endReason: unknown;
  /** A member committed; its savepoint is still to be released. */
  #releasePending = false;
  #current: PgTransactionMember | null = null;

  constructor(shared: StorageTransaction<PgQueryable>) {
    this.#shared = shared;
  }

  get tx(): PgQueryable {
    return this.#shared.tx;
  }

  get isOpen(): boolean {
    return this.#shared.isOpen;
  }

  get isEnded(): boolean {
    return this.#ended;
  }

  member(): StorageTransaction<PgQueryable> {
    if (this.#ended) throw this.#endedError();
    if (this.#current !== null && !this.#current.isSettled) {
      throw new StorageError("A member of this transaction group is still running; start the next one after it commits or rolls back");
    }
    const member = new PgTransactionMember(this);
    this.#current = member;
    return member;
  }

  async commit(): Promise<void> {
    this.#ended = true;
    await this.#shared.commit();
  }

  async rollback(): Promise<void> {
    this.#ended = true;
    await this.#shared.rollback();
  }

  async discard(reason: unknown): Promise<void> {
    if (!this.#ended) this.#endReason = reason;
    this.#ended = true;
    await this.#shared.discard(reason);
  }

  /** Marks the savepoint of a member about to run its first statement. */
  async beginMember(): Promise<void> {
    if (this.#ended) throw this.#endedError();
    const text = this.#memberOpeningCommands().join("; ");
    this.#releasePending = false;
    await this.#shared.tx.query(text);
  }

  /**
   * Marks a member's savepoint and runs its first statement, `query(...args)`, in one round trip,
   * where the shared transaction can send them together; null, sending nothing, where it cannot
   * (then {@link beginMember} goes first).
   */
  beginMemberWith(args: ReadonlyArray<unknown>): PrefixedQueryOutcome | null {
    if (this.#ended) throw this.#endedError();
    if (!(this.#shared instanceof PoolTransaction)) return null;
    const outcome = this.#shared.queryAfter(this.#memberOpeningCommands(), args);
    if (outcome !== null) this.#releasePending = false;
    return outcome;
  }

  /** What opens the next member's savepoint: releasing the kept one first, if any. */
  #memberOpeningCommands(): string[] {
    return this.#releasePending ? [RELEASE_SAVEPOINT, SAVEPOINT] : [SAVEPOINT];
  }

  /** Keeps a member's work: its savepoint is released later, together with the next statement. */
  keepMember(): void {
    this.#releasePending = true;
  }

  /** Undoes a member's work back to its savepoint, which stays to be released later. */
  async undoMember(): Promise<void> {
    await this.#shared.tx.query(`rollback to savepoint ${MEMBER_SAVEPOINT}`);
    this.#releasePending = true;
  }

  #endedError(): StorageError {
    return new StorageError("This transaction group has ended (committed, rolled back or discarded); it takes no more members", {
      cause: this.#endReason,
    });
  }
}

/** One member of a {@link PgTransactionGroup}: its `cx.tx` and its savepoint. */
class PgTransactionMember implements StorageTransaction<PgQueryable> {
  readonly tx: PgQueryable;
  readonly #group: PgTransactionGroup;
  #phase: MemberPhase = "idle";
  #opening: Promise<void> | undefined;
  #endReason: unknown;

  constructor(group: PgTransactionGroup) {
    this.#group = group;
    this.tx = new TransactionQueryClient((...args: unknown[]) => this.#query(args)) as unknown as PgQueryable;
  }

  get isOpen(): boolean {
    return this.#phase === "opening" || this.#phase === "open";
  }

  /** Committed, rolled back or discarded: the group may start its next member. */
  get isSettled(): boolean {
    return this.#phase === "ended";
  }

  async commit(): Promise<void> {
    const wasOpen = await this.#settleOpening();
    this.#phase = "ended";
    if (wasOpen) this.#group.keepMember();
  }

  async rollback(): Promise<void> {
    const wasOpen = await this.#settleOpening();
    this.#phase = "ended";
    if (!wasOpen) return;
    try {
      await this.#group.undoMember();
    } catch (error) {
      // A group whose savepoint cannot be restored must never commit.
      await this.#group.discard(error);
      throw error;
    }
  }

  async discard(reason: unknown): Promise<void> {
    this.#phase = "ended";
    this.#endReason = reason;
    await this.#group.discard(reason);
  }

  async #settleOpening(): Promise<boolean> {
    if (this.#phase === "opening") {
      try {
        await this.#opening;
      } catch {
        return false;
      }
    }
    return this.#phase === "open";
  }

  async #query(args: unknown[]): Promise<any> {
    if (this.#phase === "ended") {
      throw new StorageError("This attempt's transaction has ended; it takes no more queries", { cause: this.#endReason });
    }
    if (this.#phase === "idle") {
      const together = this.#group.beginMemberWith(args);
      if (together !== null) return this.#openWith(together);
      this.#phase = "opening";
      this.#opening = this.#group.beginMember().then(
        () => {
          if (this.#phase === "opening") this.#phase = "open";
        },
        (error: unknown) => {
          this.#phase = "ended";
          throw error;
        },
      );
    }
    if (this.#phase === "opening") await this.#opening;
    if (this.#phase !== "open") throw new StorageError("This attempt's transaction has ended; it takes no more queries", { cause: this.#endReason });
    return (this.#group.tx.query as (...queryArgs: unknown[]) => Promise<unknown>)(...args);
  }

  /** The first statement, sent with the savepoint: the member is open once the savepoint is made. */
  #openWith(together: PrefixedQueryOutcome): Promise<unknown> {
    this.#phase = "opening";
    const settled = together.done.then(
      () => undefined,
      () => undefined,
    );
    this.#opening = settled.then(() => {
      if (this.#phase === "opening") this.#phase = together.prefixRan() ? "open" : "ended";
    });
    return this.#opening.then(() => together.done);
  }
}
