import { afterEach, beforeEach, describe } from "vitest";
import { cancelCases } from "./cancel-cases.js";
import { claimCases } from "./claim-cases.js";
import { concurrencyKeyCases } from "./concurrency-key-cases.js";
import { ConformanceFixture } from "./conformance-fixture.js";
import type { ConformanceHarness, ConformanceOptions } from "./conformance-harness.js";
import { enqueueCases } from "./enqueue-cases.js";
import { eventCases } from "./event-cases.js";
import { failCases } from "./fail-cases.js";
import { fencingCases } from "./fencing-cases.js";
import { claimedFollowUpCases } from "./claimed-follow-up-cases.js";
import { followUpCases } from "./follow-up-cases.js";
import { leaseCases } from "./lease-cases.js";
import { lockCases } from "./lock-cases.js";
import { nextRunAtCases } from "./next-run-at-cases.js";
import { pruneCases } from "./prune-cases.js";
import { requeueCases } from "./requeue-cases.js";
import { retryCases } from "./retry-cases.js";
import { scheduleCases } from "./schedule-cases.js";
import { transactionCases } from "./transaction-cases.js";

/**
 * Declares the storage conformance suite, a vitest `describe` block that a storage must pass in
 * full: the executable form of the `StorageAdapter` contract.
 *
 * `setup` runs before every test with a {@link ConformanceOptions.clock} the storage must read
 * "now" from; the suite moves that clock to expire leases, delays and TTLs without waiting. A
 * fresh storage per test is fine; a storage over a shared database works too, because every test
 * uses its own queue names (`conformance-<random>`) and lock keys. When the harness provides `raw`
 * reads, every task and attempt the suite reads through the adapter is compared with the raw row.
 *
 * @param name - shown in the suite's title, e.g. `"PgStorage (pg.Pool)"`.
 * @param setup - builds the storage under test for one test.
 *
 * @example
 * ```ts
 * import { runStorageConformance } from "@underway/core/conformance";
 * import { MemoryStorage } from "@underway/core/testing";
 *
 * runStorageConformance("MemoryStorage", async ({ clock }) => {
 *   const storage = new MemoryStorage({ clock });
 *   return { storage, raw: storage.raw, teardown: () => storage.close() };
 * });
 * ```
 */
export function runStorageConformance<Tx>(
  name: string,
  setup: (options: ConformanceOptions) => Promise<ConformanceHarness<Tx>>,
): void {
  describe(`storage conformance: ${name}`, () => {
    const fixture = new ConformanceFixture<Tx>(setup);
    beforeEach(() => fixture.start());
    afterEach(() => fixture.stop());

    enqueueCases(fixture);
    claimCases(fixture);
    fencingCases(fixture);
    leaseCases(fixture);
    retryCases(fixture);
    failCases(fixture);
    cancelCases(fixture);
    requeueCases(fixture);
    followUpCases(fixture);
    claimedFollowUpCases(fixture);
    concurrencyKeyCases(fixture);
    scheduleCases(fixture);
    lockCases(fixture);
    eventCases(fixture);
    transactionCases(fixture);
    pruneCases(fixture);
    nextRunAtCases(fixture);
  });
}
