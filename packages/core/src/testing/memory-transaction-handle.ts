import { StorageError } from "../errors.js";
import type { MemoryOperation } from "./memory-state.js";

/** Where a {@link MemoryTransactionHandle} is in its life. */
export type MemoryTransactionStatus = "unused" | "open" | "committed" | "rolled-back" | "discarded";

/**
 * The transaction handle of {@link MemoryStorage}: what a task sees as `cx.tx`, and what storage
 * calls take as `{ tx }`. Writes given this handle are buffered and applied together, atomically,
 * when the transaction commits; rollback and discard drop them.
 *
 * Tasks can attach their own side effects with {@link onCommit}, so tests can observe that "the
 * task's writes" commit together with the attempt's success, or not at all.
 *
 * @example
 * ```ts
 * const transaction = storage.transactionOpen();
 * await queue.enqueue(task, input, { tx: transaction.tx });
 * transaction.tx.onCommit(() => sentEmails.push(input));
 * await transaction.commit(); // the task and the callback become visible together
 * ```
 */
export class MemoryTransactionHandle {
  #status: MemoryTransactionStatus = "unused";
  #used = false;
  #endReason: unknown = undefined;
  readonly #owner: object;
  readonly #operations: MemoryOperation[] = [];
  readonly #commitCallbacks: Array<() => void> = [];

  /** @internal Created by `MemoryStorage.transactionOpen()`. */
  constructor(owner: object) {
    this.#owner = owner;
  }

  /** Where the transaction is: unused until the first write, then open until it ends. */
  get status(): MemoryTransactionStatus {
    return this.#status;
  }

  /** Whether anything ran through the handle (the transaction really began), even if it has ended since. */
  get used(): boolean {
    return this.#used;
  }

  /** Runs `callback` once the transaction commits; never when it rolls back or is discarded. */
  onCommit(callback: () => void): void {
    this.#use();
    this.#commitCallbacks.push(callback);
  }

  /** @internal Buffers a storage write; `owner` must be the storage that opened the transaction. */
  bufferOperation(owner: object, operation: MemoryOperation): void {
    this.assertUsableBy(owner);
    this.#use();
    this.#operations.push(operation);
  }

  /** @internal The buffered writes, in call order. */
  bufferedOperations(): ReadonlyArray<MemoryOperation> {
    return this.#operations;
  }

  /** @internal The callbacks registered with {@link onCommit}. */
  commitCallbacks(): ReadonlyArray<() => void> {
    return this.#commitCallbacks;
  }

  /** @internal Throws unless `owner` opened this handle and it may still take writes. */
  assertUsableBy(owner: object): void {
    if (owner !== this.#owner) {
      throw new StorageError("This transaction belongs to another MemoryStorage instance; pass a tx opened by the same storage");
    }
    this.#assertNotEnded();
  }

  #assertNotEnded(): void {
    if (this.#status === "unused" || this.#status === "open") return;
    throw new StorageError(`This transaction was already ${this.#status}; open a new one with transactionOpen()`, {
      cause: this.#endReason,
    });
  }

  /** @internal Marks the transaction as ended. */
  end(status: "committed" | "rolled-back" | "discarded", reason?: unknown): void {
    this.#status = status;
    this.#endReason = reason;
    this.#operations.length = 0;
    this.#commitCallbacks.length = 0;
  }

  #use(): void {
    this.#assertNotEnded();
    this.#status = "open";
    this.#used = true;
  }
}
