import { StorageError } from "@underway/core";

/**
 * A statement that begins or ends a transaction (`ROLLBACK TO SAVEPOINT` ends none), after any
 * leading white space and comments; the command is the first group.
 */
const BEGINS_OR_ENDS_TRANSACTION =
  /^(?:\s|--[^\n]*(?:\n|$)|\/\*(?:[^*]|\*(?!\/))*\*\/)*(begin|start\s+transaction|commit|end|abort|prepare\s+transaction|rollback(?!\s+(?:work\s+|transaction\s+)?to\b))\b/i;

/**
 * The refusal of a query, on the transaction handed out as `tx` (an attempt's `cx.tx`, a handle
 * from `transactionOpen()`), that would begin or end a transaction; null for any other query.
 *
 * Such a handle is ended by its owner (`commit()`, `rollback()`, the worker for an attempt): a
 * `COMMIT` sent through it, also the one drizzle's `db.transaction()` sends, would make the
 * attempt's writes permanent before its success is recorded, and in a commit group the writes of
 * other attempts too. A nested transaction is a `SAVEPOINT`, which stays allowed. Only the first
 * statement of a text is looked at, past leading comments.
 */
export function transactionControlRefusal(args: ReadonlyArray<unknown>): StorageError | null {
  const first = args[0];
  const text = typeof first === "string" ? first : typeof (first as { text?: unknown })?.text === "string" ? (first as { text: string }).text : null;
  if (text === null) return null;
  const match = BEGINS_OR_ENDS_TRANSACTION.exec(text);
  if (match === null) return null;
  const command = match[1]!.split(/\s+/).join(" ").toUpperCase();
  return new StorageError(
    `${command} is refused on this transaction: its owner commits or rolls it back (for an attempt's cx.tx, the worker), and a nested transaction is a SAVEPOINT`,
  );
}
