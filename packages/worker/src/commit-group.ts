import { ConfigError, StorageError, type ClaimedTask, type Logger, type StorageAdapter, type StorageTransactionGroup } from "@underway/core";
import type { AckResult, AttemptCompletion } from "./ack-batcher.js";
import type { GroupMembership } from "./task-executor.js";

/** What a {@link CommitGroupRunner} does with each claimed task, in its turn. */
export interface GroupTurns<Tx> {
  /** Starts one attempt, in a commit group or (membership null) in its own transaction. */
  start(task: ClaimedTask, membership: GroupMembership<Tx> | null): Promise<void>;
  /** Leaves a task that is not started (stopping) to its lease. */
  skip(task: ClaimedTask): void;
  /** Ends, without running it, a task whose cancel was requested while it waited for its turn. Never rejects. */
  endCancelled(task: ClaimedTask): Promise<void>;
}

interface PendingCompletion {
  completion: AttemptCompletion;
  resolve(result: AckResult): void;
  reject(error: unknown): void;
}

/**
 * How many subtransaction ids Postgres keeps per session in shared memory: a group whose attempts
 * wrote in more savepoints than this marks every snapshot taken meanwhile as overflowed.
 */
export const CACHED_SUBTRANSACTIONS_PER_SESSION = 64;

/**
 * Runs claimed attempts in commit groups (the worker's `groupCommit` option): the attempts of a
 * group run one after another in one transaction, each inside its own savepoint, and the group
 * then completes all of its successes and commits once. An attempt that fails rolls back to its
 * savepoint alone; one that is stopped (timeout, lost lease, shutdown) discards the group, and the
 * successes waiting in it are recorded as failed attempts and retried, never committed.
 *
 * An attempt claimed longer than one heartbeat ago runs on its own instead, with its own
 * heartbeat, so that waiting for its turn can never cost it its lease (three heartbeats).
 *
 * Pipelined (the worker's `groupPipeline` option), the attempts of a group start together and
 * the storage's pipelined group orders their statements; the group completes and commits once
 * every attempt in it has ended.
 */
export class CommitGroupRunner<Tx> {
  readonly #storage: StorageAdapter<Tx>;
  readonly #logger: Logger;
  /** Attempts of a group run side by side (the worker's `groupPipeline` option). */
  readonly #pipelined: boolean;
  #stopping = false;
  /**
   * Claimed tasks waiting for their turn in a group, by id: what ends one cancelled instead (its
   * turn then passes).
   */
  readonly #waiting = new Map<string, () => void>();

  /**
   * Warns when `groupSize` is above {@link CACHED_SUBTRANSACTIONS_PER_SESSION}.
   *
   * @throws {@link ConfigError} when the storage has no group transactions.
   */
  constructor(storage: StorageAdapter<Tx>, groupSize: number, logger: Logger, pipelined = false) {
    if (typeof storage.transactionOpenGroup !== "function" || storage.capabilities.groupCommit !== true) {
      throw new ConfigError("groupCommit needs a storage that supports group commit (PgStorage on a pg.Pool); this one does not");
    }
    if (pipelined && storage.capabilities.groupPipeline !== true) {
      throw new ConfigError("groupPipeline needs a storage whose commit groups can pipeline (PgStorage on a pg.Pool of node-postgres clients, pg 8.23 or later); this one cannot");
    }
    this.#pipelined = pipelined;
    if (groupSize > CACHED_SUBTRANSACTIONS_PER_SESSION) {
      logger.warn(
        { groupCommit: groupSize },
        `groupCommit is above ${CACHED_SUBTRANSACTIONS_PER_SESSION}: when its attempts write, a group's savepoints outgrow the subtransactions Postgres caches per session, and every session's visibility checks slow down until the group commits`,
      );
    }
    this.#storage = storage;
    this.#logger = logger;
  }

  /** After this, attempts not started yet are not started: their leases return them to the queue. */
  stopStarting(): void {
    this.#stopping = true;
  }

  /**
   * A cancel was requested for `taskId`: if it waits for its turn here, it ends cancelled now,
   * without running, and its turn passes. Returns whether it was waiting here.
   */
  requestCancel(taskId: string): boolean {
    const endCancelled = this.#waiting.get(taskId);
    if (endCancelled === undefined) return false;
    this.#waiting.delete(taskId);
    endCancelled();
    return true;
  }

  /**
   * Runs `tasks` (claimed at `claimedAt`, epoch ms) as one or more groups, each task in its turn
   * through `turns`. Resolves when the last group has ended and every attempt has been recorded.
   */
  async run(tasks: ReadonlyArray<ClaimedTask>, claimedAt: number, turns: GroupTurns<Tx>): Promise<void> {
    const cancelled: Array<Promise<void>> = [];
    for (const task of tasks) this.#waiting.set(task.id, () => cancelled.push(turns.endCancelled(task)));
    try {
      await this.#runGroups(tasks, claimedAt, turns);
    } finally {
      for (const task of tasks) this.#waiting.delete(task.id);
      await Promise.all(cancelled);
    }
  }

  async #runGroups(tasks: ReadonlyArray<ClaimedTask>, claimedAt: number, { start, skip }: GroupTurns<Tx>): Promise<void> {
    let group: StorageTransactionGroup<Tx> | null = null;
    let pending: PendingCompletion[] = [];
    const finishing: Array<Promise<void>> = [];
    const attempts: Array<Promise<void>> = [];
    /** Pipelined: the group's members still running, all of which end before it does. */
    let running: Array<Promise<void>> = [];
    for (const task of tasks) {
      // Not waiting any more: it was cancelled meanwhile, and has ended.
      if (!this.#waiting.delete(task.id)) continue;
      if (this.#stopping) {
        skip(task);
        continue;
      }
      if (Date.now() - claimedAt > task.heartbeatMs) {
        attempts.push(start(task, null));
        continue;
      }
      if (group !== null && group.isEnded) {
        finishing.push(this.#finishAfter(running, group, pending));
        group = null;
        pending = [];
        running = [];
      }
      group ??= this.#storage.transactionOpenGroup!({ pipelined: this.#pipelined });
      const members = pending;
      let settled!: () => void;
      const memberSettled = new Promise<void>((resolve) => {
        settled = resolve;
      });
      const attempt = start(task, {
        trx: group.member(),
        settled,
        complete: (completion) =>
          new Promise<AckResult>((resolve, reject) => {
            members.push({ completion, resolve, reject });
          }),
      });
      attempts.push(attempt);
      const ended = Promise.race([memberSettled, attempt]);
      if (this.#pipelined) running.push(ended);
      else await ended;
    }
    if (group !== null) finishing.push(this.#finishAfter(running, group, pending));
    await Promise.all(finishing);
    await Promise.all(attempts);
  }

  /** {@link #finish} once every member in `running` has ended. */
  async #finishAfter(running: ReadonlyArray<Promise<void>>, group: StorageTransactionGroup<Tx>, pending: PendingCompletion[]): Promise<void> {
    await Promise.all(running);
    await this.#finish(group, pending);
  }

  /** Completes the group's successes and commits; on any failure, none of them is kept. */
  async #finish(group: StorageTransactionGroup<Tx>, pending: PendingCompletion[]): Promise<void> {
    if (group.isEnded && !group.isOpen && pending.length === 0) return;
    if (pending.length === 0) {
      await this.#quietly(group.rollback(), "Ending an empty commit group failed");
      return;
    }
    let failure: unknown = null;
    let rejected = new Set<string>();
    let cancelled = new Set<string>();
    if (group.isEnded) {
      failure = new StorageError("The commit group was discarded because one of its attempts was stopped; this attempt's writes were not kept");
    } else {
      try {
        const outcome = await this.#storage.taskCompleteMany({ attempts: pending.map((entry) => entry.completion), tx: group.tx });
        rejected = new Set(outcome.rejected);
        cancelled = new Set(outcome.cancelled);
        if (rejected.size > 0) {
          failure = new StorageError(
            `The commit group was rolled back because ${rejected.size} of its attempts had lost their lease; this attempt's writes were not kept`,
          );
        } else {
          await group.commit();
        }
      } catch (error) {
        failure = error;
      }
    }
    if (failure !== null) {
      await this.#quietly(group.isEnded ? Promise.resolve() : group.rollback(), "Rolling back a commit group failed");
      for (const entry of pending) {
        if (rejected.has(entry.completion.taskId)) entry.resolve("rejected");
        else entry.reject(failure);
      }
      return;
    }
    for (const entry of pending) entry.resolve(cancelled.has(entry.completion.taskId) ? "cancelled" : "succeeded");
  }

  async #quietly(operation: Promise<void>, message: string): Promise<void> {
    try {
      await operation;
    } catch (error) {
      this.#logger.warn({ error }, message);
    }
  }
}
