import { createUnderwaySchema, runMigrations } from "@underway/queue-pg";
import { createTestDatabase, type TestDatabase } from "@underway/queue-pg/testing";
import { getTableConfig, getViewConfig, type PgTable } from "drizzle-orm/pg-core";
import { afterAll, beforeAll, expect, it } from "vitest";

let database: TestDatabase;
beforeAll(async () => {
  database = await createTestDatabase();
});
afterAll(() => database?.drop());

// information_schema's spelling of each drizzle SQL type.
function normalisedType(sqlType: string): string {
  if (sqlType.endsWith(".task_state") || sqlType === "task_state") return "task_state";
  if (sqlType.endsWith(".task_retry_policy")) return "task_retry_policy";
  const known: Record<string, string> = {
    text: "text",
    uuid: "uuid",
    jsonb: "jsonb",
    integer: "int4",
    interval: "interval",
    "timestamp with time zone": "timestamptz",
  };
  return known[sqlType] ?? sqlType;
}

it.each(["underway", "drizzle_check"])("describes the migrated schema %s exactly", async (schemaName) => {
  if (schemaName !== "underway") await runMigrations(database.pool, { schema: schemaName });
  const model = createUnderwaySchema(schemaName);
  const tables = [model.taskQueue, model.task, model.taskAttempt, model.taskSchedule, model.taskScheduleFire, model.migrations] as PgTable[];
  const fromModel = tables
    .flatMap((table) => {
      const config = getTableConfig(table);
      return config.columns.map((column) => `${config.name}.${column.name}:${normalisedType(column.getSQLType())}:${column.notNull ? "not null" : "null"}`);
    })
    .concat(
      // Postgres reports every column of a view as nullable.
      Object.values(getViewConfig(model.taskAttemptHistory).selectedFields).map(
        (column: any) => `task_attempt_history.${column.name}:${normalisedType(column.getSQLType())}:null`,
      ),
    )
    .sort();
  const result = await database.pool.query(
    `select table_name, column_name, udt_name, is_nullable from information_schema.columns where table_schema = $1`,
    [schemaName],
  );
  const fromDatabase = result.rows
    .map((row) => `${row.table_name}.${row.column_name}:${row.udt_name}:${row.is_nullable === "NO" ? "not null" : "null"}`)
    .sort();
  expect(fromModel).toEqual(fromDatabase);
  expect(fromModel.length).toBeGreaterThan(40);
});
