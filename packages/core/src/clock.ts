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
