import { StorageError } from "@underway/core";
import type { PoolClient } from "pg";
import { isConnectionError, mapDriverError } from "../map-driver-error.js";

/**
 * Ends the transaction open on `client` with `command` and gives the client up: back to the pool
 * through `returnToPool` when it is healthy, destroyed when a statement on it failed.
 *
 * @throws StorageError when COMMIT rolled back (a statement inside the transaction had failed),
 *   and the mapped driver error when `command` itself failed; a ROLLBACK on a connection that
 *   died is no error, as the server rolled back when it died.
 */
export async function endTransactionOn(client: PoolClient, command: "COMMIT" | "ROLLBACK", returnToPool: (client: PoolClient) => void): Promise<void> {
  try {
    const result = await client.query(command);
    returnToPool(client);
    // Postgres answers COMMIT on an aborted transaction with ROLLBACK and no error.
    if (command === "COMMIT" && (result as { command?: string }).command === "ROLLBACK") {
      throw new StorageError("The transaction was rolled back at commit because a statement inside it failed");
    }
  } catch (error) {
    if (StorageError.isInstance(error)) throw error;
    client.release(error instanceof Error ? error : true);
    if (command === "ROLLBACK" && isConnectionError(error)) return;
    throw mapDriverError(error, command === "COMMIT" ? "commit" : "rollback");
  }
}
