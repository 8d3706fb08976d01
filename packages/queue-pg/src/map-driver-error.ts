import { StorageError, StorageUnavailableError, UnderwayError } from "@underway/core";

const UNAVAILABLE_NODE_CODES = new Set(["ECONNREFUSED", "ECONNRESET", "EPIPE", "ETIMEDOUT", "ENOTFOUND", "EHOSTUNREACH", "ECONNABORTED"]);
// admin_shutdown, crash_shutdown, cannot_connect_now, too_many_connections
const UNAVAILABLE_SQLSTATES = new Set(["57P01", "57P02", "57P03", "53300"]);
const CONNECTION_LOST_MESSAGES = [
  "connection terminated",
  "client has encountered a connection error",
  "client was closed and is not queryable",
  "cannot use a pool after calling end",
  "connection closed",
  "timeout exceeded when trying to connect",
  "pglite is closed",
];

/** The SQLSTATE of a driver error, if it has one. */
export function sqlState(error: unknown): string | undefined {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === "string" && /^[0-9A-Z]{5}$/.test(code) ? code : undefined;
}

/** Whether a driver error means the database could not be reached or the connection was lost. */
export function isConnectionError(error: unknown): boolean {
  if (typeof error !== "object" || error === null) return false;
  const code = (error as { code?: unknown }).code;
  if (typeof code === "string" && (UNAVAILABLE_NODE_CODES.has(code) || UNAVAILABLE_SQLSTATES.has(code) || code.startsWith("08"))) {
    return true;
  }
  const message = String((error as { message?: unknown }).message ?? "").toLowerCase();
  return CONNECTION_LOST_MESSAGES.some((fragment) => message.includes(fragment));
}

/**
 * Wraps a driver error in the matching Underway error, keeping it as `cause`. Underway errors
 * pass through unchanged, so a caller can map at every layer without double wrapping.
 */
export function mapDriverError(error: unknown, operation: string): UnderwayError {
  if (UnderwayError.isInstance(error)) return error;
  const detail = (error as { message?: unknown } | null)?.message ?? String(error);
  if (isConnectionError(error)) {
    return new StorageUnavailableError(`Postgres is unavailable (${operation}): ${String(detail)}`, { cause: error });
  }
  return new StorageError(`Postgres failed (${operation}): ${String(detail)}`, { cause: error });
}
