import { ConfigError, describeArgument } from "@underway/core";

/**
 * What PgStorage accepts as a transaction (`{ tx }`) and hands tasks as `cx.tx`: anything with a
 * node-postgres style `query(text, params)`. A node-postgres client on which `BEGIN` was run, a
 * PGlite transaction, and the handle from `transactionOpen()` all qualify.
 */
export interface PgQueryable {
  /**
   * Runs one statement with `$1`-style parameters and answers its rows. Rows are typed `any`:
   * callers choose their own row types, as with node-postgres itself.
   */
  query(text: string, params?: unknown[]): Promise<{ rows: any[]; rowCount?: number | null; affectedRows?: number }>;
}

/**
 * @throws ConfigError unless `tx` has a `query` method; called before a statement is sent on a
 * caller's transaction, so a wrong `{ tx }` fails clearly and writes nothing.
 */
export function assertQueryable(tx: unknown): asserts tx is PgQueryable {
  if (typeof (tx as Partial<PgQueryable> | null | undefined)?.query !== "function") {
    throw new ConfigError(
      `tx expects a transaction with a query(text, params) method (a node-postgres client on which BEGIN was run, a PGlite transaction, or cx.tx), got ${describeArgument(tx)}`,
    );
  }
}

// With this package installed, `cx.tx` in tasks and job steps is typed as a PgQueryable by default.
declare module "@underway/core" {
  interface Register {
    tx: PgQueryable;
  }
}
