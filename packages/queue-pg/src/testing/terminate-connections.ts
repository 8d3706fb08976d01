import { LISTENER_APPLICATION_NAME } from "../drivers/pool-driver.js";
import type { PgQueryable } from "../pg-queryable.js";

/** Which connections {@link terminateConnections} ends. */
export interface TerminateConnectionsOptions {
  /** Only connections to this database. */
  databaseName: string;
  /** Only connections with this `application_name`. */
  applicationName?: string;
  /** Only Underway's LISTEN connections. */
  listenersOnly?: boolean;
}

/** The connections `options` selects, other than the one the statement runs on. */
const SELECTED_CONNECTIONS = `from pg_stat_activity
     where datname = $1 and pid <> pg_backend_pid()
       and ($2::text is null or application_name = $2)
       and (not $3 or application_name = $4)`;

function selectionValues(options: TerminateConnectionsOptions): unknown[] {
  return [options.databaseName, options.applicationName ?? null, options.listenersOnly === true, LISTENER_APPLICATION_NAME];
}

/**
 * Ends server connections with `pg_terminate_backend`, as a crash or a network cut would, for
 * fault tests. Never ends the connection it runs on.
 *
 * @returns how many connections were terminated.
 */
export async function terminateConnections(db: PgQueryable, options: TerminateConnectionsOptions): Promise<number> {
  const result = await db.query(`select count(*) filter (where pg_terminate_backend(pid))::int as terminated ${SELECTED_CONNECTIONS}`, selectionValues(options));
  return Number((result.rows[0] as { terminated: number }).terminated);
}

/**
 * Counts the server connections {@link terminateConnections} would end with the same options:
 * for a fault test to wait until the connections it means to cut are there (a listener that
 * reconnected after the previous cut, say).
 */
export async function countConnections(db: PgQueryable, options: TerminateConnectionsOptions): Promise<number> {
  const result = await db.query(`select count(*)::int as connections ${SELECTED_CONNECTIONS}`, selectionValues(options));
  return Number((result.rows[0] as { connections: number }).connections);
}
