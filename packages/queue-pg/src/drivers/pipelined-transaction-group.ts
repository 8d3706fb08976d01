import { StorageError, type StorageTransaction, type StorageTransactionGroup } from "@underway/core";
import type { Pool, PoolClient } from "pg";
import { mapDriverError } from "../map-driver-error.js";
import type { PgQueryable } from "../pg-queryable.js";
import { endTransactionOn } from "./end-transaction.js";
import { TransactionQueryClient } from "./transaction-query-client.js";
import type { PrefixedQueries } from "./prefixed-query.js";

type Outcome = { readonly ok: true; readonly value: unknown } | { readonly ok: false; readonly error: unknown };

/** One sending of a statement; a statement undone before its answer came is sent again. */
interface Flight {
  stale: boolean;
  /** Settles once Postgres answered this sending, whatever the answer. */
  answered: Promise<void>;
}

/** A statement a member made: sent (or waiting to be sent), answered, handed to the member. */
interface Statement {
  readonly args: ReadonlyArray<unknown>;
  readonly resolve: (value: unknown) => void;
  readonly reject: (error: unknown) => void;
  /** The sending whose answer counts; null while the statement waits to be sent (again). */
  flight: Flight | null;
  outcome: Outcome | null;
}

/** What a member asked for at its end, carried out when its turn comes. */
interface PendingEnd {
  readonly kind: "commit" | "rollback";
  readonly resolve: () => void;
  readonly reject: (error: unknown) => void;
}

/** A member and where its savepoint stands. */
interface MemberState {
  readonly savepoint: string;
  /** Its savepoint was sent in the current sending of its statements. */
  onServer: boolean;
  /** Whether Postgres made the savepoint; null until the answer came. */
  savepointMade: boolean | null;
  readonly statements: Statement[];
  end: PendingEnd | null;
}

/**
 * Whether the clients of `pool` can pipeline: node-postgres' own client from 8.23 on, which sends a
 * query without waiting for the one before it when its `pipeline` flag is set. Earlier versions
 * ignore the flag and answer a group's statements one round trip at a time, which a pipelined
 * group cannot work with, so it is not offered on them.
 */
export function poolClientsPipeline(pool: unknown): boolean {
  const Client = (pool as { Client?: unknown } | null)?.Client;
  if (typeof Client !== "function") return false;
  const prototype = (Client as { prototype?: { _pulsePipelinedQueryQueue?: unknown } }).prototype;
  return typeof prototype?._pulsePipelinedQueryQueue === "function";
}

/**
 * A commit group whose members run side by side (`transactionOpenGroup({ pipelined: true })`) on
 * one node-postgres connection in pipeline mode.
 *
 * The members that have written form a chain in the order of their first statements; each one's
 * savepoint is nested in those of the members before it. A member's statements are written as
 * soon as it makes them (the statements made in one tick travel in one write), so the group's
 * connection sees one round trip for many members instead of one per member. Results are held:
 * a member receives its answers only once every member before it in the chain has committed or
 * rolled back, that is, only answers it would also have received had the members run one after
 * another. When a member before it rolls back, or sends another statement while later members
 * are on the server, the later members' work is rolled back to their first savepoint and their
 * statements are sent again; they never saw the undone answers.
 *
 * Statements whose effects outlive a rolled-back savepoint (sequence values, session-level
 * advisory locks, anything outside the database) may therefore take effect more than once.
 */
export class PipelinedTransactionGroup implements StorageTransactionGroup<PgQueryable> {
  readonly tx: PgQueryable;
  readonly #pool: Pool;
  /** Makes the statements that carry a savepoint or BEGIN ahead of them in their round trip. */
  readonly #prefixed: PrefixedQueries;
  #client: PoolClient | null = null;
  #connecting: Promise<void> | null = null;
  #began = false;
  #ended = false;
  #endReason: unknown;
  /** Members with statements that have not ended yet, in savepoint order: the first is the one whose answers are handed out. */
  readonly #chain: MemberState[] = [];
  /** Later members' statements go before earlier members end; off after the first undo in the group. */
  #speculating = true;
  /** Set while later members' sending is undone: nothing else is sent meanwhile. */
  #undoing: Promise<void> | null = null;
  #savepoints = 0;
  #corked = false;
  readonly #onClientError = (): void => undefined;
  /** The group's own statements (completing its members) and its end wait for these. */
  #groupStatements: Array<Promise<unknown>> = [];

  constructor(pool: Pool, prefixed: PrefixedQueries) {
    this.#pool = pool;
    this.#prefixed = prefixed;
    this.tx = new TransactionQueryClient((...args: unknown[]) => this.#groupQuery(args)) as unknown as PgQueryable;
  }

  get isOpen(): boolean {
    return !this.#ended && this.#began;
  }

  get isEnded(): boolean {
    return this.#ended;
  }

  member(): StorageTransaction<PgQueryable> {
    if (this.#ended) throw this.#endedError();
    return new PipelinedMember(this);
  }

  async commit(): Promise<void> {
    await this.#end("COMMIT");
  }

  async rollback(): Promise<void> {
    await this.#end("ROLLBACK");
  }

  async discard(reason: unknown): Promise<void> {
    if (this.#ended && this.#client === null) return;
    if (!this.#ended) this.#endReason = reason;
    this.#ended = true;
    const client = this.#client;
    this.#client = null;
    // Destroying the connection guarantees that nothing a member still sends can reach COMMIT.
    if (client !== null) client.release(reason instanceof Error ? reason : new Error("transaction discarded"));
    const error = this.#endedError();
    for (const state of this.#chain.splice(0)) {
      for (const statement of state.statements) if (statement.outcome === null || statement.flight !== null) statement.reject(error);
      // A rollback asked for is done: nothing of the group is kept. A commit asked for is not.
      if (state.end?.kind === "rollback") state.end.resolve();
      else state.end?.reject(error);
    }
    await this.#connecting?.catch(() => undefined);
  }

  /** @internal A member's statement: sent when its turn allows, answered when its turn comes. */
  memberQuery(state: MemberState | null, args: ReadonlyArray<unknown>, join: () => MemberState): Promise<unknown> {
    if (this.#ended) return Promise.reject(this.#endedError());
    const joined = state ?? join();
    return new Promise((resolve, reject) => {
      joined.statements.push({ args, resolve, reject, flight: null, outcome: null });
      this.#pump();
    });
  }

  /** @internal A member's first statement makes it the last of the chain. */
  joinChain(): MemberState {
    this.#savepoints += 1;
    const state: MemberState = { savepoint: `underway_member_${this.#savepoints}`, onServer: false, savepointMade: null, statements: [], end: null };
    this.#chain.push(state);
    return state;
  }

  /** @internal A member ends: carried out once every member before it has ended. */
  memberEnd(state: MemberState, kind: "commit" | "rollback"): Promise<void> {
    if (this.#ended) return kind === "rollback" ? Promise.resolve() : Promise.reject(this.#endedError());
    return new Promise((resolve, reject) => {
      state.end = { kind, resolve, reject };
      this.#pump();
    });
  }

  /**
   * Sends what may be sent and hands out what may be handed out. Called after every change:
   * a statement made, an answer come, a member ending, the connection ready.
   */
  #pump(): void {
    if (this.#ended) return;
    if (this.#client === null) {
      this.#connecting ??= this.#connect();
      return;
    }
    if (this.#undoing !== null) return;
    const chain = this.#chain;
    const onServer = this.#onServerCount();
    // A member with a statement to send while later members are on the server: the statement must
    // run in the member's own savepoint, so the later members' work is undone first.
    for (let index = 0; index < onServer - 1; index += 1) {
      if (hasUnsent(chain[index]!)) {
        this.#undoAfter(index);
        return;
      }
    }
    for (let index = 0; index < chain.length; index += 1) {
      const state = chain[index]!;
      if (index > 0 && !this.#speculating) break;
      // Work that is about to be rolled back is not sent, nor anything nested after it.
      if (state.end?.kind === "rollback") break;
      if (index > 0 && !chain[index - 1]!.onServer) break;
      if (hasUnsent(state)) this.#send(state);
    }
    this.#handOut();
  }

  /** How many members, from the first, have their savepoint on the server. */
  #onServerCount(): number {
    const index = this.#chain.findIndex((state) => !state.onServer);
    return index === -1 ? this.#chain.length : index;
  }

  /** Writes `state`'s statements not sent yet, its savepoint ahead of the first of them. */
  #send(state: MemberState): void {
    const client = this.#client!;
    for (const statement of state.statements) {
      if (statement.flight !== null || statement.outcome !== null) continue;
      const prefix: string[] = [];
      const beginsHere = !this.#began;
      if (beginsHere) prefix.push("BEGIN");
      const opensSavepoint = !state.onServer;
      if (opensSavepoint) prefix.push(`savepoint ${state.savepoint}`);
      state.onServer = true;
      this.#began = true;
      this.#cork(client);
      let answer: Promise<unknown>;
      let prefixRan: () => boolean;
      const prefixed = prefix.length > 0 ? this.#prefixed.of(prefix, statement.args) : null;
      if (prefixed !== null) {
        (client.query as (submittable: unknown) => unknown)(prefixed);
        const outcome = prefixed.outcome();
        answer = outcome.done;
        prefixRan = outcome.prefixRan;
      } else {
        // Answered before the statement: the connection answers in the order it was written to.
        let ran = prefix.length === 0;
        if (prefix.length > 0) {
          client.query(prefix.join("; ")).then(
            () => (ran = true),
            () => undefined,
          );
        }
        prefixRan = () => ran;
        answer = (client.query as (...queryArgs: unknown[]) => Promise<unknown>)(...statement.args);
      }
      const flight: Flight = { stale: false, answered: answer.then(ignore, ignore) };
      statement.flight = flight;
      const answered = (outcome: Outcome): void => {
        // Without BEGIN every later statement would commit on its own: nothing may follow.
        if (beginsHere && !prefixRan()) {
          void this.discard(new StorageError("The commit group's transaction could not begin", { cause: outcome.ok ? undefined : outcome.error }));
          return;
        }
        if (flight.stale || this.#ended) return;
        if (opensSavepoint) state.savepointMade = prefixRan();
        statement.outcome = outcome;
        this.#handOut();
      };
      answer.then(
        (value) => answered({ ok: true, value }),
        (error: unknown) => answered({ ok: false, error }),
      );
    }
  }

  /**
   * Hands the first member its answers, in order, and carries out its end once all of its
   * statements are answered; the next member is then first.
   */
  #handOut(): void {
    for (;;) {
      if (this.#ended || this.#undoing !== null) return;
      const first = this.#chain[0];
      if (first === undefined) return;
      for (const statement of first.statements) {
        if (statement.outcome === null) break;
        if (statement.flight === null) continue; // handed out already
        statement.flight = null;
        if (statement.outcome.ok) statement.resolve(statement.outcome.value);
        else statement.reject(statement.outcome.error);
      }
      const end = first.end;
      if (end === null) return;
      if (end.kind === "commit") {
        if (first.statements.some((statement) => statement.outcome === null || statement.flight !== null)) {
          // Statements made but never sent (the group stopped sending ahead): send them now.
          if (hasUnsent(first)) this.#pump();
          return;
        }
        this.#chain.shift();
        end.resolve();
        // The next member's answers are its to receive now; its statements may go if they waited.
        if (this.#chain.length > 0 && hasUnsent(this.#chain[0]!)) {
          this.#pump();
          return;
        }
        continue;
      }
      this.#rollBackFirst(first, end);
      return;
    }
  }

  /** The first member rolls back: its work and the work of every later member is undone. */
  #rollBackFirst(first: MemberState, end: PendingEnd): void {
    if (first.onServer && first.statements.some((statement) => statement.flight !== null && statement.outcome === null)) return; // waits for its answers
    this.#chain.shift();
    const undone = this.#chain.filter((state) => state.onServer);
    for (const state of undone) resetSending(state);
    // Statements made but never sent: the attempt rolled back before they were.
    for (const statement of first.statements) if (statement.outcome === null) statement.reject(new StorageError("This attempt's transaction rolled back"));
    if (!first.onServer || first.savepointMade !== true) {
      end.resolve();
      this.#pump();
      return;
    }
    const client = this.#client!;
    this.#cork(client);
    this.#undoing = client.query(`rollback to savepoint ${first.savepoint}; release savepoint ${first.savepoint}`).then(
      () => {
        this.#undoing = null;
        end.resolve();
        this.#pump();
      },
      (error: unknown) => {
        this.#undoing = null;
        const failure = mapDriverError(error, "rollback");
        end.reject(failure);
        // A group whose savepoint cannot be restored must never commit.
        void this.discard(failure);
      },
    );
  }

  /**
   * Undoes the sending of every member after `index` (they saw none of its answers), so that the
   * member at `index` can send another statement in its own savepoint. Waits for their answers
   * first: a savepoint Postgres did not make (the transaction had failed before it) is not rolled
   * back to. The group sends no statement ahead of its turn after this.
   */
  #undoAfter(index: number): void {
    this.#speculating = false;
    const later = this.#chain.slice(index + 1).filter((state) => state.onServer);
    const answers = later.flatMap((state) => state.statements.map((statement) => statement.flight?.answered));
    const firstLater = later[0]!;
    this.#undoing = Promise.all(answers)
      .then(async () => {
        if (this.#ended) return;
        const made = firstLater.savepointMade === true;
        for (const state of later) resetSending(state);
        if (made) {
          const client = this.#client!;
          this.#cork(client);
          await client.query(`rollback to savepoint ${firstLater.savepoint}; release savepoint ${firstLater.savepoint}`);
        }
      })
      .then(
        () => {
          this.#undoing = null;
          this.#pump();
        },
        (error: unknown) => {
          this.#undoing = null;
          void this.discard(mapDriverError(error, "rollback"));
        },
      );
  }

  /** Statements made in one tick travel in one write. */
  #cork(client: PoolClient): void {
    if (this.#corked) return;
    const stream = (client as unknown as { connection: { stream: { cork?: () => void; uncork?: () => void } } }).connection.stream;
    if (typeof stream.cork !== "function") return;
    stream.cork();
    this.#corked = true;
    process.nextTick(() => {
      this.#corked = false;
      stream.uncork?.();
    });
  }

  async #connect(): Promise<void> {
    let client: PoolClient;
    try {
      client = await this.#pool.connect();
    } catch (error) {
      await this.discard(mapDriverError(error, "transaction begin"));
      return;
    }
    client.on("error", this.#onClientError);
    if (this.#ended) {
      client.release(new Error("transaction discarded while opening"));
      return;
    }
    (client as unknown as { pipeline: boolean }).pipeline = true;
    this.#client = client;
    this.#pump();
  }

  /** A statement of the group itself, once every member has ended. */
  async #groupQuery(args: unknown[]): Promise<unknown> {
    if (this.#ended) throw this.#endedError();
    if (this.#chain.length > 0) throw new StorageError("The commit group's own statements run after every member has ended");
    if (this.#client === null) await (this.#connecting ??= this.#connect());
    if (this.#ended || this.#client === null) throw this.#endedError();
    const client = this.#client;
    if (!this.#began) {
      this.#began = true;
      const prefixed = this.#prefixed.of(["BEGIN"], args);
      if (prefixed !== null) {
        (client.query as (submittable: unknown) => unknown)(prefixed);
        return this.#track(prefixed.outcome().done);
      }
      void this.#track(client.query("BEGIN"));
    }
    return this.#track((client.query as (...queryArgs: unknown[]) => Promise<unknown>)(...args));
  }

  #track(answer: Promise<unknown>): Promise<unknown> {
    this.#groupStatements.push(answer.catch(() => undefined));
    return answer;
  }

  async #end(command: "COMMIT" | "ROLLBACK"): Promise<void> {
    if (this.#ended) {
      if (command === "COMMIT" && this.#endReason !== undefined) throw this.#endedError();
      return;
    }
    if (this.#chain.length > 0) {
      const error = new StorageError("A commit group cannot end while one of its members has not ended");
      await this.discard(error);
      throw error;
    }
    this.#ended = true;
    await this.#connecting;
    const client = this.#client;
    this.#client = null;
    if (client === null) return;
    await Promise.all(this.#groupStatements);
    if (!this.#began) {
      this.#returnToPool(client);
      return;
    }
    await endTransactionOn(client, command, (healthy) => this.#returnToPool(healthy));
  }

  #returnToPool(client: PoolClient): void {
    (client as unknown as { pipeline: boolean }).pipeline = false;
    client.removeListener("error", this.#onClientError);
    client.release();
  }

  #endedError(): StorageError {
    return new StorageError("This transaction group has ended (committed, rolled back or discarded); it takes no more members", {
      cause: this.#endReason,
    });
  }
}

function hasUnsent(state: MemberState): boolean {
  return state.statements.some((statement) => statement.flight === null && statement.outcome === null);
}

/** Forgets the current sending of `state`'s statements: they are sent again, savepoint first. */
function resetSending(state: MemberState): void {
  state.onServer = false;
  state.savepointMade = null;
  for (const statement of state.statements) {
    if (statement.flight !== null) statement.flight.stale = true;
    statement.flight = null;
    statement.outcome = null;
  }
}

function ignore(): void {}

/** One member of a {@link PipelinedTransactionGroup}: its `cx.tx` and its place in the chain. */
class PipelinedMember implements StorageTransaction<PgQueryable> {
  readonly tx: PgQueryable;
  readonly #group: PipelinedTransactionGroup;
  #state: MemberState | null = null;
  #ended = false;
  #endReason: unknown;

  constructor(group: PipelinedTransactionGroup) {
    this.#group = group;
    this.tx = new TransactionQueryClient((...args: unknown[]) => this.#query(args)) as unknown as PgQueryable;
  }

  get isOpen(): boolean {
    return !this.#ended && this.#state !== null;
  }

  async commit(): Promise<void> {
    if (this.#ended) return;
    this.#ended = true;
    if (this.#state !== null) await this.#group.memberEnd(this.#state, "commit");
  }

  async rollback(): Promise<void> {
    if (this.#ended) return;
    this.#ended = true;
    if (this.#state !== null) await this.#group.memberEnd(this.#state, "rollback");
  }

  async discard(reason: unknown): Promise<void> {
    this.#ended = true;
    this.#endReason = reason;
    await this.#group.discard(reason);
  }

  #query(args: unknown[]): Promise<unknown> {
    if (this.#ended) {
      return Promise.reject(new StorageError("This attempt's transaction has ended; it takes no more queries", { cause: this.#endReason }));
    }
    if (args.length === 0 || typeof args[args.length - 1] === "function" || typeof (args[0] as { submit?: unknown })?.submit === "function") {
      return Promise.reject(new StorageError("A pipelined commit group takes queries as text or a query config, with or without values, and answers with a promise"));
    }
    return this.#group.memberQuery(this.#state, args, () => (this.#state = this.#group.joinChain()));
  }
}
