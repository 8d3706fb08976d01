import { ConfigError, optionsObject, validateQueueName, type Queue, type StorageAdapter } from "@underway/core";

/** Options of {@link gracefulShutdown}. */
export interface GracefulShutdownOptions {
  /** Only the workers and schedulers of this queue (a name or a queue); by default, all of them. */
  queue?: string | Queue<any, any>;
}

/**
 * Asks every worker and scheduler using `storage`, in every process, to shut down gracefully: of
 * one queue, or of all queues. The request travels through the storage (NOTIFY on Postgres), so a
 * deploy script or an admin endpoint can stop a whole fleet.
 *
 * @example
 * ```ts
 * await gracefulShutdown(new PgStorage(pool), { queue: "welcome-email" });
 * ```
 *
 * @throws {@link ConfigError} (as a rejection) when `storage` is not a storage adapter, `options`
 * is not an object, or `queue` is neither a queue name nor a queue (a string that is not a valid
 * queue name included); nothing is sent.
 */
export async function gracefulShutdown(storage: StorageAdapter<any>, options: GracefulShutdownOptions = {}): Promise<void> {
  if (typeof storage !== "object" || storage === null || typeof storage.notifyShutdown !== "function") {
    throw new ConfigError("gracefulShutdown(storage) expects a storage adapter such as new PgStorage(pool)");
  }
  if (typeof options !== "object" || options === null) {
    throw new ConfigError("gracefulShutdown(storage, options) expects options such as { queue: \"welcome-email\" }, or none");
  }
  optionsObject(options, "gracefulShutdown(storage, options)", { queue: true });
  const { queue } = options;
  if (queue === undefined) {
    await storage.notifyShutdown({});
    return;
  }
  const queueName = typeof queue === "string" ? queue : typeof queue === "object" && queue !== null ? queue.name : undefined;
  if (typeof queueName !== "string" || queueName.length === 0) {
    throw new ConfigError("gracefulShutdown's queue option must be a queue name or a Queue");
  }
  // A name no queue can have stops nothing: refuse it rather than send it.
  await storage.notifyShutdown({ queueName: validateQueueName(queueName, "gracefulShutdown's queue name") });
}
