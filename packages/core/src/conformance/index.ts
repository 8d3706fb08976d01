/**
 * The storage conformance suite of Underway: one vitest suite that every implementation of the
 * storage contract (`StorageAdapter` from `@underway/core`) must pass. It checks claims (order,
 * exclusivity under 50 parallel claimers), fencing, leases and reclaim, retries, dead-letter moves,
 * cancel, dedupe and concurrency keys, follow-ups, schedules, locks, events, transactions and TTL
 * pruning, with an injected clock instead of real waiting. Requires `vitest` (an optional peer).
 *
 * @example
 * ```ts
 * // test/my-storage.conformance.test.ts
 * import { runStorageConformance } from "@underway/core/conformance";
 *
 * runStorageConformance("MyStorage", async ({ clock }) => {
 *   const storage = await MyStorage.connect({ clock });
 *   return { storage, teardown: () => storage.close() };
 * });
 * ```
 *
 * @packageDocumentation
 */
export { runStorageConformance } from "./run-storage-conformance.js";
export type { ConformanceHarness, ConformanceOptions } from "./conformance-harness.js";
