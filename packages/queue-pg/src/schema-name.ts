import { ConfigError } from "@underway/core";

const PLAIN_IDENTIFIER = /^[A-Za-z_][A-Za-z0-9_]{0,62}$/;

/** The schema Underway uses when none is given. */
export const DEFAULT_SCHEMA = "underway";

/**
 * Checks a schema name and returns it quoted for SQL. Only plain identifiers are accepted, so a
 * name can never carry SQL of its own into a statement.
 *
 * @throws ConfigError when the name is not a plain identifier.
 */
export function quoteSchemaName(schema: unknown): string {
  if (typeof schema !== "string" || !PLAIN_IDENTIFIER.test(schema)) {
    throw new ConfigError(
      `The schema name ${JSON.stringify(schema)} is not a plain identifier: use letters, digits and underscores ` +
        "(at most 63, not starting with a digit), e.g. \"underway\"",
    );
  }
  return `"${schema}"`;
}
