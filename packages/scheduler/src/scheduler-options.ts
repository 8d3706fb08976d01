import { ConfigError, MAX_TIMER_MS, checkedLogger, optionsObject, type OptionNames, defaultLogger, type JsonValue, type Logger } from "@underway/core";

/**
 * What to do with occurrences whose time passed while no scheduler was leading (every process was
 * down, or the leader was stalled or cut off from the database).
 * - `"skip"` (default, as the Rust crate): a new leader starts with the next occurrence after
 *   "now"; a leader that fell behind fires only the latest overdue occurrence.
 * - `{ catchUp: n }`: a new leader fires the missed occurrences since the schedule last fired, at
 *   most the `n` most recent ones, oldest first; a leader that fell behind does the same.
 */
export type MissedFirePolicy = "skip" | { catchUp: number };

/** What one fire enqueues: the task's input and, optionally, a correlation id. */
export interface FireInput<Input> {
  /** The input of the task the fire enqueues. */
  input: Input;
  /** The correlation id of that task; none when absent or null. */
  correlationId?: string | null;
}

/** How a {@link Scheduler} runs. Every field is optional. */
export interface SchedulerOptions<Input = unknown> {
  /** Where the scheduler logs. Default: warnings and errors to the console. */
  logger?: Logger;
  /** Missed-fire policy; default `"skip"`. */
  missedFires?: MissedFirePolicy;
  /**
   * How often a standby scheduler tries to take leadership, in ms. Default 1 000, so a dead leader
   * is replaced within about a second once its database session ends.
   */
  standbyRetryMs?: number;
  /** How often the leader re-reads the schedule, in ms: changes apply within this. Default 1 000. */
  refreshIntervalMs?: number;
  /**
   * Turns the stored schedule input into one fire's task input. Default: the stored input as is.
   * `@underway/job` uses it to start a fresh job run, with its own id, per fire.
   */
  fireInput?: (storedInput: JsonValue, fireAt: Date) => FireInput<Input>;
}

/** {@link SchedulerOptions} with defaults applied and every value checked. */
export interface ResolvedSchedulerOptions<Input> {
  /** See {@link SchedulerOptions.logger}. */
  logger: Logger;
  /** How many overdue occurrences to fire when leadership starts (0 under `"skip"`). */
  catchUpOnStart: number;
  /** How many overdue occurrences to fire when a running leader fell behind (at least 1). */
  catchUpWhileLeading: number;
  /** See {@link SchedulerOptions.standbyRetryMs}. */
  standbyRetryMs: number;
  /** See {@link SchedulerOptions.refreshIntervalMs}. */
  refreshIntervalMs: number;
  /** See {@link SchedulerOptions.fireInput}. */
  fireInput: (storedInput: JsonValue, fireAt: Date) => FireInput<Input>;
}

const SCHEDULER_OPTION_NAMES: OptionNames<SchedulerOptions> = {
  logger: true,
  missedFires: true,
  standbyRetryMs: true,
  refreshIntervalMs: true,
  fireInput: true,
};

/** The defaults of {@link SchedulerOptions}. */
export const SCHEDULER_DEFAULTS = Object.freeze({
  standbyRetryMs: 1_000,
  refreshIntervalMs: 1_000,
});

/** The largest catch-up bound: more than this in one go would flood the queue by mistake. */
export const MAX_CATCH_UP = 10_000;

/**
 * Applies defaults and checks every option, so a bad configuration fails when the scheduler is
 * built.
 *
 * @throws ConfigError naming the option and what it accepts.
 */
export function resolveSchedulerOptions<Input>(options: SchedulerOptions<Input> = {}): ResolvedSchedulerOptions<Input> {
  if (typeof options !== "object" || options === null) {
    throw new ConfigError("Scheduler options must be an object such as { missedFires: \"skip\" }");
  }
  optionsObject(options, "new Scheduler(queue, task, options)", SCHEDULER_OPTION_NAMES);
  const logger = checkedLogger(options.logger ?? defaultLogger);
  const policy = options.missedFires ?? "skip";
  let catchUpOnStart: number;
  let catchUpWhileLeading: number;
  if (policy === "skip") {
    catchUpOnStart = 0;
    catchUpWhileLeading = 1;
  } else if (typeof policy === "object" && policy !== null && "catchUp" in policy) {
    const bound = policy.catchUp;
    if (typeof bound !== "number" || !Number.isInteger(bound) || bound < 1 || bound > MAX_CATCH_UP) {
      throw new ConfigError(`missedFires.catchUp must be an integer from 1 to ${MAX_CATCH_UP} (how many missed fires to enqueue), got ${String(bound)}`);
    }
    catchUpOnStart = bound;
    catchUpWhileLeading = bound;
  } else {
    throw new ConfigError(`missedFires must be "skip" or { catchUp: n }, got ${JSON.stringify(policy)}`);
  }
  const standbyRetryMs = interval(options.standbyRetryMs ?? SCHEDULER_DEFAULTS.standbyRetryMs, "standbyRetryMs");
  const refreshIntervalMs = interval(options.refreshIntervalMs ?? SCHEDULER_DEFAULTS.refreshIntervalMs, "refreshIntervalMs");
  if (options.fireInput !== undefined && typeof options.fireInput !== "function") {
    throw new ConfigError("fireInput must be a function (storedInput, fireAt) => ({ input, correlationId? })");
  }
  const fireInput = options.fireInput ?? ((storedInput: JsonValue) => ({ input: storedInput as Input }));
  return { logger, catchUpOnStart, catchUpWhileLeading, standbyRetryMs, refreshIntervalMs, fireInput };
}

function interval(value: unknown, name: string): number {
  if (typeof value !== "number" || !Number.isInteger(value) || value < 1 || value > MAX_TIMER_MS) {
    throw new ConfigError(`${name} must be a whole number of milliseconds from 1 to ${MAX_TIMER_MS}, got ${String(value)}`);
  }
  return value;
}
