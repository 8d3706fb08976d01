/**
 * Test helpers of `@underway/queue-pg`, for the test suites of Underway's packages and of
 * applications: a fresh migrated database per test file on a real server, a PGlite storage, an
 * application side-effect table to count effects, and a connection killer for fault tests.
 *
 * @example
 * ```ts
 * import { createTestDatabase, createEffectsTable, effectStats } from "@underway/queue-pg/testing";
 *
 * const database = await createTestDatabase();
 * await createEffectsTable(database.pool);
 * // ... run workers whose tasks call insertEffect(cx.tx, key) ...
 * expect((await effectStats(database.pool)).duplicateKeys).toBe(0);
 * await database.drop();
 * ```
 *
 * @packageDocumentation
 */
export { createTestDatabase, testServerUrl, type TestDatabase, type TestDatabaseOptions } from "./test-database.js";
export { createPgliteStorage, type PgliteStorageOptions } from "./pglite-storage.js";
export { createEffectsTable, insertEffect, effectStats, listEffectKeys } from "./effects.js";
export { countConnections, terminateConnections, type TerminateConnectionsOptions } from "./terminate-connections.js";
export {
  countTasksByState,
  taskTableTuples,
  vacuumTaskTable,
  type TaskStateCounts,
  type TaskTableTuples,
} from "./task-table-stats.js";
