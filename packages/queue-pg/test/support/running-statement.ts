import type { TestDatabase } from "@underway/queue-pg/testing";
import { waitFor } from "./new-task.js";

/** Waits until a statement starting with `prefix` is running in the test database. */
export async function waitForRunningStatement(database: TestDatabase, prefix: string): Promise<void> {
  await waitFor(async () => {
    const active = await database.pool.query(
      "select count(*)::int as count from pg_stat_activity where datname = $1 and state = 'active' and starts_with(query, $2)",
      [database.name, prefix],
    );
    return active.rows[0].count === 1;
  }, `a running statement starting with ${prefix}`);
}
