import type { PgQueryable } from "../pg-queryable.js";

// An application table outside the Underway schema, written by test tasks through `cx.tx`, so a
// test can count side effects: exactly-once shows as no duplicate keys. Deliberately not unique,
// or a duplicate would be hidden as an error instead of counted.

/** Creates `app_effect(key, note, created_at)`, indexed on key. */
export async function createEffectsTable(db: PgQueryable): Promise<void> {
  await db.query(
    "create table if not exists app_effect (key text not null, note text, created_at timestamptz not null default now())",
  );
  await db.query("create index if not exists app_effect_key_idx on app_effect (key)");
}

/** Records one side effect. */
export async function insertEffect(db: PgQueryable, key: string, note?: string): Promise<void> {
  await db.query("insert into app_effect (key, note) values ($1, $2)", [key, note ?? null]);
}

/** Row count, distinct keys, and how many keys occur more than once. */
export async function effectStats(db: PgQueryable): Promise<{ rows: number; distinctKeys: number; duplicateKeys: number }> {
  const result = await db.query(`
    select
      (select count(*) from app_effect)::int as rows,
      (select count(distinct key) from app_effect)::int as distinct_keys,
      (select count(*) from (select key from app_effect group by key having count(*) > 1) duplicated)::int as duplicate_keys`);
  const row = result.rows[0] as { rows: number; distinct_keys: number; duplicate_keys: number };
  return { rows: Number(row.rows), distinctKeys: Number(row.distinct_keys), duplicateKeys: Number(row.duplicate_keys) };
}

/** Every recorded key, sorted, with repeats. */
export async function listEffectKeys(db: PgQueryable): Promise<string[]> {
  const result = await db.query("select key from app_effect order by key, created_at");
  return result.rows.map((row: { key: string }) => row.key);
}
