import { ConfigError } from "./errors.js";

/** One log method: structured fields first, then the message (the order pino uses). */
export type LogMethod = (fields: Record<string, unknown>, message: string) => void;

/**
 * The logger Underway writes to. `console` and pino both satisfy it.
 *
 * @example
 * ```ts
 * new Worker(queue, task, { logger: pino() });
 * new Worker(queue, task, { logger: console });
 * ```
 */
export interface Logger {
  /** Routine details: each schedule fire, pruned tasks, errors of dedicated connections. */
  debug: LogMethod;
  /** Notable events that need no action: leadership changes, the listening connection is back. */
  info: LogMethod;
  /** Something went wrong and is being handled: a dropped connection, a retried acknowledgement. */
  warn: LogMethod;
  /** Something failed: a claim, a worker or scheduler loop, an event subscriber that threw. */
  error: LogMethod;
}

/** A logger that drops everything. */
export const silentLogger: Logger = {
  debug: () => undefined,
  info: () => undefined,
  warn: () => undefined,
  error: () => undefined,
};

/** The default logger: warnings and errors to the console, debug and info dropped. */
export const defaultLogger: Logger = {
  debug: () => undefined,
  info: () => undefined,
  warn: (fields, message) => console.warn(`[underway] ${message}`, fields),
  error: (fields, message) => console.error(`[underway] ${message}`, fields),
};

/**
 * A logger option, checked: it must have the four methods of {@link Logger}.
 *
 * @param option - the option as the message names it, e.g. `"logger"` or `"PgStorage's logger"`.
 * @throws {@link ConfigError} naming the first missing method.
 */
export function checkedLogger(logger: unknown, option = "logger"): Logger {
  for (const level of ["debug", "info", "warn", "error"] as const) {
    if (typeof (logger as Partial<Logger> | null | undefined)?.[level] !== "function") {
      throw new ConfigError(`${option} must have debug, info, warn and error methods (console and pino do); ${level} is missing`);
    }
  }
  return logger as Logger;
}
