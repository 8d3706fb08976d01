import type { Clock } from "../clock.js";

/**
 * A clock that only moves when told to, for tests of leases, delays and TTLs.
 *
 * @example
 * ```ts
 * const clock = new ManualClock(new Date("2030-01-01T00:00:00Z"));
 * clock.advance(5_000);
 * clock.now(); // 2030-01-01T00:00:05Z
 * ```
 */
export class ManualClock implements Clock {
  #nowMs: number;

  constructor(start: Date = new Date()) {
    this.#nowMs = start.getTime();
  }

  now(): Date {
    return new Date(this.#nowMs);
  }

  /** Moves time forward by `ms` milliseconds. */
  advance(ms: number): void {
    if (!Number.isFinite(ms) || ms < 0) throw new RangeError(`ManualClock.advance expects a non-negative number, got ${ms}`);
    this.#nowMs += ms;
  }

  /** Sets the time. */
  set(date: Date): void {
    this.#nowMs = date.getTime();
  }
}
