import { ConfigError, type LeaderLock, type Logger, type StorageTransaction, type StorageTransactionGroup } from "@underway/core";
import type { Client, ClientConfig, Pool, PoolClient } from "pg";
import { isConnectionError, mapDriverError } from "../map-driver-error.js";
import { assertQueryable, type PgQueryable } from "../pg-queryable.js";
import type { DatabaseDriver, ListenConnection, RawNotification } from "./database-driver.js";
import { PipelinedTransactionGroup, poolClientsPipeline } from "./pipelined-transaction-group.js";
import { PoolTransaction } from "./pool-transaction.js";
import { prefixedQueriesFor, type PrefixedQueries } from "./prefixed-query.js";
import type { SqlStatement } from "./sql-statement.js";

/** The `application_name` of the listening connection, so operators (and fault tests) can spot it. */
export const LISTENER_APPLICATION_NAME = "underway-listener";
/** The `application_name` of leadership lock connections. */
export const LOCK_APPLICATION_NAME = "underway-lock";

/** How a {@link PoolDriver} uses connections (PgStorage's `preparedStatements` and `sessionConnection`). */
export interface PoolConnectionOptions {
  /** Statements run as named prepared statements; when false they are sent unnamed. */
  readonly preparedStatements: boolean;
  /** Where connections that need a session of their own connect; undefined: the pool's options. */
  readonly sessionConnection: ClientConfig | undefined;
}

/**
 * The node-postgres driver: statements run as named prepared statements on the pool (unnamed
 * ones with `preparedStatements: false`); the listening connection and leadership locks get
 * connections of their own.
 */
export class PoolDriver implements DatabaseDriver {
  readonly kind = "pg" as const;
  #pool: Pool;
  #logger: Logger;
  #dedicatedClients = new Set<Client>();
  /** Statements with commands ahead of them in one round trip; null where the clients cannot send them. */
  readonly #prefixed: PrefixedQueries | null;

  /** Whether the pool's clients can pipeline: node-postgres' own from 8.23 on (not pg-native, not earlier versions). */
  readonly pipelinesGroups: boolean;

  readonly #connectionOptions: PoolConnectionOptions;

  constructor(pool: Pool, logger: Logger, connectionOptions: PoolConnectionOptions) {
    this.#pool = pool;
    this.#logger = logger;
    this.#connectionOptions = connectionOptions;
    this.#prefixed = prefixedQueriesFor(pool);
    this.pipelinesGroups = this.#prefixed !== null && poolClientsPipeline(pool);
  }

  async run(statement: SqlStatement, values: unknown[]): Promise<any[]> {
    const result = await this.#pool.query(this.#config(statement, values));
    return result.rows;
  }

  async runOn(queryable: PgQueryable, statement: SqlStatement, values: unknown[]): Promise<any[]> {
    assertQueryable(queryable);
    const query = queryable.query as unknown as (config: { name?: string; text: string; values: unknown[] }) => Promise<{ rows: any[] }>;
    const result = await query.call(queryable, this.#config(statement, values));
    return result.rows;
  }

  /** The query config of `statement`: named (prepared once per connection) unless prepared statements are off. */
  #config(statement: SqlStatement, values: unknown[]): { name?: string; text: string; values: unknown[] } {
    return this.#connectionOptions.preparedStatements ? { name: statement.name, text: statement.text, values } : { text: statement.text, values };
  }

  async withTransaction<T>(work: (queryable: PgQueryable) => Promise<T>): Promise<T> {
    let client: PoolClient;
    try {
      client = await this.#pool.connect();
    } catch (error) {
      throw mapDriverError(error, "transaction begin");
    }
    // Checked-out clients have no pool listener; a connection cut between two statements must
    // fail the next statement, not crash the process with an unhandled 'error' event.
    const ignoreClientError = (): void => undefined;
    client.on("error", ignoreClientError);
    try {
      await client.query("BEGIN");
      const result = await work(client as unknown as PgQueryable);
      await client.query("COMMIT");
      client.removeListener("error", ignoreClientError);
      client.release();
      return result;
    } catch (error) {
      if (isConnectionError(error)) {
        client.release(error instanceof Error ? error : true);
      } else {
        await client.query("ROLLBACK").then(
          () => {
            client.removeListener("error", ignoreClientError);
            client.release();
          },
          (rollbackError: unknown) => client.release(rollbackError instanceof Error ? rollbackError : true),
        );
      }
      throw error;
    }
  }

  transactionOpen(): StorageTransaction<PgQueryable> {
    return new PoolTransaction(this.#pool, this.#prefixed);
  }

  transactionOpenPipelinedGroup(): StorageTransactionGroup<PgQueryable> {
    if (this.#prefixed === null || !this.pipelinesGroups) {
      throw new ConfigError("A pipelined commit group needs a pool of node-postgres' own clients (pg 8.23 or later), which pipeline");
    }
    return new PipelinedTransactionGroup(this.#pool, this.#prefixed);
  }

  async lockTry([scope, key]: [string, string]): Promise<LeaderLock | null> {
    const client = await this.#connectDedicated(LOCK_APPLICATION_NAME);
    let acquired: boolean;
    try {
      const result = await client.query("select pg_try_advisory_lock(hashtext($1), hashtext($2)) as acquired", [scope, key]);
      acquired = result.rows[0]?.acquired === true;
    } catch (error) {
      await this.#endDedicated(client);
      throw mapDriverError(error, "lockTry");
    }
    if (!acquired) {
      await this.#endDedicated(client);
      return null;
    }
    const controller = new AbortController();
    const lose = (reason: unknown) => {
      if (!controller.signal.aborted) controller.abort(reason);
      void this.#endDedicated(client);
    };
    client.on("error", (error: Error) => lose(mapDriverError(error, "leader lock connection")));
    client.on("end", () => lose(new Error("The leader lock connection ended")));
    let released = false;
    return {
      signal: controller.signal,
      release: async () => {
        if (released) return;
        released = true;
        try {
          if (!controller.signal.aborted) await client.query("select pg_advisory_unlock(hashtext($1), hashtext($2))", [scope, key]);
        } catch {
          // Ending the session below releases the lock anyway.
        }
        if (!controller.signal.aborted) controller.abort(new Error("The leader lock was released"));
        await this.#endDedicated(client);
      },
    };
  }

  async listen(channels: ReadonlyArray<string>, onNotification: (notification: RawNotification) => void): Promise<ListenConnection> {
    const client = await this.#connectDedicated(LISTENER_APPLICATION_NAME);
    let markLost: (reason: unknown) => void = () => undefined;
    const lost = new Promise<unknown>((resolve) => {
      markLost = resolve;
    });
    let closing = false;
    client.on("notification", (message) => onNotification({ channel: message.channel, payload: message.payload ?? "" }));
    client.on("error", (error: Error) => {
      if (!closing) markLost(error);
    });
    client.on("end", () => {
      if (!closing) markLost(new Error("The listening connection ended"));
    });
    try {
      await client.query(channels.map((channel) => `LISTEN "${channel}"`).join("; "));
    } catch (error) {
      closing = true;
      await this.#endDedicated(client);
      throw mapDriverError(error, "listen");
    }
    return {
      lost,
      close: async () => {
        closing = true;
        await this.#endDedicated(client);
      },
    };
  }

  async close(): Promise<void> {
    await Promise.all([...this.#dedicatedClients].map((client) => this.#endDedicated(client)));
  }

  async #connectDedicated(applicationName: string): Promise<Client> {
    const pool = this.#pool as Pool & { Client: new (config: ClientConfig) => Client; options: ClientConfig };
    const config = this.#connectionOptions.sessionConnection ?? pool.options;
    const client = new pool.Client({ ...config, application_name: applicationName });
    // A dedicated connection that errors must never take the process down; owners watch 'end'.
    client.on("error", (error: Error) => this.#logger.debug({ error, applicationName }, "dedicated connection error"));
    try {
      await client.connect();
    } catch (error) {
      void client.end().catch(() => undefined);
      throw mapDriverError(error, `connect ${applicationName}`);
    }
    this.#dedicatedClients.add(client);
    return client;
  }

  async #endDedicated(client: Client): Promise<void> {
    if (!this.#dedicatedClients.delete(client)) return;
    await client.end().catch(() => undefined);
  }
}
