import { ConfigError, MAX_TIMER_MS, checkedLogger, optionsObject, type OptionNames, defaultLogger, type Logger, type RandomSource } from "@underway/core";

/** How a {@link Worker} runs. Every field is optional; the defaults suit most queues. */
export interface WorkerOptions {
  /** The most tasks executing at once. Default 10. */
  concurrency?: number;
  /**
   * Fallback poll period in ms, for work that arrives without a notification (another storage's
   * process without LISTEN, an expired lease). Default 30 000.
   */
  pollIntervalMs?: number;
  /** Grace period for in-flight tasks when the worker shuts down, in ms. Default 30 000. */
  shutdownTimeoutMs?: number;
  /** The most tasks one claim statement takes. Default: `concurrency`. */
  claimBatchSize?: number;
  /** How often finished tasks past their TTL are pruned, in ms; 0 disables pruning. Default 3 600 000. */
  pruneIntervalMs?: number;
  /**
   * Group commit: up to this many claimed attempts share one transaction, one after another, each
   * in its own savepoint, and commit together. Worth it for many short tasks that write through
   * `cx.tx`: they save a transaction each. The attempts of a group run one at a time, so give
   * every group short work; a task that fails rolls back only its own writes, but one that times
   * out or loses its lease sends the whole group's successes back for a retry. Needs a storage with
   * the `groupCommit` capability (PgStorage on a pg.Pool). Keep it at 64 or below when the
   * attempts write: above that the worker logs a warning, as a group's savepoints then outgrow the
   * subtransactions Postgres caches per session. Default 1: every attempt has its own transaction.
   */
  groupCommit?: number;
  /**
   * With `groupCommit`: the attempts of a group run side by side instead of taking turns. Each
   * attempt's statements through `cx.tx` are sent as soon as it makes them, nested after the
   * savepoints of the attempts that wrote before it, so one round trip serves many attempts; an
   * attempt receives its results only once every attempt that wrote before it in the group has
   * finished, and when one of those rolls back (or sends another statement after later attempts
   * have written) the later attempts' statements are rolled back and sent again, unseen by them.
   * Every attempt thus sees what it would have seen had the group taken turns. Best for attempts
   * that make one or two statements; an attempt's timeout includes the time its results wait for
   * the attempts before it, and statements with effects a rollback cannot undo (sequence values,
   * session-level advisory locks) may take effect more than once. Needs a storage with the
   * `groupPipeline` capability (PgStorage on a pg.Pool of node-postgres clients, pg 8.23 or later). Default false.
   */
  groupPipeline?: boolean;
  /** Where the worker logs. Default: warnings and errors to the console. */
  logger?: Logger;
  /** Jitter source for retry backoff, uniform in [0, 1); injectable for tests. Default `Math.random`. */
  random?: RandomSource;
}

/** {@link WorkerOptions} with every default applied and every value checked. */
export interface ResolvedWorkerOptions {
  /** See {@link WorkerOptions.concurrency}. */
  concurrency: number;
  /** See {@link WorkerOptions.pollIntervalMs}. */
  pollIntervalMs: number;
  /** See {@link WorkerOptions.shutdownTimeoutMs}. */
  shutdownTimeoutMs: number;
  /** See {@link WorkerOptions.claimBatchSize}; defaults to the concurrency. */
  claimBatchSize: number;
  /** See {@link WorkerOptions.pruneIntervalMs}. */
  pruneIntervalMs: number;
  /** See {@link WorkerOptions.groupCommit}; 1 when not grouping. */
  groupCommit: number;
  /** See {@link WorkerOptions.groupPipeline}. */
  groupPipeline: boolean;
  /** See {@link WorkerOptions.logger}. */
  logger: Logger;
  /** See {@link WorkerOptions.random}. */
  random: RandomSource;
}

const WORKER_OPTION_NAMES: OptionNames<WorkerOptions> = {
  concurrency: true,
  pollIntervalMs: true,
  shutdownTimeoutMs: true,
  claimBatchSize: true,
  pruneIntervalMs: true,
  groupCommit: true,
  groupPipeline: true,
  logger: true,
  random: true,
};

/** The defaults of {@link WorkerOptions}. */
export const WORKER_DEFAULTS = Object.freeze({
  concurrency: 10,
  pollIntervalMs: 30_000,
  shutdownTimeoutMs: 30_000,
  pruneIntervalMs: 3_600_000,
});

/**
 * Applies the defaults and checks every option, so a bad configuration fails when the worker is
 * built rather than when it first claims.
 *
 * @throws {@link ConfigError} naming the option and saying what it accepts.
 */
export function resolveWorkerOptions(options: WorkerOptions = {}): ResolvedWorkerOptions {
  if (typeof options !== "object" || options === null) {
    throw new ConfigError("Worker options must be an object such as { concurrency: 10 }");
  }
  optionsObject(options, "new Worker(queue, task, options)", WORKER_OPTION_NAMES);
  const concurrency = positiveInteger(options.concurrency ?? WORKER_DEFAULTS.concurrency, "concurrency");
  const claimBatchSize = positiveInteger(options.claimBatchSize ?? concurrency, "claimBatchSize");
  const pollIntervalMs = timerDuration(options.pollIntervalMs ?? WORKER_DEFAULTS.pollIntervalMs, "pollIntervalMs", 1);
  const shutdownTimeoutMs = timerDuration(options.shutdownTimeoutMs ?? WORKER_DEFAULTS.shutdownTimeoutMs, "shutdownTimeoutMs", 0);
  const pruneIntervalMs = timerDuration(options.pruneIntervalMs ?? WORKER_DEFAULTS.pruneIntervalMs, "pruneIntervalMs", 0);
  const groupCommit = positiveInteger(options.groupCommit ?? 1, "groupCommit");
  const groupPipeline = options.groupPipeline ?? false;
  if (typeof groupPipeline !== "boolean") throw new ConfigError(`groupPipeline must be true or false, got ${String(groupPipeline)}`);
  if (groupPipeline && groupCommit < 2) throw new ConfigError("groupPipeline runs the attempts of a commit group side by side; set groupCommit to 2 or more");
  const logger = checkedLogger(options.logger ?? defaultLogger);
  const random = options.random ?? Math.random;
  if (typeof random !== "function") throw new ConfigError("random must be a function returning a number in [0, 1)");
  return { concurrency, pollIntervalMs, shutdownTimeoutMs, claimBatchSize, pruneIntervalMs, groupCommit, groupPipeline, logger, random };
}

function positiveInteger(value: unknown, name: string): number {
  if (typeof value !== "number" || !Number.isInteger(value) || value < 1 || value > 100_000) {
    throw new ConfigError(`${name} must be an integer between 1 and 100000, got ${String(value)}`);
  }
  return value;
}

function timerDuration(value: unknown, name: string, min: number): number {
  if (typeof value !== "number" || !Number.isInteger(value) || value < min || value > MAX_TIMER_MS) {
    throw new ConfigError(`${name} must be an integer number of milliseconds between ${min} and ${MAX_TIMER_MS}, got ${String(value)}`);
  }
  return value;
}
