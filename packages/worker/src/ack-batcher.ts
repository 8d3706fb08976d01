import type { ClaimedTask, Logger, StorageAdapter, TaskCompleteParams } from "@underway/core";

/** One success to acknowledge: the attempt, its output and its follow-ups (no transaction). */
export type AttemptCompletion = Omit<TaskCompleteParams<never>, "tx">;

/** How the storage took one acknowledged success. */
export type AckResult = "succeeded" | "cancelled" | "rejected";

/** What became of one acknowledged success. */
export interface AckOutcome {
  result: AckResult;
  /** Its follow-up written already claimed for this worker (see `FollowUpTask.claim`), if any. */
  claimedFollowUp: ClaimedTask | null;
}

/** Options of {@link AckBatcher}. */
export interface AckBatcherOptions {
  /** The most completions written by one `taskCompleteMany` call. */
  maxBatchSize: number;
  /** Tries per batch before its completions are given up to lease recovery. */
  maxTries?: number;
  /** Backoff before the second try, in ms; doubles after each failed try. */
  retryDelayMs?: number;
  logger: Logger;
  /** Called after each batch has been written or given up, so a waiting claimer can go on. */
  onBatchSettled?: () => void;
}

interface PendingAck {
  completion: AttemptCompletion;
  resolve(outcome: AckOutcome): void;
  reject(error: unknown): void;
}

/**
 * Acknowledges the successes of attempts that never opened a transaction, many per statement.
 *
 * A completion handed over while no write is in flight is written at once (after the current
 * tick, so completions of the same tick share it); completions handed over during a write wait
 * for it and then go together. This keeps latency at one round trip when the worker is quiet and
 * turns a busy worker's acknowledgements into a few bulk statements (DESIGN §5).
 */
export class AckBatcher {
  readonly #storage: StorageAdapter<unknown>;
  readonly #maxBatchSize: number;
  readonly #maxTries: number;
  readonly #retryDelayMs: number;
  readonly #logger: Logger;
  readonly #onBatchSettled: () => void;
  #pending: PendingAck[] = [];
  #flushing: Promise<void> | null = null;

  constructor(storage: StorageAdapter<unknown>, options: AckBatcherOptions) {
    this.#storage = storage;
    this.#maxBatchSize = Math.max(1, options.maxBatchSize);
    this.#maxTries = options.maxTries ?? 4;
    this.#retryDelayMs = options.retryDelayMs ?? 200;
    this.#logger = options.logger;
    this.#onBatchSettled = options.onBatchSettled ?? (() => {});
  }

  /** Completions waiting for, or being written by, a statement. */
  get size(): number {
    return this.#pending.length;
  }

  /**
   * Queues one completion. Resolves once the storage has taken it; rejects when every try of its
   * batch failed (the lease then recovers the task).
   */
  add(completion: AttemptCompletion): Promise<AckOutcome> {
    return new Promise<AckOutcome>((resolve, reject) => {
      this.#pending.push({ completion, resolve, reject });
      this.#flushing ??= this.#drain();
    });
  }

  /** Resolves once every completion queued so far has been written or given up. */
  async flush(): Promise<void> {
    while (this.#flushing !== null) await this.#flushing;
  }

  async #drain(): Promise<void> {
    // Let the other completions of this tick join the first statement.
    await Promise.resolve();
    try {
      while (this.#pending.length > 0) {
        const batch = this.#pending.splice(0, this.#maxBatchSize);
        await this.#write(batch);
        this.#onBatchSettled();
      }
    } finally {
      this.#flushing = null;
    }
  }

  async #write(batch: PendingAck[]): Promise<void> {
    let delayMs = this.#retryDelayMs;
    for (let tryNumber = 1; ; tryNumber += 1) {
      try {
        const outcome = await this.#storage.taskCompleteMany({ attempts: batch.map((entry) => entry.completion) });
        const rejected = new Set(outcome.rejected);
        const cancelled = new Set(outcome.cancelled);
        // After a failed try, "rejected" may mean that the failed try did commit.
        const landedEarlier = tryNumber > 1 && rejected.size > 0 ? await this.#landedEarlier(batch, rejected) : null;
        const claimedById = new Map(outcome.claimedFollowUps.map((task) => [task.id, task]));
        for (const entry of batch) {
          const { taskId, followUps } = entry.completion;
          const result = landedEarlier?.get(taskId) ?? (rejected.has(taskId) ? "rejected" : cancelled.has(taskId) ? "cancelled" : "succeeded");
          const marked = followUps?.find((followUp) => followUp.claim === true);
          entry.resolve({ result, claimedFollowUp: marked === undefined ? null : (claimedById.get(marked.task.id) ?? null) });
        }
        return;
      } catch (error) {
        if (tryNumber >= this.#maxTries) {
          for (const entry of batch) entry.reject(error);
          return;
        }
        this.#logger.warn({ error, tasks: batch.length, tryNumber }, "Acknowledging finished tasks failed; trying again");
        await new Promise((resolve) => setTimeout(resolve, delayMs));
        delayMs = Math.min(delayMs * 2, 5_000);
      }
    }
  }

  /**
   * A try that failed on the way back (the connection dropped after the commit) may have written
   * its completions, so a retry finds them no longer running. A task that finished with the very
   * attempt presented was finished by that earlier try: no other attempt can finish it without a
   * new claim, which would have moved its current attempt on. Its follow-ups were written then;
   * one written claimed for this worker is left to its lease.
   */
  async #landedEarlier(batch: PendingAck[], rejected: ReadonlySet<string>): Promise<Map<string, AckResult>> {
    const landed = new Map<string, AckResult>();
    await Promise.all(
      batch
        .filter((entry) => rejected.has(entry.completion.taskId))
        .map(async ({ completion }) => {
          try {
            const record = await this.#storage.taskGet({ taskId: completion.taskId });
            if (record === null || record.currentAttempt !== completion.attempt) return;
            if (record.state === "succeeded" || record.state === "cancelled") landed.set(completion.taskId, record.state);
          } catch (error) {
            this.#logger.warn({ error, taskId: completion.taskId }, "Could not read back a task whose acknowledgement was retried");
          }
        }),
    );
    return landed;
  }
}
