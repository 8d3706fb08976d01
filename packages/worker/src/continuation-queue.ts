import { TaskNotFoundError, type ClaimedTask, type StorageAdapter } from "@underway/core";
import type { LeaseTimes } from "./lease-times.js";

interface WaitingContinuation {
  readonly claimed: ClaimedTask;
  timer: ReturnType<typeof setTimeout> | undefined;
}

/** What a {@link ContinuationQueue} reports. */
export interface ContinuationQueueHost {
  /** A heartbeat of a waiting follow-up failed for a reason other than a lost lease. */
  reportError(error: unknown, message: string, fields?: Record<string, unknown>): void;
}

/**
 * Follow-ups written claimed for this worker (a job's next steps) that wait for a free slot.
 *
 * They are claimed, so nobody else may run them, and their lease runs from the moment they were
 * written: while one waits (its worker's slots all taken by long attempts), the queue heartbeats
 * it like a running attempt, so its lease cannot run out and hand it to a second worker before
 * this one has even started it. A follow-up whose lease is found lost anyway is dropped: another
 * worker owns it.
 */
export class ContinuationQueue {
  readonly #storage: StorageAdapter<unknown>;
  readonly #host: ContinuationQueueHost;
  readonly #waiting: WaitingContinuation[] = [];
  readonly #leaseTimes: LeaseTimes;

  /** `leaseTimes` learns of each heartbeat that renewed a waiting follow-up's lease. */
  constructor(storage: StorageAdapter<unknown>, host: ContinuationQueueHost, leaseTimes: LeaseTimes) {
    this.#storage = storage;
    this.#host = host;
    this.#leaseTimes = leaseTimes;
  }

  /** How many follow-ups are waiting. */
  get size(): number {
    return this.#waiting.length;
  }

  /** Adds a follow-up; its lease is kept from its next heartbeat period on until it is taken. */
  add(claimed: ClaimedTask): void {
    const waiting: WaitingContinuation = { claimed, timer: undefined };
    this.#waiting.push(waiting);
    this.#keepLease(waiting);
  }

  /** The longest-waiting follow-up, which stops heartbeating here; undefined when none waits. */
  take(): ClaimedTask | undefined {
    const waiting = this.#waiting.shift();
    return waiting === undefined ? undefined : this.#stopKeeping(waiting);
  }

  /** Takes out the waiting follow-up `taskId`, which stops heartbeating here; undefined when it is not waiting. */
  remove(taskId: string): ClaimedTask | undefined {
    const index = this.#waiting.findIndex((waiting) => waiting.claimed.id === taskId);
    if (index === -1) return undefined;
    const [waiting] = this.#waiting.splice(index, 1);
    return this.#stopKeeping(waiting!);
  }

  /** A follow-up taken out of the queue: its lease is no longer kept here. */
  #stopKeeping(waiting: WaitingContinuation): ClaimedTask {
    clearTimeout(waiting.timer);
    waiting.timer = undefined;
    return waiting.claimed;
  }

  #keepLease(waiting: WaitingContinuation): void {
    const { claimed } = waiting;
    waiting.timer = setTimeout(() => {
      if (!this.#waiting.includes(waiting)) return;
      const sentAt = Date.now();
      this.#storage.taskHeartbeat({ queueName: claimed.queueName, taskId: claimed.id, attempt: claimed.attempt }).then(
        () => {
          this.#leaseTimes.renewed(claimed, sentAt);
          if (this.#waiting.includes(waiting)) this.#keepLease(waiting);
        },
        (error: unknown) => {
          const index = this.#waiting.indexOf(waiting);
          if (index === -1) return;
          if (TaskNotFoundError.isInstance(error)) {
            this.#waiting.splice(index, 1);
            return;
          }
          // One missed heartbeat is survivable: the lease is three heartbeats long.
          this.#host.reportError(error, "A heartbeat of a follow-up waiting for a slot failed", { taskId: claimed.id });
          this.#keepLease(waiting);
        },
      );
    }, claimed.heartbeatMs);
  }
}
