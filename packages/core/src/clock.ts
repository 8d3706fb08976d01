import { ConfigError } from "./errors.js";

/**
 * Where a storage reads the current time. Production code uses the storage's own clock (for
 * Postgres, the database server's `now()`); tests inject a manual clock to move time without
 * waiting.
 */
export interface Clock {
  /** The current time. */
  now(): Date;
}

/** The process's wall clock. */
export const systemClock: Clock = { now: () => new Date() };

/**
 * A clock option, checked: it must have a `now()` method.
 *
 * @param option - the option as the message names it, e.g. `"clock"`.
 * @throws {@link ConfigError} when it has none.
 */
export function checkedClock(clock: unknown, option = "clock"): Clock {
  if (typeof (clock as Partial<Clock> | null | undefined)?.now !== "function") {
    throw new ConfigError(`${option} must have a now() method returning a Date, such as { now: () => new Date() }`);
  }
  return clock as Clock;
}
