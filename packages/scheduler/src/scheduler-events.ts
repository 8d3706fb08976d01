/** Why an occurrence was not enqueued by this scheduler. */
export type SkipReason =
  /** Its time passed while no scheduler could fire it, and the missed-fire policy drops it. */
  | "missed"
  /** Its fire key was already taken: another scheduler (or an earlier leader) enqueued it. */
  | "already-fired"
  /**
   * A live (pending or running) task of the queue holds the dedupe key of the occurrence's task,
   * so this occurrence starts nothing (the event's `taskId` names that task). The occurrence
   * counts as fired: it is not tried again.
   */
  | "deduplicated"
  /** `fireInput` threw, or the task rejected the input; the error is emitted as `scheduler:error`. */
  | "invalid-input";

/** The events of a {@link Scheduler}, by name. */
export type SchedulerEvents = {
  /** This scheduler took leadership of the queue's schedule. */
  "scheduler:leader": { queueName: string };
  /** Another scheduler leads (or leadership was lost); this one retries periodically. */
  "scheduler:standby": { queueName: string };
  /** An occurrence was enqueued. */
  "scheduler:fired": { queueName: string; fireAt: Date; taskId: string };
  /**
   * An occurrence was not enqueued by this scheduler. `taskId` is the task holding the dedupe
   * key when `reason` is `"deduplicated"`, null otherwise.
   */
  "scheduler:skipped": { queueName: string; fireAt: Date; reason: SkipReason; taskId: string | null };
  /** The leader found no schedule for the queue and waits for one. */
  "scheduler:waiting": { queueName: string };
  /** A storage call, a stored schedule or an input failed; the scheduler keeps running. */
  "scheduler:error": { queueName: string; error: unknown };
  /** `run()` is about to resolve. */
  "scheduler:stopped": { queueName: string };
};
