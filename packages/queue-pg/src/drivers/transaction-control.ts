import { StorageError } from "@underway/core";
import { skipSpaceAndComments, statementStarts } from "./statement-starts.js";

/**
 * The start of a statement that begins or ends a transaction (`ROLLBACK TO SAVEPOINT` ends none);
 * the command is the first group. Sticky: it matches at `lastIndex`, where a statement's first
 * word is.
 */
const BEGINS_OR_ENDS_TRANSACTION =
  /(begin|start\s+transaction|commit|end|abort|prepare\s+transaction|rollback(?!\s+(?:work\s+|transaction\s+)?to\b))\b/iy;

/**
 * The refusal of a query, on the transaction handed out as `tx` (an attempt's `cx.tx`, a handle
 * from `transactionOpen()`), that would begin or end a transaction; null for any other query.
 *
 * Such a handle is ended by its owner (`commit()`, `rollback()`, the worker for an attempt): a
 * `COMMIT` sent through it, also the one drizzle's `db.transaction()` sends, would make the
 * attempt's writes permanent before its success is recorded, and in a commit group the writes of
 * other attempts too. A nested transaction is a `SAVEPOINT`, which stays allowed. Every statement
 * of a text is looked at, past its leading comments: a text sent with parameter values is one
 * statement (Postgres refuses more), a text without may be several (`insert …; commit`).
 */
export function transactionControlRefusal(args: ReadonlyArray<unknown>): StorageError | null {
  const first = args[0];
  const config = typeof first === "object" && first !== null ? (first as { text?: unknown; values?: unknown }) : null;
  const text = typeof first === "string" ? first : typeof config?.text === "string" ? config.text : null;
  if (text === null) return null;
  const values = config === null ? args[1] : config.values;
  const starts = Array.isArray(values) && values.length > 0 ? [0] : statementStarts(text);
  let match: RegExpExecArray | null = null;
  for (const start of starts) {
    BEGINS_OR_ENDS_TRANSACTION.lastIndex = skipSpaceAndComments(text, start);
    match = BEGINS_OR_ENDS_TRANSACTION.exec(text);
    if (match !== null) break;
  }
  if (match === null) return null;
  const command = match[1]!.split(/\s+/).join(" ").toUpperCase();
  return new StorageError(
    `${command} is refused on this transaction: its owner commits or rolls it back (for an attempt's cx.tx, the worker), and a nested transaction is a SAVEPOINT`,
  );
}
