import type { PGlite } from "@electric-sql/pglite";
import type { Pool } from "pg";
import type { NotificationListener } from "./listener.js";

/**
 * The notification listeners of the process, by database handle (a `pg.Pool` or a PGlite
 * instance, compared by identity) and then by schema name. Weakly held: a pool that is no longer
 * referenced takes its listeners with it.
 */
const listenersByDatabase = new WeakMap<Pool | PGlite, Map<string, NotificationListener>>();

/**
 * The {@link NotificationListener} of `database` and `schema` in this process, shared by every
 * PgStorage built on them, so a process holds one LISTEN connection per pool and schema however
 * many storages it builds. While the current listener has subscribers it is returned as is;
 * when it has none (it never had, or the last one left and its connection closed or is closing)
 * `createListener` makes a fresh one that replaces it. So the listener, and the logger it was
 * created with, belong to the storage whose subscription opens the connection.
 *
 * Subscribe to the returned listener at once, before awaiting anything: an idle listener may be
 * replaced by the next call.
 *
 * Different pools (even on the same server) and different schemas get separate listeners.
 */
export function sharedNotificationListener(
  database: Pool | PGlite,
  schema: string,
  createListener: () => NotificationListener,
): NotificationListener {
  let bySchema = listenersByDatabase.get(database);
  if (!bySchema) {
    bySchema = new Map();
    listenersByDatabase.set(database, bySchema);
  }
  let listener = bySchema.get(schema);
  if (!listener || listener.idle) {
    listener = createListener();
    bySchema.set(schema, listener);
  }
  return listener;
}
