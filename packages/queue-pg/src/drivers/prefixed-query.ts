/** What a {@link PrefixedQuery} reports once Postgres answered it. */
export interface PrefixedQueryOutcome {
  /** The statement's result, or its error (the prefix's error when a prefix command failed). */
  readonly done: Promise<unknown>;
  /** Whether every prefix command completed (known once `done` settled). */
  prefixRan(): boolean;
}

/** The parts of node-postgres' connection a query writes its messages with. */
interface ProtocolConnection {
  stream: { cork?: () => void; uncork?: () => void };
  parse(message: { text: string }): void;
  bind(message: Record<string, never>): void;
  execute(message: Record<string, never>): void;
  on(event: "parseComplete", listener: () => void): unknown;
  removeListener(event: "parseComplete", listener: () => void): unknown;
  /** Named statements the server has parsed on this connection, by name (their text). */
  parsedStatements?: Record<string, string>;
  /** Named statements whose Parse was sent and not yet answered (node-postgres ≥ 8.12). */
  submittedNamedStatements?: Record<string, string>;
}

/** node-postgres' Query as seen from here: the protocol hooks it has besides its public type. */
interface QueryProtocol {
  name?: string;
  text?: string;
  rows?: number;
  values?: unknown;
  submit(connection: ProtocolConnection): Error | null | void;
  handleCommandComplete(message: unknown, connection: ProtocolConnection): void;
  handleError(error: unknown, connection: ProtocolConnection): void;
  handleReadyForQuery(connection: ProtocolConnection): void;
  requiresPreparation(): boolean;
}

/** A query config object of the caller's own (not a submittable, no callback of its own). */
function isPlainQueryConfig(config: unknown): boolean {
  if (typeof config !== "object" || config === null) return false;
  const fields = config as { submit?: unknown; callback?: unknown };
  return typeof fields.submit !== "function" && fields.callback === undefined;
}

/** node-postgres' Query class, as a pool's `Client.Query` exposes it. */
type QueryClass = new (config: unknown, values: unknown, callback: (error: Error | undefined, result: unknown) => void) => QueryProtocol;

/** A statement with commands ahead of it in its round trip, made by {@link prefixedQueriesFor}. */
export interface PrefixedQuery {
  /** Its outcome: resolves with the statement's result once Postgres answered. */
  outcome(): PrefixedQueryOutcome;
}

/** Makes the prefixed queries of one pool's clients. */
export interface PrefixedQueries {
  /**
   * The prefixed query for `query(...args)`, or null when the arguments are not a parameterised
   * or named statement without a callback or row limit (those are sent on their own, after the
   * prefix).
   */
  of(commands: ReadonlyArray<string>, args: ReadonlyArray<unknown>): PrefixedQuery | null;
}

const queriesByQueryClass = new WeakMap<object, PrefixedQueries>();

/**
 * The prefixed queries of `pool`'s clients, or null when they do not speak the protocol through
 * node-postgres' own connection (pg-native, say) and get their commands one at a time. The
 * queries extend the Query class of the pool's own copy of `pg` (its `Client.Query`): this
 * package loads without `pg` (on PGlite), and works with whichever copy of `pg` made the pool.
 */
export function prefixedQueriesFor(pool: unknown): PrefixedQueries | null {
  const Client = (pool as { Client?: unknown } | null)?.Client;
  if (typeof Client !== "function") return null;
  const Query = (Client as { Query?: unknown }).Query;
  if (typeof Query !== "function" || !speaksProtocol(Query.prototype)) return null;
  let queries = queriesByQueryClass.get(Query);
  if (queries === undefined) {
    queries = definePrefixedQueries(Query as QueryClass);
    queriesByQueryClass.set(Query, queries);
  }
  return queries;
}

/** Whether a Query prototype has the protocol hooks a prefixed query builds on. */
function speaksProtocol(prototype: unknown): boolean {
  if (typeof prototype !== "object" || prototype === null) return false;
  const hooks = prototype as Partial<Record<keyof QueryProtocol, unknown>>;
  return (
    typeof hooks.submit === "function" &&
    typeof hooks.handleCommandComplete === "function" &&
    typeof hooks.handleError === "function" &&
    typeof hooks.handleReadyForQuery === "function" &&
    typeof hooks.requiresPreparation === "function"
  );
}

/** The prefixed queries built on `QueryBase`, one pool's Query class. */
function definePrefixedQueries(QueryBase: QueryClass): PrefixedQueries {
  /**
   * A parameterised statement sent together with a few commands that go before it (`BEGIN`, a
   * savepoint), in one write and one round trip: each command as Parse/Bind/Execute of the unnamed
   * statement, then the statement's own messages and a single Sync. If a command fails, Postgres skips everything up
   * to that Sync, so the statement never runs without its prefix; its error is the query's error.
   *
   * Parameterised unnamed statements and named (prepared) statements qualify
   * ({@link PrefixedQueries.of}): node-postgres sends both with the extended protocol. A named
   * statement is parsed in the same round trip the first time it runs on a connection, and only
   * bound and executed after that. node-postgres notes a name as parsed on the first ParseComplete
   * of the round trip, which here is a prefix command's; so the query counts the ParseCompletes
   * itself and, when the statement's own never came (a prefix command or the statement's parse
   * failed), forgets the name again, leaving the client's record true to the server.
   */
  class PrefixedQueryOf extends QueryBase implements PrefixedQuery {
    readonly #commands: ReadonlyArray<string>;
    #pendingCommands: number;
    readonly #done: Promise<unknown>;
    #submitting = false;
    /** An error raised while the messages were being written, reported once Postgres answered. */
    #submitError: { error: unknown } | null = null;
    /** Set while a named statement's Parse travels with the prefix: ParseCompletes counted so far. */
    #parses: { seen: number; readonly onParseComplete: () => void } | null = null;

    constructor(commands: ReadonlyArray<string>, config: unknown, values: unknown) {
      let settle!: (error: Error | undefined, result: unknown) => void;
      super(config, values, (error, result) => settle(error, result));
      this.#commands = commands;
      this.#pendingCommands = commands.length;
      this.#done = new Promise((resolve, reject) => {
        settle = (error, result) => (error ? reject(error) : resolve(result));
      });
    }

    /** Its outcome: resolves with the statement's result once Postgres answered. */
    outcome(): PrefixedQueryOutcome {
      return { done: this.#done, prefixRan: () => this.#pendingCommands === 0 };
    }

    override submit(connection: ProtocolConnection): Error | null | void {
      const name = this.name;
      const knownText = name ? (connection.parsedStatements?.[name] ?? connection.submittedNamedStatements?.[name]) : undefined;
      // A name already used for another text: node-postgres refuses the query before writing
      // anything, so nothing of the prefix may be written either.
      if (name && this.text && knownText !== undefined && knownText !== this.text) return super.submit(connection);
      if (name && knownText === undefined) this.#watchParses(connection);
      connection.stream.cork?.();
      this.#submitting = true;
      try {
        for (const text of this.#commands) {
          connection.parse({ text });
          connection.bind({});
          connection.execute({});
        }
        return super.submit(connection);
      } finally {
        this.#submitting = false;
        connection.stream.uncork?.();
      }
    }

    /** Counts the round trip's ParseCompletes: the prefix commands' first, then the statement's. */
    #watchParses(connection: ProtocolConnection): void {
      const parses = {
        seen: 0,
        onParseComplete: () => {
          parses.seen += 1;
        },
      };
      this.#parses = parses;
      connection.on("parseComplete", parses.onParseComplete);
    }

    /**
     * Once the round trip is answered: a named statement whose own ParseComplete never came is not
     * on the server, whatever node-postgres noted; `closed` when node-postgres closed the statement
     * after a value failed to bind.
     */
    #settleParses(connection: ProtocolConnection, closed: boolean): void {
      const parses = this.#parses;
      this.#parses = null;
      if (parses !== null) connection.removeListener("parseComplete", parses.onParseComplete);
      const name = this.name;
      if (!name) return;
      const parsed = parses === null || parses.seen > this.#commands.length;
      if (parsed && !closed) return;
      if (connection.parsedStatements) delete connection.parsedStatements[name];
      if (connection.submittedNamedStatements) delete connection.submittedNamedStatements[name];
    }

    // A value that cannot be sent fails while the messages are written; node-postgres then closes
    // the statement and syncs, so the prefix still runs. The error waits for that answer, so that
    // whether the prefix ran is known when the query settles.
    override handleError(error: unknown, connection: ProtocolConnection): void {
      if (this.#submitting) {
        this.#submitError = { error };
        return;
      }
      this.#settleParses(connection, false);
      super.handleError(error, connection);
    }

    override handleReadyForQuery(connection: ProtocolConnection): void {
      const failed = this.#submitError;
      if (failed !== null) {
        this.#submitError = null;
        this.#settleParses(connection, true);
        super.handleError(failed.error, connection);
        return;
      }
      this.#settleParses(connection, false);
      super.handleReadyForQuery(connection);
    }

    override handleCommandComplete(message: unknown, connection: ProtocolConnection): void {
      if (this.#pendingCommands > 0) {
        this.#pendingCommands -= 1;
        return;
      }
      super.handleCommandComplete(message, connection);
    }
  }

  return {
    of(commands, args) {
      const [config, values, ...rest] = args;
      if (rest.length > 0 || (values !== undefined && !Array.isArray(values))) return null;
      if (typeof config !== "string" && !isPlainQueryConfig(config)) return null;
      const query = new PrefixedQueryOf(commands, config, values);
      if (query.rows || !query.requiresPreparation()) return null;
      if (!query.name && !Array.isArray(query.values)) return null;
      return query;
    },
  };
}
