import { transactionControlRefusal } from "./transaction-control.js";

/**
 * The object a transaction hands out as its `tx` (an attempt's `cx.tx`, a `transactionOpen()`
 * handle, a commit group or one of its members, on node-postgres or PGlite). A class instance, so
 * drivers do not mistake it for a query config; its name has no "Pool" in it, which drizzle's
 * node-postgres driver would take for a pool. `query` forwards every call shape to the
 * transaction, except a statement that would begin or end it, which is refused (see
 * {@link transactionControlRefusal}).
 */
export class TransactionQueryClient {
  readonly query: (...args: unknown[]) => Promise<any>;
  constructor(query: (...args: unknown[]) => Promise<any>) {
    this.query = (...args: unknown[]) => {
      const refusal = transactionControlRefusal(args);
      return refusal === null ? query(...args) : Promise.reject(refusal);
    };
  }
}
