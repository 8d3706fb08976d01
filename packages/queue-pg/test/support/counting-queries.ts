import type pg from "pg";

/** Counts the queries submitted on every client `pool` hands out while `work` runs. */
export async function countingQueries<T>(pool: pg.Pool, work: () => Promise<T>): Promise<{ result: T; queries: number }> {
  let queries = 0;
  const originals = new Map<{ query: unknown }, unknown>();
  const onAcquire = (client: pg.PoolClient) => {
    const counted = client as unknown as { query: (...args: unknown[]) => unknown };
    if (originals.has(counted)) return;
    const original = counted.query;
    originals.set(counted, original);
    counted.query = (...args: unknown[]) => {
      queries += 1;
      return original.apply(client, args);
    };
  };
  pool.on("acquire", onAcquire);
  try {
    return { result: await work(), queries };
  } finally {
    pool.off("acquire", onAcquire);
    for (const [client, original] of originals) client.query = original;
  }
}
