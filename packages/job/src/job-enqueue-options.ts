/** Options of {@link Job.enqueue} and {@link Job.enqueueAfter}. */
export interface JobEnqueueOptions<Tx> {
  /** Create the run inside this transaction: it exists (and starts) only when that commits. */
  tx?: Tx;
  /**
   * One run per key: while a run of this job with the same key is pending or running (any of its
   * steps), enqueueing returns that run (`deduplicated: true`) and writes nothing. The key is
   * free again once the run has succeeded, failed or been cancelled. A non-empty string of at
   * most 512 characters; `null` means no key; absent means the job's key from the run's input
   * when the builder set one (`.dedupeKey(...)`), no key otherwise.
   */
  dedupeKey?: string | null;
}

/** Options of {@link Job.enqueueMany}. */
export interface JobEnqueueManyOptions<Input, Tx> {
  /** Create the runs inside this transaction, all or nothing. */
  tx?: Tx;
  /**
   * Each run's key (see {@link JobEnqueueOptions.dedupeKey}), from its input; absent means the
   * job's (`.dedupeKey(...)` on the builder), if any. Runs of one call that share a key are one
   * run: the first of them.
   */
  dedupeKey?: (input: Input) => string | null | undefined;
}
