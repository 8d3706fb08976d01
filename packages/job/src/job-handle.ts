/** A running job (worker and scheduler), as returned by `job.start()`. */
export interface JobHandle {
  /**
   * Stops gracefully: the worker stops claiming and finishes in-flight steps, the scheduler
   * releases leadership. Resolves when both have stopped. Safe to call twice.
   */
  shutdown(): Promise<void>;
  /** Resolves when both the worker and the scheduler have stopped. */
  readonly done: Promise<void>;
  /** The signal shared by the worker and the scheduler; aborted by `shutdown()`. */
  readonly signal: AbortSignal;
}
