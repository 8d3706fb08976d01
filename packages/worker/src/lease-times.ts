import { LEASE_HEARTBEATS, type ClaimedTask } from "@underway/core";

/**
 * When, by this process's clock, the lease of each task claimed for this worker was last set by
 * the storage, at the earliest: the sending of the statement that claimed it (a claim, or the
 * completion that wrote it claimed as a follow-up) or of its latest heartbeat that went through
 * while it waited for a slot. The storage set the lease after that moment, so the lease lasts at
 * least a lease's length from it. An attempt counts its lease from here rather than from its own
 * start, so one that cannot renew it gives it up no later than the storage can let it expire,
 * however long it waited for a slot or a commit group's turn.
 */
export class LeaseTimes {
  readonly #renewedFrom = new WeakMap<ClaimedTask, number>();

  /** The storage set (or renewed) `claimed`'s lease by a statement sent at `sentAt` (epoch ms). */
  renewed(claimed: ClaimedTask, sentAt: number): void {
    this.#renewedFrom.set(claimed, sentAt);
  }

  /** Each of `claimed` was claimed by a statement sent at `sentAt` (epoch ms). */
  claimed(claimed: ReadonlyArray<ClaimedTask>, sentAt: number): void {
    for (const task of claimed) this.#renewedFrom.set(task, sentAt);
  }

  /**
   * Until when (epoch ms) the attempt of `claimed` that starts at `now` can count on its lease:
   * a lease's length after it was last set, or after `now` for a task of unknown origin.
   */
  heldUntil(claimed: ClaimedTask, now: number): number {
    return (this.#renewedFrom.get(claimed) ?? now) + LEASE_HEARTBEATS * claimed.heartbeatMs;
  }
}
