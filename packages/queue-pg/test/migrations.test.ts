import { readdirSync, readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { ConfigError } from "@underway/core";
import { loadMigrations, PgStorage, runMigrations } from "@underway/queue-pg";
import { createTestDatabase, type TestDatabase } from "@underway/queue-pg/testing";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { newTask } from "./support/new-task.js";

let database: TestDatabase;
beforeAll(async () => {
  database = await createTestDatabase();
});
afterAll(() => database?.drop());

describe("the migrations built into the package", () => {
  it("are every file of migrations/, in order and unchanged", () => {
    const folder = fileURLToPath(new URL("../migrations/", import.meta.url));
    const files = readdirSync(folder).filter((file) => file.endsWith(".sql")).sort();
    expect(files.length).toBeGreaterThan(0);
    expect(loadMigrations().map((migration) => `${migration.name}.sql`)).toEqual(files);
    for (const migration of loadMigrations()) {
      expect(migration.sql, migration.name).toBe(readFileSync(`${folder}${migration.name}.sql`, "utf8"));
      expect(migration.version, migration.name).toBe(Number.parseInt(migration.name, 10));
    }
  });
});

describe("runMigrations", () => {
  it("lets 5 concurrent runs succeed, applying each migration once", async () => {
    const applied = await Promise.all(Array.from({ length: 5 }, () => runMigrations(database.pool, { schema: "concurrent_runs" })));
    expect(applied.reduce((sum, count) => sum + count, 0)).toBeGreaterThan(0);
    expect(applied.filter((count) => count > 0)).toHaveLength(1);
    const bookkeeping = await database.pool.query("select count(*)::int as count from concurrent_runs.underway_migrations");
    expect(bookkeeping.rows[0].count).toBe(applied.reduce((sum, count) => sum + count, 0));
  });

  it("does nothing on a second run", async () => {
    const before = await database.pool.query("select version, applied_at from underway.underway_migrations order by version");
    expect(await runMigrations(database.pool)).toBe(0);
    const after = await database.pool.query("select version, applied_at from underway.underway_migrations order by version");
    expect(after.rows).toEqual(before.rows);
  });

  it("leaves search_path alone", async () => {
    const client = await database.pool.connect();
    try {
      const before = (await client.query("show search_path")).rows[0].search_path;
      await runMigrations(database.pool, { schema: "path_check" });
      const after = (await client.query("show search_path")).rows[0].search_path;
      expect(after).toBe(before);
      expect(after).not.toContain("path_check");
    } finally {
      client.release();
    }
  });

  it("works in a custom schema, apart from the default one", async () => {
    await runMigrations(database.pool, { schema: "Tenant_42" });
    const storage = new PgStorage(database.pool, { schema: "Tenant_42" });
    const task = newTask({ tenant: 42 });
    await storage.taskEnqueue({ queueName: "custom", tasks: [task] });
    expect((await storage.taskClaim({ queueName: "custom", limit: 1 })).map((claimed) => claimed.id)).toEqual([task.id]);
    expect(await database.storage.taskGet({ taskId: task.id })).toBeNull();
    const stored = await database.pool.query(`select count(*)::int as count from "Tenant_42".task`);
    expect(stored.rows[0].count).toBe(1);
  });

  it("upgrades a schema made by the first migration, keeping its tasks and attempts, to tasks keyed by id and attempts on the task row", async () => {
    const schema = "upgrade_check";
    await runMigrations(database.pool, { schema });
    // Put the schema back the way the first migration left it.
    // (Later migrations' additions stay: this code's statements need them, and they leave the keys alone.)
    await database.pool.query(`
      drop view ${schema}.task_attempt_history;
      alter table ${schema}.task_attempt drop constraint task_attempt_pkey;
      alter table ${schema}.task_attempt add primary key (task_queue_name, task_id, attempt_number);
      alter table ${schema}.task_attempt drop constraint task_attempt_task_fkey;
      alter table ${schema}.task drop constraint task_pkey;
      alter table ${schema}.task add primary key (task_queue_name, id);
      create unique index task_id_key on ${schema}.task (id);
      alter table ${schema}.task_attempt add constraint task_attempt_task_fkey
        foreign key (task_queue_name, task_id) references ${schema}.task (task_queue_name, id) on delete cascade;
      delete from ${schema}.underway_migrations where version >= 2;`);
    const storage = new PgStorage(database.pool, { schema });
    const task = newTask({ kept: true });
    await storage.taskEnqueue({ queueName: "upgrade", tasks: [task] });
    const [first] = await storage.taskClaim({ queueName: "upgrade", limit: 1 });
    await storage.taskRetry({ queueName: "upgrade", taskId: task.id, attempt: first!.attempt, delayMs: 0, errorMessage: "first try failed" });
    const [second] = await storage.taskClaim({ queueName: "upgrade", limit: 1 });
    expect(second!.attempt).toBe(2);
    // A running attempt as the first schema's claims wrote it: a row of its own.
    await database.pool.query(
      `insert into ${schema}.task_attempt (task_id, task_queue_name, attempt_number, state, started_at, updated_at)
       values ($1, 'upgrade', 2, 'in_progress', now(), now())`,
      [task.id],
    );

    expect(await runMigrations(database.pool, { schema })).toBe(3);

    const keys = await database.pool.query(
      `select indrelid::regclass::text as on_table, pg_get_indexdef(indexrelid) as definition
         from pg_index where indrelid in ($1::regclass, $2::regclass) and indisunique and indpred is null
         order by 1`,
      [`${schema}.task`, `${schema}.task_attempt`],
    );
    expect(keys.rows.map((row) => row.definition)).toEqual([
      expect.stringMatching(/task_pkey ON upgrade_check\.task USING btree \(id\)$/),
      expect.stringMatching(/task_attempt_pkey ON upgrade_check\.task_attempt USING btree \(task_id, attempt_number\)$/),
    ]);
    expect(await storage.taskAttempts({ taskId: task.id })).toMatchObject([
      { attemptNumber: 1, state: "failed", errorMessage: "first try failed" },
      { attemptNumber: 2, state: "in_progress", completedAt: null },
    ]);
    await storage.taskComplete({ queueName: "upgrade", taskId: task.id, attempt: second!.attempt, output: { done: true } });
    expect(await storage.taskGet({ taskId: task.id })).toMatchObject({ state: "succeeded", output: { done: true } });
    expect(await storage.taskAttempts({ taskId: task.id })).toMatchObject([
      { attemptNumber: 1, state: "failed" },
      { attemptNumber: 2, state: "succeeded" },
    ]);
    // Attempt rows still go with their task.
    await database.pool.query(`delete from ${schema}.task where id = $1`, [task.id]);
    const left = await database.pool.query(`select count(*)::int as count from ${schema}.task_attempt`);
    expect(left.rows[0].count).toBe(0);
  });

  it("rejects a schema name that is not a plain identifier, before touching the database", async () => {
    const hostile = 'x"; drop table y; --';
    await expect(runMigrations(database.pool, { schema: hostile })).rejects.toBeInstanceOf(ConfigError);
    expect(() => new PgStorage(database.pool, { schema: hostile })).toThrow(ConfigError);
    for (const name of ["", "1abc", "a-b", "a".repeat(64), "naïve"]) {
      expect(() => new PgStorage(database.pool, { schema: name }), name).toThrow(ConfigError);
    }
  });

  it("refuses a database that is neither a pool nor PGlite, and options that are not what they should be", async () => {
    for (const notADatabase of [undefined, null, {}, "postgres://localhost", 5]) {
      await expect(runMigrations(notADatabase as never)).rejects.toThrow(/runMigrations\(database\) expects a pg.Pool or a PGlite instance/);
      expect(() => new PgStorage(notADatabase as never)).toThrow(/new PgStorage\(database\) expects a pg.Pool or a PGlite instance/);
    }
    await expect(runMigrations(database.pool, null as never)).rejects.toThrow(/runMigrations\(database, options\) expects an options object/);
    expect(() => new PgStorage(database.pool, "underway" as never)).toThrow(/new PgStorage\(database, options\) expects an options object/);
    expect(() => new PgStorage(database.pool, { logger: 5 as never })).toThrow(/PgStorage's logger must have debug, info, warn and error methods/);
    expect(() => new PgStorage(database.pool, { logger: { ...console, warn: undefined } as never })).toThrow(/warn is missing/);
    expect(() => new PgStorage(database.pool, { clock: 5 as never })).toThrow(/PgStorage's clock must have a now\(\) method/);
    expect(() => new PgStorage(database.pool, { clock: new Date() as never })).toThrow(ConfigError);
    // Valid ones still build.
    expect(new PgStorage(database.pool, { logger: console, clock: { now: () => new Date() } })).toBeInstanceOf(PgStorage);
  });
});
