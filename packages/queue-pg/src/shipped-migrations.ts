import initial from "../migrations/0001_initial.sql";
import taskKeyedById from "../migrations/0002_task_keyed_by_id.sql";
import currentAttemptOnTask from "../migrations/0003_current_attempt_on_task.sql";
import deadLetteredFrom from "../migrations/0004_dead_lettered_from.sql";

/** A migration file as shipped: its name (without `.sql`) and its text. */
export interface ShippedMigrationFile {
  /** The file name without `.sql`, e.g. `0001_initial`. */
  readonly name: string;
  /** The file's SQL. */
  readonly sql: string;
}

/**
 * The files of `migrations/`, in order, built into the package's code: a bundler that copies no
 * files (esbuild, webpack, ncc, a serverless build) keeps them, and nothing is read from disk at
 * run time. The folder stays the source and ships for operators to read; a test checks that
 * this list holds every file in it, unchanged.
 */
export const SHIPPED_MIGRATION_FILES: ReadonlyArray<ShippedMigrationFile> = [
  { name: "0001_initial", sql: initial },
  { name: "0002_task_keyed_by_id", sql: taskKeyedById },
  { name: "0003_current_attempt_on_task", sql: currentAttemptOnTask },
  { name: "0004_dead_lettered_from", sql: deadLetteredFrom },
];
