/**
 * Test helpers for Underway: an in-memory storage that implements the whole storage contract, and
 * a manual clock.
 *
 * @example
 * ```ts
 * import { MemoryStorage, ManualClock } from "@underway/core/testing";
 * const clock = new ManualClock();
 * const storage = new MemoryStorage({ clock });
 * clock.advance(60_000);
 * ```
 *
 * @packageDocumentation
 */
export * from "./manual-clock.js";
export * from "./memory-storage.js";
export * from "./memory-transaction-handle.js";
