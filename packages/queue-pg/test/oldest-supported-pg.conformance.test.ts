import { createRequire } from "node:module";
import { runStorageConformance } from "@underway/core/conformance";
import { ConfigError } from "@underway/core";
import { PgStorage, type PgQueryable } from "@underway/queue-pg";
import { createTestDatabase, type TestDatabase } from "@underway/queue-pg/testing";
import type pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { poolHarness } from "./support/pool-harness.js";

// The storage on the oldest node-postgres its peer range admits (pg 8.11.0, installed under
// another name): the whole conformance suite, a transaction's first statement sent with BEGIN
// ahead of it, and commit groups. Pipelined groups need pg 8.23 and are not offered on it.
const oldestPg = createRequire(import.meta.url)("pg-oldest-supported") as typeof pg;

let database: TestDatabase;
let pool: pg.Pool;
beforeAll(async () => {
  database = await createTestDatabase();
  pool = new oldestPg.Pool({ connectionString: database.url, max: 60 });
  pool.on("error", () => undefined);
  await pool.query("create table note (body text primary key)");
});
afterAll(async () => {
  await pool?.end();
  await database?.drop();
});

it("is pg 8.11.0", () => {
  expect(createRequire(import.meta.url)("pg-oldest-supported/package.json").version).toBe("8.11.0");
});

runStorageConformance<PgQueryable>("PgStorage (pg.Pool of pg 8.11.0)", async (options) => poolHarness(pool, options));

describe("transactions on pg 8.11.0", () => {
  const notes = async () => (await pool.query("select body from note order by body")).rows.map((row: { body: string }) => row.body);

  it("commits a transaction whose first statement is a named one, and rolls one back", async () => {
    await pool.query("truncate note");
    const storage = new PgStorage(pool);
    const kept = storage.transactionOpen();
    const keptTx = kept.tx as unknown as pg.ClientBase;
    await keptTx.query({ name: "note_insert", text: "insert into note (body) values ($1)", values: ["kept"] });
    await keptTx.query({ name: "note_insert", text: "insert into note (body) values ($1)", values: ["kept too"] });
    await kept.commit();
    const undone = storage.transactionOpen();
    await undone.tx.query("insert into note (body) values ($1)", ["undone"]);
    await undone.rollback();
    expect(await notes()).toEqual(["kept", "kept too"]);
    expect(pool.totalCount - pool.idleCount).toBe(0);
  });

  it("runs commit groups, and refuses pipelined ones", async () => {
    await pool.query("truncate note");
    const storage = new PgStorage(pool);
    expect(storage.capabilities.groupCommit).toBe(true);
    expect(storage.capabilities.groupPipeline).toBe(false);
    expect(() => storage.transactionOpenGroup({ pipelined: true })).toThrow(ConfigError);
    const group = storage.transactionOpenGroup();
    const first = group.member();
    await first.tx.query("insert into note (body) values ($1)", ["first"]);
    await first.commit();
    const second = group.member();
    await second.tx.query("insert into note (body) values ($1)", ["second"]);
    await second.rollback();
    await group.commit();
    expect(await notes()).toEqual(["first"]);
  });
});
