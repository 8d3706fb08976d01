/** Options of {@link Job.enqueue} and {@link Job.enqueueAfter}. */
export interface JobEnqueueOptions<Tx> {
  /** Create the run inside this transaction: it exists (and starts) only when that commits. */
  tx?: Tx;
  /**
   * One run per key: while a run of this job with the same key is pending or running (any of its
   * steps), enqueueing returns that run (`deduplicated: true`) and writes nothing. The key is
   * free again once the run has succeeded, failed or been cancelled. A non-empty string of at
   * most 512 characters; `null` or absent means no key.
   */
  dedupeKey?: string | null;
}

/** Options of {@link Job.enqueueMany}. */
export interface JobEnqueueManyOptions<Input, Tx> {
  /** Create the runs inside this transaction, all or nothing. */
  tx?: Tx;
  /**
   * Each run's key (see {@link JobEnqueueOptions.dedupeKey}), from its input. Runs of one call
   * that share a key are one run: the first of them.
   */
  dedupeKey?: (input: Input) => string | null | undefined;
}
