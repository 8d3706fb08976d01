import { createHash } from "node:crypto";

/**
 * One SQL statement with a stable name. On node-postgres the name makes it a prepared statement,
 * parsed once per connection; PGlite runs the text.
 */
export interface SqlStatement {
  readonly name: string;
  readonly text: string;
}

/** Names a statement after a hash of its text, so two schemas never share a prepared name. */
export function sqlStatement(text: string): SqlStatement {
  const digest = createHash("sha1").update(text).digest("hex").slice(0, 20);
  return { name: `underway_${digest}`, text };
}
