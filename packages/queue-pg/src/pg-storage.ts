import {
  ConfigError,
  resolveRetryTaskOptions,
  checkedClock,
  checkedLogger,
  defaultLogger,
  optionsObject,
  type OptionNames,
  isClaimedOnWrite,
  isTaskId,
  RetryPolicy,
  TASK_DEFAULTS,
  TaskNotFoundError,
  TASK_LIST_DEFAULT_LIMIT,
  validateDurationMs,
  validateLimit,
  type AttemptRecord,
  type AttemptRef,
  type ClaimedTask,
  type Clock,
  type CompleteManyOutcome,
  type CompleteOutcome,
  type EnqueueOutcome,
  type FailOutcome,
  type FollowUpTask,
  type GroupOpenOptions,
  type HeartbeatOutcome,
  type LeaderLock,
  type Logger,
  type NewTask,
  type QueueRegistration,
  type QueueUpsertParams,
  type RetryOutcome,
  type ScheduleFireOutcome,
  type ScheduleFireParams,
  type ScheduleRecord,
  type ScheduleUpsertParams,
  type StorageAdapter,
  type StorageCapabilities,
  type StorageEventListener,
  type StorageSubscription,
  type StorageTransaction,
  type StorageTransactionGroup,
  type TaskCancelParams,
  type TaskClaimParams,
  type TaskCompleteManyParams,
  type TaskCompleteParams,
  type TaskEnqueueParams,
  type TaskFailParams,
  type TaskListParams,
  type TaskRecord,
  type TaskRequeueParams,
  type TaskRetryParams,
} from "@underway/core";
import type { PGlite } from "@electric-sql/pglite";
import type { ClientConfig, Pool } from "pg";
import { checkedDatabase, isPglite } from "./database-kind.js";
import type { DatabaseDriver } from "./drivers/database-driver.js";
import { PgliteDriver } from "./drivers/pglite-driver.js";
import { PoolDriver, type PoolConnectionOptions } from "./drivers/pool-driver.js";
import type { SqlStatement } from "./drivers/sql-statement.js";
import { NotificationListener } from "./listener.js";
import { mapDriverError, sqlState } from "./map-driver-error.js";
import { toAttemptRecord, toClaimedTask as toClaimedTaskRow, toDate, toDateOrNull, toScheduleRecord, toTaskRecord as toTaskRecordRow } from "./row-mappers.js";
import { notificationChannels, type NotificationChannels } from "./notification-channels.js";
import type { PgQueryable } from "./pg-queryable.js";
import { jsonText } from "./json-text.js";
import { cancelStatements, type CancelStatements } from "./queries/cancel.js";
import { claimPendingStatement, claimStatement, LEASE_EXHAUSTED_MESSAGE, LEASE_EXPIRED_CANCELLED_MESSAGE, LEASE_EXPIRED_MESSAGE } from "./queries/claim.js";
import { PgTransactionGroup } from "./drivers/transaction-group.js";
import { completeStatement, completeWithoutFollowUpsStatement, completeWithUniformFollowUpsStatement } from "./queries/complete.js";
import { enqueueStatements, type EnqueueStatements } from "./queries/enqueue.js";
import { failStatement } from "./queries/fail.js";
import { heartbeatStatement } from "./queries/heartbeat.js";
import { pruneStatement } from "./queries/prune.js";
import { queueUpsertStatement } from "./queries/queue.js";
import { readStatements, type ReadStatements } from "./queries/read.js";
import { requeueStatement } from "./queries/requeue.js";
import { retryStatement } from "./queries/retry.js";
import { scheduleStatements, type ScheduleStatements } from "./queries/schedule.js";
import { NEW_TASK_ARRAY_TYPES } from "./queries/sql-fragments.js";
import { DEFAULT_SCHEMA, quoteSchemaName } from "./schema-name.js";
import { sharedNotificationListener } from "./shared-listeners.js";

/** Options of {@link PgStorage}. */
export interface PgStorageOptions {
  /** The schema the tables live in (migrated with the same name). Default `"underway"`. */
  schema?: string;
  /**
   * Where "now" comes from. Without it every statement uses the server's time when the statement
   * started (`statement_timestamp()`, inside a transaction too); with it, the clock's time is sent
   * with each statement (tests use a manual clock).
   */
  clock?: Clock;
  /**
   * Where warnings (listener drops, malformed notifications) go. Default: the console. The
   * listening connection is shared by every storage on the same pool and schema, and logs to the
   * logger of the storage whose subscription opened it: the first to subscribe while none of
   * those storages had a subscription open.
   */
  logger?: Logger;
  /**
   * Whether statements run as named prepared statements, parsed and planned once per connection
   * (on a `pg.Pool`). Default true. Set false behind a pooler in transaction mode that does not keep
   * prepared statements across transactions (PgBouncer before 1.21, or 1.21 and later without
   * `max_prepared_statements`): every statement is then sent unnamed and planned each time.
   * Refused on PGlite.
   */
  preparedStatements?: boolean;
  /**
   * Where the connections that need a session of their own connect (on a `pg.Pool`): the one that
   * listens for notifications and those that hold a scheduler's leadership lock. A connection string
   * or node-postgres client options. Default: the pool's own options. Behind a pooler in
   * transaction mode, point it at the server itself (a session-mode port or a direct address):
   * LISTEN and session advisory locks do not survive a pooler that hands a session's statements to
   * different server connections. The listening connection is shared by every storage on the same
   * pool and schema and connects as the storage whose subscription opened it says (as for
   * `logger`): give the storages of one pool the same `sessionConnection`. Refused on PGlite.
   */
  sessionConnection?: string | ClientConfig;
}

const PG_STORAGE_OPTION_NAMES: OptionNames<PgStorageOptions> = {
  schema: true,
  clock: true,
  logger: true,
  preparedStatements: true,
  sessionConnection: true,
};

// Rows per enqueue statement: bounded so one message stays a few megabytes; the parameter count
// is constant (one array per column) whatever the size.
const ENQUEUE_CHUNK_SIZE = 5_000;
const PRUNE_BATCH_SIZE = 10_000;
const CLAIM_CONFLICT_RETRIES = 5;
const CONCURRENCY_KEY_INDEX = "task_concurrency_key_running_key";
/** The unique index on the dedupe keys of live tasks (migration 0001). */
const DEDUPE_KEY_INDEX = "task_dedupe_key_live_key";
/** The savepoint a requeue in the caller's transaction runs in (see `#requeueInTransaction`). */
const REQUEUE_SAVEPOINT = "underway_requeue";

/** True for the error of a write stopped by a live task holding the same dedupe key. */
function isDedupeKeyConflict(error: unknown): boolean {
  return sqlState(error) === "23505" && (error as { constraint?: string }).constraint === DEDUPE_KEY_INDEX;
}

/** True when a statement's `{ changed }` count row reports a change. */
function changedAny(rows: any[]): boolean {
  return Number(rows[0]?.changed ?? 0) > 0;
}

/** The task that holds a dedupe key, and its correlation id. */
interface DedupeKeyHolder {
  id: string;
  correlationId: string | null;
}

interface Statements {
  enqueue: EnqueueStatements;
  complete: SqlStatement;
  completeWithoutFollowUps: SqlStatement;
  completeWithUniformFollowUps: SqlStatement;
  retry: SqlStatement;
  fail: SqlStatement;
  heartbeat: SqlStatement;
  cancel: CancelStatements;
  requeue: SqlStatement;
  read: ReadStatements;
  prune: SqlStatement;
  queueUpsert: SqlStatement;
  schedule: ScheduleStatements;
}

/**
 * The Postgres storage of Underway, on a node-postgres pool or on PGlite (embedded Postgres).
 * It implements the whole storage contract of `@underway/core`; `cx.tx` and `{ tx }` are
 * {@link PgQueryable}s.
 *
 * Storages built on the same pool (or PGlite instance) and schema share one listening
 * connection, so a process building one storage per queue or job still holds one; it opens with
 * the first subscription and closes after the last one, of whichever storage, is closed.
 *
 * @example
 * ```ts
 * const pool = new pg.Pool({ connectionString: process.env.DATABASE_URL });
 * await runMigrations(pool);
 * const storage = new PgStorage(pool);
 * ```
 */
export class PgStorage implements StorageAdapter<PgQueryable> {
  readonly capabilities: StorageCapabilities;
  /** The schema this storage reads and writes. */
  readonly schema: string;
  #driver: DatabaseDriver;
  #clock: Clock | undefined;
  #channels: NotificationChannels;
  #statements: Statements;
  readonly #quotedSchema: string;
  /** Claim statements by limit, negative for pending-only ones (the limit is part of the text; see claimStatement). */
  readonly #claimStatements = new Map<number, SqlStatement>();
  /** The pool or PGlite instance given, which keys the shared listener with the schema. */
  readonly #database: Pool | PGlite;
  readonly #logger: Logger;
  /** How the pool's connections are used (prepared statements, where session connections go). */
  readonly #connectionOptions: PoolConnectionOptions;
  /** The subscriptions opened through this storage and not closed yet; `close()` closes them. */
  readonly #subscriptions = new Set<StorageSubscription>();
  /** How many times `close()` was called, so a subscription that opened meanwhile is closed too. */
  #closeCount = 0;

  constructor(database: Pool | PGlite, options: PgStorageOptions = {}) {
    checkedDatabase(database, "new PgStorage(database)");
    const { schema = DEFAULT_SCHEMA, clock, logger: loggerOption, preparedStatements, sessionConnection } = optionsObject(
      options,
      "new PgStorage(database, options)",
      PG_STORAGE_OPTION_NAMES,
    );
    const quoted = quoteSchemaName(schema);
    this.#quotedSchema = quoted;
    const logger = checkedLogger(loggerOption ?? defaultLogger, "PgStorage's logger");
    this.#connectionOptions = checkedConnectionOptions(database, preparedStatements, sessionConnection);
    this.#driver = driverFor(database, logger, this.#connectionOptions);
    this.#database = database;
    this.#logger = logger;
    this.schema = schema;
    this.#clock = clock === undefined ? undefined : checkedClock(clock, "PgStorage's clock");
    this.#channels = notificationChannels(schema);
    const pg = this.#driver.kind === "pg";
    this.capabilities = {
      parallelClaims: pg,
      crossProcessEvents: pg,
      durable: true,
      concurrentTransactions: pg,
      groupCommit: pg,
      groupPipeline: this.#driver.pipelinesGroups,
    };
    this.#statements = {
      enqueue: enqueueStatements(quoted, DEFAULT_SETTINGS_VALUES),
      complete: completeStatement(quoted),
      completeWithoutFollowUps: completeWithoutFollowUpsStatement(quoted),
      completeWithUniformFollowUps: completeWithUniformFollowUpsStatement(quoted),
      retry: retryStatement(quoted),
      fail: failStatement(quoted),
      heartbeat: heartbeatStatement(quoted),
      cancel: cancelStatements(quoted),
      requeue: requeueStatement(quoted),
      read: readStatements(quoted),
      prune: pruneStatement(quoted),
      queueUpsert: queueUpsertStatement(quoted),
      schedule: scheduleStatements(quoted),
    };
  }

  /** The NOTIFY channels of this storage's schema (for operators and tests). */
  get channels(): NotificationChannels {
    return this.#channels;
  }

  #now(): Date | null {
    return this.#clock ? this.#clock.now() : null;
  }

  async #run(operation: string, statement: SqlStatement, values: unknown[], tx?: PgQueryable): Promise<any[]> {
    try {
      return tx ? await this.#driver.runOn(tx, statement, values) : await this.#driver.run(statement, values);
    } catch (error) {
      throw mapDriverError(error, operation);
    }
  }

  async queueUpsert({ queueName, deadLetterQueueName, tx }: QueueUpsertParams<PgQueryable>): Promise<QueueRegistration> {
    const rows = await this.#run("queueUpsert", this.#statements.queueUpsert, [this.#now(), queueName, deadLetterQueueName ?? null, deadLetterQueueName !== undefined], tx);
    return { deadLetterQueueName: (rows[0]?.dlq_name as string | null | undefined) ?? null };
  }

  async taskEnqueue({ queueName, tasks, tx }: TaskEnqueueParams<PgQueryable>): Promise<EnqueueOutcome[]> {
    if (tasks.length === 0) return [];
    const needsTransaction = !tx && tasks.length > ENQUEUE_CHUNK_SIZE;
    if (!needsTransaction) return this.#enqueueChunks(queueName, tasks, tx);
    try {
      return await this.#driver.withTransaction((transaction) => this.#enqueueChunks(queueName, tasks, transaction));
    } catch (error) {
      throw mapDriverError(error, "taskEnqueue");
    }
  }

  async #enqueueChunks(queueName: string, tasks: ReadonlyArray<NewTask>, tx: PgQueryable | undefined): Promise<EnqueueOutcome[]> {
    const outcomes: EnqueueOutcome[] = new Array(tasks.length);
    const deduplicated: number[] = [];
    const now = this.#now();
    for (let start = 0; start < tasks.length; start += ENQUEUE_CHUNK_SIZE) {
      const chunk = tasks.slice(start, start + ENQUEUE_CHUNK_SIZE);
      if (isUniform(chunk)) {
        const first = chunk[0]!;
        const one = chunk.length === 1;
        const settings = sharedSettingsValues(first);
        if (one && isDefaultSettings(settings)) {
          const values = [now, queueName, this.#channels.taskAvailable, first.id, jsonText(first.input, "input"), first.correlationId];
          await this.#run("taskEnqueue", this.#statements.enqueue.appendOneWithDefaultSettings, values, tx);
        } else {
          await this.#run("taskEnqueue", one ? this.#statements.enqueue.appendOne : this.#statements.enqueue.appendUniform, [
            now,
            queueName,
            this.#channels.taskAvailable,
            one ? first.id : chunk.map((task) => task.id).join(","),
            jsonText(one ? first.input : chunk.map((task) => task.input), one ? "input" : "the inputs of one statement"),
            ...settings,
            first.correlationId,
          ], tx);
        }
        chunk.forEach((task, offset) => {
          outcomes[start + offset] = { id: task.id.toLowerCase(), deduplicated: false, correlationId: task.correlationId };
        });
        continue;
      }
      const values = [now, queueName, this.#channels.taskAvailable, ...newTaskArrays(chunk)];
      const withDedupeKeys = chunk.some((task) => task.dedupeKey !== null);
      if (!withDedupeKeys) {
        await this.#run("taskEnqueue", this.#statements.enqueue.append, values, tx);
        chunk.forEach((task, offset) => {
          outcomes[start + offset] = { id: task.id.toLowerCase(), deduplicated: false, correlationId: task.correlationId };
        });
        continue;
      }
      const rows = await this.#run("taskEnqueue", this.#statements.enqueue.appendDeduplicated, values, tx);
      const written = new Set(rows.map((row) => row.id as string));
      chunk.forEach((task, offset) => {
        const id = task.id.toLowerCase();
        const isWritten = written.has(id);
        outcomes[start + offset] = { id, deduplicated: !isWritten, correlationId: task.correlationId };
        if (!isWritten) deduplicated.push(start + offset);
      });
    }
    if (deduplicated.length > 0) {
      const keys = [...new Set(deduplicated.map((index) => tasks[index]!.dedupeKey!))];
      const holderByKey = await this.#dedupeKeyHolders("taskEnqueue", queueName, keys, tx);
      for (const index of deduplicated) {
        const holder = holderByKey.get(tasks[index]!.dedupeKey!);
        if (holder) outcomes[index] = { id: holder.id, deduplicated: true, correlationId: holder.correlationId };
      }
    }
    return outcomes;
  }

  /**
   * The task holding each dedupe key: the live one, through the unique index on live keys; for a
   * key whose holder finished since the conflict, the task that held it last.
   */
  async #dedupeKeyHolders(operation: string, queueName: string, keys: string[], tx: PgQueryable | undefined): Promise<Map<string, DedupeKeyHolder>> {
    const holder = (row: Record<string, unknown>): [string, DedupeKeyHolder] => [
      row.dedupe_key as string,
      { id: row.id as string, correlationId: row.correlation_id as string | null },
    ];
    const live = await this.#run(operation, this.#statements.enqueue.findByDedupeKey, [queueName, keys], tx);
    const holders = new Map(live.map(holder));
    const missing = keys.filter((key) => !holders.has(key));
    if (missing.length > 0) {
      const last = await this.#run(operation, this.#statements.enqueue.findLastByDedupeKey, [queueName, missing], tx);
      for (const row of last) holders.set(...holder(row));
    }
    return holders;
  }

  async taskClaim({ queueName, limit, reclaimExpired = true }: TaskClaimParams): Promise<ClaimedTask[]> {
    validateLimit(limit, "taskClaim limit");
    const key = reclaimExpired ? limit : -limit;
    let statement = this.#claimStatements.get(key);
    if (statement === undefined) {
      statement = reclaimExpired ? claimStatement(this.#quotedSchema, limit) : claimPendingStatement(this.#quotedSchema, limit);
      this.#claimStatements.set(key, statement);
    }
    const values = reclaimExpired
      ? [this.#now(), queueName, this.#channels.taskFinished, LEASE_EXPIRED_MESSAGE, LEASE_EXHAUSTED_MESSAGE, LEASE_EXPIRED_CANCELLED_MESSAGE]
      : [this.#now(), queueName];
    for (let attempt = 1; ; attempt += 1) {
      try {
        const rows = await this.#driver.run(statement, values);
        return rows.map(toClaimedTaskRow);
      } catch (error) {
        // Two claimers took different tasks of one concurrency key at once; the unique index
        // stopped the second. Claiming again sees the first one running and skips its key.
        const keyConflict = sqlState(error) === "23505" && (error as { constraint?: string }).constraint === CONCURRENCY_KEY_INDEX;
        if (!keyConflict || attempt >= CLAIM_CONFLICT_RETRIES) throw mapDriverError(error, "taskClaim");
      }
    }
  }

  async taskHeartbeat({ queueName, taskId, attempt }: AttemptRef): Promise<HeartbeatOutcome> {
    if (!isTaskId(taskId)) throw new TaskNotFoundError(String(taskId));
    const rows = await this.#run("taskHeartbeat", this.#statements.heartbeat, [this.#now(), queueName, taskId, attempt]);
    const row = rows[0];
    if (!row) throw new TaskNotFoundError(taskId);
    return { leaseExpiresAt: toDate(row.lease_expires_at), cancelRequested: row.cancel_requested === true };
  }

  async taskComplete(params: TaskCompleteParams<PgQueryable>): Promise<CompleteOutcome> {
    const { tx } = params;
    // The statement reads the attempt's fields, never its transaction: no copy without it.
    const rows = await this.#completeRows([params], tx);
    const taskId = params.taskId.toLowerCase();
    const row = rows.find((candidate) => candidate.id === taskId);
    if (!row) throw new TaskNotFoundError(params.taskId);
    const state = row.state as "succeeded" | "cancelled";
    if (state === "cancelled") return { state, followUpIds: [], claimedFollowUps: [] };
    const followUps = params.followUps ?? [];
    const written = new Set(rows.map((candidate) => candidate.follow_up_id as string | null).filter((id) => id !== null));
    const followUpIds = followUps.map((followUp) => followUp.task.id);
    const skipped = followUps.map((followUp, index) => ({ followUp, index })).filter(({ followUp }) => !written.has(followUp.task.id));
    // A follow-up skipped for its dedupe key stands for the live task that holds the key.
    for (const { followUp, index } of skipped) {
      if (followUp.task.dedupeKey === null) continue;
      const holder = (await this.#dedupeKeyHolders("taskComplete", followUp.queueName, [followUp.task.dedupeKey], tx)).get(followUp.task.dedupeKey);
      if (holder !== undefined) followUpIds[index] = holder.id;
    }
    return { state, followUpIds, claimedFollowUps: claimedFollowUpsOf(rows, [params]) };
  }

  async taskCompleteMany({ attempts, tx }: TaskCompleteManyParams<PgQueryable>): Promise<CompleteManyOutcome> {
    if (attempts.length === 0) return { rejected: [], cancelled: [], claimedFollowUps: [] };
    const rows = await this.#completeRows(attempts, tx);
    const stateById = new Map(rows.filter((row) => row.id !== null).map((row) => [row.id as string, row.state as string]));
    return {
      rejected: attempts.filter((attempt) => !stateById.has(attempt.taskId.toLowerCase())).map((attempt) => attempt.taskId),
      cancelled: attempts.filter((attempt) => stateById.get(attempt.taskId.toLowerCase()) === "cancelled").map((attempt) => attempt.taskId),
      claimedFollowUps: claimedFollowUpsOf(rows, attempts),
    };
  }

  async #completeRows(attempts: ReadonlyArray<Omit<TaskCompleteParams<PgQueryable>, "tx">>, tx: PgQueryable | undefined): Promise<any[]> {
    const live = attempts.filter((attempt) => isTaskId(attempt.taskId));
    if (live.length === 0) return [];
    const followUps = live.flatMap((attempt) => (attempt.followUps ?? []).map((followUp) => ({ parentId: attempt.taskId, followUp })));
    if (followUps.length === 0) {
      const values = [
        ...this.#completionValues(live),
        this.#channels.taskFinished,
      ];
      return this.#run("taskComplete", this.#statements.completeWithoutFollowUps, values, tx);
    }
    const followUpQueue = followUps[0]!.followUp.queueName;
    const followUpTasks = followUps.map(({ followUp }) => followUp.task);
    if (followUps.every(({ followUp }) => followUp.queueName === followUpQueue) && isUniform(followUpTasks, { correlationIdsMayDiffer: true })) {
      const values = [
        ...this.#completionValues(live),
        this.#channels.taskFinished,
        this.#channels.taskAvailable,
        jsonText(
          followUps.map(({ parentId, followUp }) => ({
            parent_id: parentId,
            id: followUp.task.id,
            input: followUp.task.input,
            correlation_id: followUp.task.correlationId,
            claim: isClaimedOnWrite(followUp),
          })),
          "the follow-ups' inputs",
        ),
        followUpQueue,
        ...sharedSettingsValues(followUpTasks[0]!),
      ];
      return this.#run("taskComplete", this.#statements.completeWithUniformFollowUps, values, tx);
    }
    const values = [
      ...this.#completionValues(live),
      this.#channels.taskFinished,
      this.#channels.taskAvailable,
      followUps.map(({ parentId }) => parentId),
      followUps.map(({ followUp }) => followUp.queueName),
      followUps.map(({ followUp }) => isClaimedOnWrite(followUp)),
      ...newTaskArrays(followUps.map(({ followUp }) => followUp.task)),
    ];
    return this.#run("taskComplete", this.#statements.complete, values, tx);
  }

  /** Values `$1`–`$5` of every completion statement: now, then one array per attempt field. */
  #completionValues(attempts: ReadonlyArray<Omit<TaskCompleteParams<PgQueryable>, "tx">>): unknown[] {
    return [
      this.#now(),
      attempts.map((attempt) => attempt.queueName),
      attempts.map((attempt) => attempt.taskId),
      attempts.map((attempt) => attempt.attempt),
      attempts.map((attempt) => (attempt.output === undefined || attempt.output === null ? null : jsonText(attempt.output, "output"))),
    ];
  }

  async taskRetry({ queueName, taskId, attempt, delayMs, errorMessage, tx }: TaskRetryParams<PgQueryable>): Promise<RetryOutcome> {
    validateDurationMs(delayMs, "taskRetry delayMs");
    if (!isTaskId(taskId)) throw new TaskNotFoundError(String(taskId));
    const values = [
      this.#now(),
      queueName,
      taskId,
      attempt,
      delayMs,
      errorMessage,
      this.#channels.taskAvailable,
      this.#channels.taskFinished,
    ];
    const rows = await this.#run("taskRetry", this.#statements.retry, values, tx);
    const row = rows[0];
    if (!row) throw new TaskNotFoundError(taskId);
    return { state: row.state as "pending" | "cancelled", runAt: toDate(row.run_at) };
  }

  async taskFail({ queueName, taskId, attempt, errorMessage, tx }: TaskFailParams<PgQueryable>): Promise<FailOutcome> {
    if (!isTaskId(taskId)) throw new TaskNotFoundError(String(taskId));
    const values = [this.#now(), queueName, taskId, attempt, errorMessage, this.#channels.taskFinished];
    const rows = await this.#run("taskFail", this.#statements.fail, values, tx);
    const row = rows[0];
    if (!row) throw new TaskNotFoundError(taskId);
    return { state: row.state as "failed" | "cancelled", deadLetterQueueName: row.dead_letter_queue_name ?? null };
  }

  async taskCancel(params: TaskCancelParams<PgQueryable>): Promise<boolean> {
    const byTaskId = params.taskId !== undefined;
    if (byTaskId && !isTaskId(params.taskId)) return false;
    const statement = byTaskId ? this.#statements.cancel.byTaskId : this.#statements.cancel.byCorrelationId;
    const values = [
      this.#now(),
      params.queueName,
      byTaskId ? params.taskId : params.correlationId,
      this.#channels.taskFinished,
      this.#channels.taskCancelRequested,
    ];
    return changedAny(await this.#run("taskCancel", statement, values, params.tx));
  }

  async taskRequeue({ queueName, taskId, attempts, delayMs, tx }: TaskRequeueParams<PgQueryable>): Promise<boolean> {
    resolveRetryTaskOptions({ attempts, delayMs });
    if (!isTaskId(taskId) || !isStorableText(queueName)) return false;
    const values = [this.#now(), queueName, taskId, attempts, delayMs, this.#channels.taskAvailable];
    if (tx) return this.#requeueInTransaction(values, tx);
    try {
      return changedAny(await this.#driver.run(this.#statements.requeue, values));
    } catch (error) {
      // Another task of the same dedupe key became live after this statement looked (a requeue
      // or an enqueue racing it), and the unique index stopped this one: looking again sees it.
      if (!isDedupeKeyConflict(error)) throw mapDriverError(error, "taskRequeue");
      return changedAny(await this.#run("taskRequeue", this.#statements.requeue, values));
    }
  }

  /**
   * A requeue in the caller's transaction. The unique index on live dedupe keys stops the
   * statement when another task of the key became live after it looked, and that error would
   * abort the caller's transaction; so the statement runs in a savepoint, rolled back to on that
   * conflict. The key is then held by a live task, which leaves this one failed, as a requeue
   * that saw the live task would have.
   */
  async #requeueInTransaction(values: unknown[], tx: PgQueryable): Promise<boolean> {
    const savepoint = async (command: string) => {
      try {
        await tx.query(`${command} ${REQUEUE_SAVEPOINT}`);
      } catch (error) {
        throw mapDriverError(error, "taskRequeue");
      }
    };
    await savepoint("savepoint");
    let rows: any[];
    try {
      rows = await this.#driver.runOn(tx, this.#statements.requeue, values);
    } catch (error) {
      if (!isDedupeKeyConflict(error)) throw mapDriverError(error, "taskRequeue");
      await savepoint("rollback to savepoint");
      await savepoint("release savepoint");
      return false;
    }
    await savepoint("release savepoint");
    return changedAny(rows);
  }

  async taskGet({ taskId }: { taskId: string }): Promise<TaskRecord | null> {
    if (!isTaskId(taskId)) return null;
    const rows = await this.#run("taskGet", this.#statements.read.taskGet, [taskId]);
    return rows[0] ? toTaskRecordRow(rows[0]) : null;
  }

  async taskList({ queueName, correlationId, limit = TASK_LIST_DEFAULT_LIMIT }: TaskListParams): Promise<TaskRecord[]> {
    validateLimit(limit, "taskList limit");
    if (!isStorableText(queueName) || (typeof correlationId === "string" && !isStorableText(correlationId))) return [];
    const rows =
      correlationId === undefined || correlationId === null
        ? await this.#run("taskList", this.#statements.read.taskList, [queueName, limit])
        : await this.#run("taskList", this.#statements.read.taskListByCorrelation, [queueName, correlationId, limit]);
    return rows.map(toTaskRecordRow);
  }

  async taskAttempts({ taskId }: { taskId: string }): Promise<AttemptRecord[]> {
    if (!isTaskId(taskId)) return [];
    const rows = await this.#run("taskAttempts", this.#statements.read.taskAttempts, [taskId]);
    return rows.map(toAttemptRecord);
  }

  async taskNextRunAt({ queueName, after }: { queueName: string; after?: Date }): Promise<Date | null> {
    if (!isStorableText(queueName)) return null;
    const rows = await this.#run("taskNextRunAt", this.#statements.read.taskNextRunAt, [this.#now(), queueName, after ?? null]);
    return toDateOrNull(rows[0]?.next_run_at);
  }

  async taskPrune(params: { queueName?: string; limit?: number } = {}): Promise<number> {
    const queueName = params.queueName ?? null;
    if (params.limit !== undefined) {
      validateLimit(params.limit, "taskPrune limit");
      const rows = await this.#run("taskPrune", this.#statements.prune, [this.#now(), queueName, params.limit]);
      return Number(rows[0]?.deleted ?? 0);
    }
    let total = 0;
    for (;;) {
      const rows = await this.#run("taskPrune", this.#statements.prune, [this.#now(), queueName, PRUNE_BATCH_SIZE]);
      const deleted = Number(rows[0]?.deleted ?? 0);
      total += deleted;
      if (deleted < PRUNE_BATCH_SIZE) return total;
    }
  }

  async scheduleUpsert({ queueName, cron, timeZone, input, tx }: ScheduleUpsertParams<PgQueryable>): Promise<void> {
    const values = [this.#now(), queueName, cron, timeZone, jsonText(input, "input")];
    await this.#run("scheduleUpsert", this.#statements.schedule.upsert, values, tx);
  }

  async scheduleGet({ queueName }: { queueName: string }): Promise<ScheduleRecord | null> {
    const rows = await this.#run("scheduleGet", this.#statements.schedule.get, [queueName]);
    return rows[0] ? toScheduleRecord(rows[0]) : null;
  }

  async scheduleDelete({ queueName, tx }: { queueName: string; tx?: PgQueryable }): Promise<boolean> {
    const rows = await this.#run("scheduleDelete", this.#statements.schedule.delete, [queueName], tx);
    return Number(rows[0]?.deleted ?? 0) > 0;
  }

  async scheduleFire({ queueName, fireAt, task }: ScheduleFireParams): Promise<ScheduleFireOutcome> {
    const values = [this.#now(), queueName, fireAt, this.#channels.taskAvailable, ...newTaskArrays([task])];
    const rows = await this.#run("scheduleFire", this.#statements.schedule.fire, values);
    const fired = Number(rows[0]?.fired ?? 0) > 0;
    const taskId = (rows[0]?.task_id as string | null | undefined) ?? null;
    if (!fired) return { fired, taskId: null, deduplicated: false };
    if (taskId !== null || task.dedupeKey === null) return { fired, taskId, deduplicated: false };
    // The occurrence is taken but its task was skipped: a live task of the queue holds its key.
    const holders = await this.#dedupeKeyHolders("scheduleFire", queueName, [task.dedupeKey], undefined);
    return { fired, taskId: holders.get(task.dedupeKey)?.id ?? null, deduplicated: true };
  }

  async lockTry({ key }: { key: string }): Promise<LeaderLock | null> {
    try {
      return await this.#driver.lockTry([this.schema, key]);
    } catch (error) {
      throw mapDriverError(error, "lockTry");
    }
  }

  /**
   * Subscribes through the listening connection this storage shares with every storage on the
   * same pool (or PGlite instance) and schema. The subscription is this storage's: `close()`
   * closes it. One that finishes opening after `close()` was called is returned already closed.
   */
  async subscribe(listener: StorageEventListener): Promise<StorageSubscription> {
    const closeCountBefore = this.#closeCount;
    // The listener connects through a driver of its own, so closing this storage's driver never
    // cuts the connection other storages listen on.
    const notificationListener = sharedNotificationListener(
      this.#database,
      this.schema,
      () => new NotificationListener(driverFor(this.#database, this.#logger, this.#connectionOptions), this.#channels, this.#logger),
    );
    let shared: StorageSubscription;
    try {
      shared = await notificationListener.subscribe(listener);
    } catch (error) {
      throw mapDriverError(error, "subscribe");
    }
    const subscription: StorageSubscription = {
      close: async () => {
        this.#subscriptions.delete(subscription);
        await shared.close();
      },
    };
    if (this.#closeCount !== closeCountBefore) {
      await shared.close();
      return subscription;
    }
    this.#subscriptions.add(subscription);
    return subscription;
  }

  async notifyShutdown(params: { queueName?: string } = {}): Promise<void> {
    const payload = JSON.stringify({ queueName: params.queueName ?? null });
    try {
      await this.#driver.run({ name: "underway_notify", text: "select pg_notify($1, $2)" }, [this.#channels.shutdown, payload]);
    } catch (error) {
      throw mapDriverError(error, "notifyShutdown");
    }
  }

  transactionOpen(): StorageTransaction<PgQueryable> {
    return this.#driver.transactionOpen();
  }

  /**
   * A transaction that attempts share one after another, each in its own savepoint (group
   * commit). On a pg.Pool only: PGlite runs one statement per query, and the group releases one
   * savepoint and marks the next in a single round trip. With `{ pipelined: true }` the attempts
   * may run side by side, their statements sent ahead of their turn on a connection in pipeline
   * mode (see {@link GroupOpenOptions}); needs node-postgres' own clients, pg 8.23 or later.
   *
   * @throws {@link ConfigError} on PGlite, and for `pipelined` on clients that cannot pipeline.
   */
  transactionOpenGroup(options: GroupOpenOptions = {}): StorageTransactionGroup<PgQueryable> {
    if (!this.capabilities.groupCommit) throw new ConfigError("Group commit needs PgStorage on a pg.Pool; PGlite does not support it");
    if (options.pipelined === true) {
      if (!this.capabilities.groupPipeline || this.#driver.transactionOpenPipelinedGroup === undefined) {
        throw new ConfigError("Pipelined commit groups need a pg.Pool of node-postgres' own clients, pg 8.23 or later (not pg-native)");
      }
      return this.#driver.transactionOpenPipelinedGroup();
    }
    return new PgTransactionGroup(this.#driver.transactionOpen());
  }

  /**
   * Releases connections and listeners the storage opened itself (never a pool it was given): its
   * dedicated connections (leadership locks) and its subscriptions. The listening connection
   * closes with the last subscription on it, so other storages sharing it keep listening.
   */
  async close(): Promise<void> {
    this.#closeCount += 1;
    await this.#driver.close();
    const subscriptions = [...this.#subscriptions];
    this.#subscriptions.clear();
    await Promise.all(subscriptions.map((subscription) => subscription.close()));
  }
}

/** The driver of `database`, checked to be a pg.Pool or a PGlite instance. */
function driverFor(database: Pool | PGlite, logger: Logger, connectionOptions: PoolConnectionOptions): DatabaseDriver {
  return isPglite(database) ? new PgliteDriver(database) : new PoolDriver(database, logger, connectionOptions);
}

/** `preparedStatements` and `sessionConnection`, checked: a boolean, and a connection string or options, for a pool only. */
function checkedConnectionOptions(database: Pool | PGlite, preparedStatements: unknown, sessionConnection: unknown): PoolConnectionOptions {
  if (isPglite(database) && (preparedStatements !== undefined || sessionConnection !== undefined)) {
    throw new ConfigError("preparedStatements and sessionConnection apply to a pg.Pool; PGlite runs in this process, with no pooler in front of it");
  }
  if (preparedStatements !== undefined && typeof preparedStatements !== "boolean") {
    throw new ConfigError(`PgStorage's preparedStatements must be true or false, got ${String(preparedStatements)}`);
  }
  let session: ClientConfig | undefined;
  if (typeof sessionConnection === "string") {
    if (sessionConnection.trim() === "") throw new ConfigError("PgStorage's sessionConnection must not be an empty connection string");
    session = { connectionString: sessionConnection };
  } else if (typeof sessionConnection === "object" && sessionConnection !== null && !Array.isArray(sessionConnection)) {
    session = { ...(sessionConnection as ClientConfig) };
  } else if (sessionConnection !== undefined) {
    throw new ConfigError(`PgStorage's sessionConnection must be a connection string or node-postgres client options, got ${sessionConnection === null ? "null" : typeof sessionConnection}`);
  }
  return { preparedStatements: preparedStatements ?? true, sessionConnection: session };
}

/**
 * The follow-ups a completion statement wrote already claimed, as claims return them: the rows
 * give the lease, the creation time and the stored input, the follow-ups given to the call the rest.
 */
function claimedFollowUpsOf(rows: ReadonlyArray<any>, attempts: ReadonlyArray<{ followUps?: ReadonlyArray<FollowUpTask> }>): ClaimedTask[] {
  const claimedRows = rows.filter((row) => row.follow_up_id !== null && row.lease_ms !== null);
  if (claimedRows.length === 0) return [];
  const followUpsById = new Map<string, FollowUpTask>();
  for (const attempt of attempts) for (const followUp of attempt.followUps ?? []) followUpsById.set(followUp.task.id.toLowerCase(), followUp);
  return claimedRows.map((row) => {
    const { queueName, task } = followUpsById.get(row.follow_up_id)!;
    const createdAt = toDate(row.created_ms);
    return {
      id: task.id,
      queueName,
      input: row.input,
      attempt: 1,
      priority: task.priority,
      runAt: createdAt,
      createdAt: new Date(createdAt.getTime()),
      leaseExpiresAt: toDate(row.lease_ms),
      timeoutMs: task.timeoutMs,
      ttlMs: task.ttlMs,
      heartbeatMs: task.heartbeatMs,
      retryPolicy: {
        maxAttempts: task.retryPolicy.maxAttempts,
        initialIntervalMs: task.retryPolicy.initialIntervalMs,
        maxIntervalMs: task.retryPolicy.maxIntervalMs,
        backoffCoefficient: task.retryPolicy.backoffCoefficient,
        jitterFactor: task.retryPolicy.jitterFactor,
      },
      concurrencyKey: null,
      dedupeKey: null,
      correlationId: task.correlationId,
    };
  });
}

/**
 * Whether Postgres can hold `value` as text: a NUL character it cannot, so no stored name or id
 * contains one, and a read given one finds nothing rather than failing on the parameter.
 */
function isStorableText(value: unknown): boolean {
  return typeof value !== "string" || !value.includes("\u0000");
}

/**
 * Whether the tasks differ only in id and input (and, when allowed, correlation id), with no
 * concurrency or dedupe key, so one set of settings describes them all.
 */
function isUniform(tasks: ReadonlyArray<NewTask>, { correlationIdsMayDiffer = false } = {}): boolean {
  const first = tasks[0];
  if (first === undefined) return false;
  const policy = first.retryPolicy;
  for (const task of tasks) {
    if (task.concurrencyKey !== null || task.dedupeKey !== null) return false;
    if (
      task.priority !== first.priority ||
      task.delayMs !== first.delayMs ||
      task.timeoutMs !== first.timeoutMs ||
      task.ttlMs !== first.ttlMs ||
      task.heartbeatMs !== first.heartbeatMs ||
      (!correlationIdsMayDiffer && task.correlationId !== first.correlationId)
    ) {
      return false;
    }
    const other = task.retryPolicy;
    if (
      other !== policy &&
      (other.maxAttempts !== policy.maxAttempts ||
        other.initialIntervalMs !== policy.initialIntervalMs ||
        other.maxIntervalMs !== policy.maxIntervalMs ||
        other.backoffCoefficient !== policy.backoffCoefficient ||
        other.jitterFactor !== policy.jitterFactor)
    ) {
      return false;
    }
  }
  return true;
}

/** The settings a new task shares with others of its statement (see `sharedSettingsValues`). */
type SharedSettings = Pick<NewTask, "priority" | "delayMs" | "timeoutMs" | "ttlMs" | "heartbeatMs" | "retryPolicy">;

/** The default settings of a task, as {@link sharedSettingsValues} lists them. */
const DEFAULT_SETTINGS_VALUES: ReadonlyArray<number> = sharedSettingsValues({ ...TASK_DEFAULTS, retryPolicy: RetryPolicy.defaults });

/** Whether listed settings are the defaults, which `appendOneWithDefaultSettings` has written in. */
function isDefaultSettings(settings: ReadonlyArray<number>): boolean {
  return settings.every((value, index) => value === DEFAULT_SETTINGS_VALUES[index]);
}

/** The values of `sharedSettingsSelectList`: the settings that `isUniform` tasks share. */
function sharedSettingsValues(task: SharedSettings): number[] {
  const policy = task.retryPolicy;
  return [
    task.priority,
    task.delayMs,
    task.timeoutMs,
    task.ttlMs,
    task.heartbeatMs,
    policy.maxAttempts,
    policy.initialIntervalMs,
    policy.maxIntervalMs,
    policy.backoffCoefficient,
    policy.jitterFactor,
  ];
}

/** The new-task parameter arrays, in the order of `NEW_TASK_ARRAY_TYPES`. */
function newTaskArrays(tasks: ReadonlyArray<NewTask>): unknown[][] {
  const arrays: unknown[][] = NEW_TASK_ARRAY_TYPES.map(() => new Array(tasks.length));
  tasks.forEach((task, index) => {
    const row = [task.id, jsonText(task.input, "input"), ...sharedSettingsValues(task), task.concurrencyKey, task.dedupeKey, task.correlationId];
    row.forEach((value, column) => {
      arrays[column]![index] = value;
    });
  });
  return arrays;
}
