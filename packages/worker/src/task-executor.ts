import {
  FatalError,
  LEASE_HEARTBEATS,
  LeaseLostError,
  MAX_TIMER_MS,
  RetryPolicy,
  ShutdownError,
  TaskCancelledError,
  TaskNotFoundError,
  TimeoutError,
  assertJsonPayload,
  errorMessage,
  fatal,
  validateWithSchema,
  type AttemptRef,
  type ClaimedTask,
  type CompleteOutcome,
  type FollowUpTask,
  type JsonValue,
  type Queue,
  type StorageAdapter,
  type StorageTransaction,
  type Task,
} from "@underway/core";
import type { AckBatcher, AckOutcome, AckResult, AttemptCompletion } from "./ack-batcher.js";
import { AttemptContext, type ContinuationTarget } from "./attempt-context.js";
import { AttemptTimer, type AttemptTimerCallbacks } from "./attempt-timer.js";
import type { LeaseTimes } from "./lease-times.js";
import type { WorkerEvents } from "./worker-events.js";
import type { ResolvedWorkerOptions } from "./worker-options.js";

/** Why an attempt was stopped from outside before its code settled. */
type Interruption = TimeoutError | LeaseLostError | ShutdownError;

/** How the attempt's code settled, or what stopped it. */
type Settlement =
  | { kind: "returned"; value: unknown; followUps: FollowUpTask[] }
  | { kind: "threw"; error: unknown }
  | { kind: "interrupted"; reason: Interruption };

/**
 * An attempt's place in a commit group: its transaction is a member of the group's, and its
 * success is written and committed with the group's (see CommitGroupRunner).
 */
export interface GroupMembership<Tx> {
  /** The member transaction the attempt uses as `cx.tx`. */
  readonly trx: StorageTransaction<Tx>;
  /** Called once the member transaction has committed, rolled back or been discarded. */
  settled(): void;
  /** Hands over a success that wrote through `cx.tx`; resolves once the group has committed. */
  complete(completion: AttemptCompletion): Promise<AckResult>;
}

/** What the executor needs from its worker. */
export interface TaskExecutorHost {
  emit<E extends keyof WorkerEvents>(event: E, payload: WorkerEvents[E]): void;
  /** A storage error the worker survived. */
  reportError(error: unknown, message: string, fields?: Record<string, unknown>): void;
  /** A retry was scheduled: the worker re-checks the earliest run time. */
  retryScheduled(): void;
  /** Whether the worker still takes on new work (so a finished attempt's follow-up may run next here). */
  isRunning(): boolean;
  /** A follow-up written claimed for this worker: run it when a slot is free. */
  continueWith(claimed: ClaimedTask): void;
}

/**
 * A success's completion. Written out field by field: on Node 20 a spread of the attempt plus
 * more fields made an object several times the size, several times slower, and this is made for
 * every task a worker runs (as are the success events).
 */
function completionOf(ref: AttemptRef, output: JsonValue | null, followUps: FollowUpTask[]): AttemptCompletion {
  return { queueName: ref.queueName, taskId: ref.taskId, attempt: ref.attempt, output, followUps };
}

/** The state of one attempt while it runs; its timer calls it back (heartbeats, the timeout). */
class RunningAttempt<Tx> implements AttemptTimerCallbacks {
  readonly claimed: ClaimedTask;
  readonly ref: AttemptRef;
  // Made on first use: most attempts end without anyone reading or firing their signal.
  #controller: AbortController | null = null;
  // Made on first use too: most attempts never use `cx.tx`.
  #trx: StorageTransaction<Tx> | null;
  readonly #storage: StorageAdapter<Tx>;
  timer: AttemptTimer | null = null;
  ended = false;
  heartbeatInFlight = false;
  /**
   * Until when (epoch ms, this process's clock) the attempt counts on its lease: a lease's length
   * after the sending of the statement that last set it before the attempt started (its claim, the
   * completion that wrote it claimed, or a heartbeat while it waited for a slot; see
   * {@link LeaseTimes}), then after the sending of its latest heartbeat that succeeded. The storage
   * set the lease after each such sending, so it lasts at least as long.
   */
  leaseHeldUntil = 0;
  /** Why the latest heartbeat failed, if it did; the cause of a lease given up. */
  lastHeartbeatError: unknown = undefined;
  /** Settles `#settlement` as interrupted; null once used. */
  #interrupt: ((settlement: Settlement) => void) | null = null;
  /** Resolves `#settlement` with how the task's code settled. */
  readonly #settleWith: (settlement: Settlement) => void;
  /** How the attempt ended: its code settling or an interruption, whichever came first. */
  readonly #settlement: Promise<Settlement>;

  readonly releaseSlot: () => void;
  readonly membership: GroupMembership<Tx> | null;
  readonly #beat: (running: RunningAttempt<Tx>) => void;
  #settled = false;

  /**
   * `storage` opens the attempt's transaction when it is first used (a commit-group member's is
   * the `membership`'s); `beat` sends one heartbeat of the attempt it is given.
   */
  constructor(
    claimed: ClaimedTask,
    storage: StorageAdapter<Tx>,
    releaseSlot: () => void,
    membership: GroupMembership<Tx> | null,
    beat: (running: RunningAttempt<Tx>) => void,
  ) {
    this.claimed = claimed;
    this.#beat = beat;
    this.releaseSlot = releaseSlot;
    this.membership = membership;
    this.ref = { queueName: claimed.queueName, taskId: claimed.id, attempt: claimed.attempt };
    this.#storage = storage;
    this.#trx = membership?.trx ?? null;
    let settleWith!: (settlement: Settlement) => void;
    this.#settlement = new Promise<Settlement>((resolve) => {
      settleWith = resolve;
    });
    this.#settleWith = settleWith;
    this.#interrupt = settleWith;
  }

  /**
   * How the attempt ends: `work` (the task's code) settling, or an interruption ({@link abort}),
   * whichever comes first. One promise settled by either, rather than a race of two promises:
   * every attempt of a busy worker makes one.
   */
  settle(work: Promise<Settlement>): Promise<Settlement> {
    const settleWith = this.#settleWith;
    work.then(settleWith, (error: unknown) => settleWith({ kind: "threw", error }));
    return this.#settlement;
  }

  /** The attempt's transaction, the one behind `cx.tx`; opened (lazily, no round trip) on first use. */
  get trx(): StorageTransaction<Tx> {
    return (this.#trx ??= this.#storage.transactionOpen());
  }

  /** `cx.tx`. */
  get tx(): Tx {
    return this.trx.tx;
  }

  /** Whether a statement has begun the attempt's transaction. */
  get transactionIsOpen(): boolean {
    return this.#trx !== null && this.#trx.isOpen;
  }

  /** Rolls the attempt's transaction back, if it was ever asked for. */
  rollback(): Promise<void> {
    return this.#trx === null ? Promise.resolve() : this.#trx.rollback();
  }

  onHeartbeat(): void {
    this.#beat(this);
  }

  onDeadline(): void {
    this.abort(new TimeoutError(this.claimed.timeoutMs));
  }

  /** The attempt's transaction is settled; in a commit group, the next member may start. */
  transactionSettled(): void {
    if (this.#settled) return;
    this.#settled = true;
    this.membership?.settled();
  }

  /** Set when the attempt was interrupted: its transaction being discarded. */
  discarding: Promise<void> | null = null;

  /** The task's abort signal (`cx.signal`). */
  get signal(): AbortSignal {
    return (this.#controller ??= new AbortController()).signal;
  }

  /** Why the signal fired, or undefined while it has not. */
  get abortReason(): unknown {
    const signal = this.#controller?.signal;
    return signal?.aborted ? signal.reason : undefined;
  }

  #fireSignal(reason: Interruption | TaskCancelledError): void {
    const signal = this.signal;
    if (!signal.aborted) this.#controller!.abort(reason);
  }

  /** Fires the task's signal with `reason` and, for an interruption, stops waiting for its code. */
  abort(reason: Interruption | TaskCancelledError): void {
    if (reason instanceof TaskCancelledError) {
      this.#fireSignal(reason);
      return;
    }
    if (this.#interrupt === null) return;
    const interrupt = this.#interrupt;
    this.#interrupt = null;
    // Discard before the signal fires, so code reacting to the signal already finds its
    // transaction dead: a write it tries afterwards fails instead of being silently dropped.
    const discarding = this.trx.discard(reason);
    // Awaited (and any failure logged) when the outcome is recorded.
    discarding.catch(() => undefined);
    this.discarding = discarding;
    this.#fireSignal(reason);
    interrupt({ kind: "interrupted", reason });
  }
}

/**
 * Runs claimed tasks of one queue, one attempt each: inside a lazily opened transaction, with a
 * heartbeat, a timeout and an abort signal, then records the outcome through the storage
 * contract. `execute` never rejects; whatever goes wrong is recorded, reported or left to the
 * lease.
 */
export class TaskExecutor<Input, Tx> {
  readonly #queue: Queue<Input, Tx>;
  readonly #storage: StorageAdapter<Tx>;
  readonly #task: Task<Input, unknown, Tx>;
  readonly #options: ResolvedWorkerOptions;
  readonly #acks: AckBatcher;
  readonly #host: TaskExecutorHost;
  readonly #running = new Map<string, RunningAttempt<Tx>>();
  readonly #continuation: ContinuationTarget;
  /** Sends a running attempt's heartbeat; one function for all of them. */
  readonly #beatOf = (running: RunningAttempt<Tx>): void => this.#beat(running);
  /** When the lease of each claimed task was last set, which its attempt counts its lease from. */
  readonly #leaseTimes: LeaseTimes;
  /** Set by `abortAll`: tasks handed over after that (claimed follow-ups) are given straight back. */
  #abortedWith: ShutdownError | null = null;

  constructor(
    queue: Queue<Input, Tx>,
    task: Task<Input, unknown, Tx>,
    options: ResolvedWorkerOptions,
    acks: AckBatcher,
    host: TaskExecutorHost,
    leaseTimes: LeaseTimes,
  ) {
    this.#leaseTimes = leaseTimes;
    this.#queue = queue;
    this.#storage = queue.storage;
    this.#task = task;
    this.#options = options;
    this.#acks = acks;
    this.#host = host;
    this.#continuation = { queueName: queue.name, task };
  }

  /** How many attempts are executing or being recorded. */
  get size(): number {
    return this.#running.size;
  }

  /** Asks a running task to stop because it was cancelled; it then ends `cancelled`. */
  cancel(taskId: string): void {
    const running = this.#running.get(taskId);
    if (running !== undefined && !running.ended) running.abort(new TaskCancelledError(taskId));
  }

  /** Stops every running attempt at once (shutdown grace over); each is recorded as a retry. */
  abortAll(reason: ShutdownError): void {
    this.#abortedWith = reason;
    for (const running of this.#running.values()) {
      if (!running.ended) running.abort(reason);
    }
  }

  /**
   * Executes one claimed attempt to its end. Never rejects.
   *
   * @param releaseSlot - called once the attempt no longer needs its worker slot: when a success
   *   that never opened a transaction has been handed to the acknowledgement batch (so the next
   *   claim overlaps with its write), else when the attempt has ended. May be called twice.
   * @param continueHere - let the first follow-up of this queue and task (due at once, unkeyed: a
   *   job's next step) of a success be written claimed with that success (its acknowledgement, or
   *   its transaction) and handed to the worker (`continueWith`) to run next, with no claim.
   */
  execute(claimed: ClaimedTask, releaseSlot: () => void = () => {}, membership: GroupMembership<Tx> | null = null, continueHere = false): Promise<void> {
    if (this.#abortedWith !== null) return this.#giveBack(claimed, this.#abortedWith);
    return this.#executeAttempt(claimed, releaseSlot, membership, continueHere && membership === null);
  }

  /**
   * Runs one attempt and records its outcome, then hands the follow-up claimed to run next, if
   * any, to the host.
   *
   * Each async step of an attempt is a promise and a resumption for every task a worker runs, so
   * the path of a plain success is kept short: this function, the task's code and the
   * acknowledgement are its only async steps (the steps between them return the promise of the
   * next one).
   */
  async #executeAttempt(claimed: ClaimedTask, releaseSlot: () => void, membership: GroupMembership<Tx> | null, continueHere: boolean): Promise<void> {
    const running = new RunningAttempt<Tx>(claimed, this.#storage, releaseSlot, membership, this.#beatOf);
    this.#running.set(claimed.id, running);
    let next: ClaimedTask | null = null;
    try {
      this.#host.emit("task:claimed", running.ref);
      // Before the timer reads the clock: its heartbeats then fall on or after this time.
      running.leaseHeldUntil = this.#leaseTimes.heldUntil(claimed, Date.now());
      running.timer = new AttemptTimer(claimed.heartbeatMs, claimed.timeoutMs, running);
      let settlement: Settlement;
      try {
        settlement = await running.settle(this.#invoke(running, continueHere));
      } finally {
        // The heartbeat must stop whatever happened, or a dead attempt would keep its lease.
        running.ended = true;
        running.timer.stop();
      }
      next = await this.#record(running, settlement);
    } catch (error) {
      this.#host.reportError(error, "Recording a task's outcome failed; its lease will recover it", { taskId: claimed.id });
    } finally {
      running.transactionSettled();
      this.#running.delete(claimed.id);
    }
    if (next !== null) this.#host.continueWith(next);
  }

  /**
   * A claimed task whose cancel was requested before it started (a follow-up waiting for a slot,
   * an attempt waiting for its turn in a commit group): it ends cancelled, its code never run.
   * Never rejects.
   */
  async endCancelledBeforeStart(claimed: ClaimedTask): Promise<void> {
    const ref: AttemptRef = { queueName: claimed.queueName, taskId: claimed.id, attempt: claimed.attempt };
    await this.#recordFailure({ ref, claimed }, new TaskCancelledError(claimed.id));
  }

  /** A task claimed for this worker after its shutdown grace ran out: back to pending at once. */
  async #giveBack(claimed: ClaimedTask, reason: ShutdownError): Promise<void> {
    const ref: AttemptRef = { queueName: claimed.queueName, taskId: claimed.id, attempt: claimed.attempt };
    try {
      await this.#storage.taskRetry({ ...ref, delayMs: 0, errorMessage: reason.message });
    } catch (error) {
      this.#options.logger.warn({ error, taskId: ref.taskId }, "Could not give back a follow-up claimed at shutdown; its lease will recover it");
    }
  }

  async #invoke(running: RunningAttempt<Tx>, continueHere: boolean): Promise<Settlement> {
    const { claimed } = running;
    try {
      const cx = new AttemptContext<Tx>(claimed, running, continueHere ? this.#continuation : null);
      let input: Input;
      if (this.#task.schema) {
        try {
          input = await validateWithSchema(this.#task.schema, claimed.input);
        } catch (error) {
          // Stored input that fails its schema will fail every attempt alike.
          throw fatal(error);
        }
      } else {
        input = claimed.input as Input;
      }
      const value = await this.#task.execute(cx, input);
      const continues = continueHere && this.#host.isRunning();
      return { kind: "returned", value, followUps: cx.hasFollowUps ? await cx.collectFollowUps(continues) : [] };
    } catch (error) {
      return { kind: "threw", error };
    }
  }

  /**
   * One heartbeat of a running attempt, unless one is still on its way. An attempt whose
   * heartbeats have not reached Postgres for as long as a lease lasts (failing, or hanging on a
   * dead connection) gives its lease up first: it can have expired, and another worker can have
   * claimed the task, so the task's signal fires with a {@link LeaseLostError}.
   */
  #beat(running: RunningAttempt<Tx>): void {
    const sentAt = Date.now();
    if (!running.ended && sentAt >= running.leaseHeldUntil) {
      running.abort(new LeaseLostError(running.ref.taskId, { cause: running.lastHeartbeatError }));
      return;
    }
    if (running.heartbeatInFlight) return;
    running.heartbeatInFlight = true;
    this.#storage.taskHeartbeat(running.ref).then(
      (outcome) => {
        running.heartbeatInFlight = false;
        running.leaseHeldUntil = sentAt + LEASE_HEARTBEATS * running.claimed.heartbeatMs;
        running.lastHeartbeatError = undefined;
        if (!running.ended && outcome.cancelRequested) running.abort(new TaskCancelledError(running.ref.taskId));
      },
      (error: unknown) => {
        running.heartbeatInFlight = false;
        running.lastHeartbeatError = error;
        if (running.ended) return;
        if (TaskNotFoundError.isInstance(error)) {
          running.abort(new LeaseLostError(running.ref.taskId, { cause: error }));
        } else {
          // A missed heartbeat is survivable while the lease lasts (three heartbeats).
          this.#host.reportError(error, "A heartbeat failed", { taskId: running.ref.taskId });
        }
      },
    );
  }

  /** Records how the attempt ended; returns the follow-up written claimed to run next, if any. */
  #record(running: RunningAttempt<Tx>, settlement: Settlement): Promise<ClaimedTask | null> {
    if (settlement.kind === "returned" && !TaskCancelledError.isInstance(running.abortReason)) {
      return this.#recordSuccess(running, this.#toOutput(settlement.value, running.ref.taskId), settlement.followUps);
    }
    return this.#recordUnsuccessful(running, settlement);
  }

  /** Records an attempt that threw, was interrupted or was cancelled while it ran. */
  async #recordUnsuccessful(running: RunningAttempt<Tx>, settlement: Settlement): Promise<null> {
    const { ref } = running;
    if (settlement.kind === "interrupted") {
      const { reason } = settlement;
      // Discard, never roll back on the same connection: the task's code may still be running and
      // must not be able to commit anything, now or later.
      await this.#quietly(running.discarding ?? running.trx.discard(reason), "Discarding a stopped attempt's transaction failed", ref.taskId);
      running.transactionSettled();
      if (reason instanceof LeaseLostError) {
        this.#host.emit("task:lease-lost", ref);
        return null;
      }
      if (reason instanceof TimeoutError) {
        this.#host.emit("task:timed-out", { ...ref, timeoutMs: reason.timeoutMs });
        await this.#recordFailure(running, reason);
        return null;
      }
      await this.#recordShutdown(running, reason);
      return null;
    }
    if (settlement.kind === "threw") {
      await this.#quietly(running.rollback(), "Rolling back a failed attempt failed", ref.taskId);
      running.transactionSettled();
      await this.#recordFailure(running, settlement.error);
      return null;
    }
    // The attempt returned, but its cancel was requested meanwhile: it ends cancelled whatever it
    // returned, and its writes do not land.
    const signalReason = running.abortReason as TaskCancelledError;
    await this.#quietly(running.rollback(), "Rolling back a cancelled attempt failed", ref.taskId);
    running.transactionSettled();
    await this.#recordFailure(running, signalReason);
    return null;
  }

  /** Records a success: acknowledged in bulk, in its commit group, or in its own transaction. */
  #recordSuccess(running: RunningAttempt<Tx>, output: JsonValue | null, followUps: FollowUpTask[]): Promise<ClaimedTask | null> {
    if (!running.transactionIsOpen) return this.#recordAcknowledged(running, output, followUps);
    if (running.membership !== null) return this.#recordInGroup(running, running.membership, output, followUps);
    return this.#recordCommitted(running, output, followUps);
  }

  /** A success that wrote through `cx.tx`: completed inside that transaction, then committed. */
  async #recordCommitted(running: RunningAttempt<Tx>, output: JsonValue | null, followUps: FollowUpTask[]): Promise<ClaimedTask | null> {
    const { ref, trx } = running;
    let outcome: CompleteOutcome;
    const sentAt = Date.now();
    try {
      outcome = await this.#storage.taskComplete({ queueName: ref.queueName, taskId: ref.taskId, attempt: ref.attempt, output, followUps, tx: trx.tx });
    } catch (error) {
      await this.#quietly(trx.rollback(), "Rolling back an attempt failed", ref.taskId);
      if (TaskNotFoundError.isInstance(error)) {
        this.#host.emit("task:lease-lost", ref);
        return null;
      }
      await this.#recordFailure(running, error);
      return null;
    }
    try {
      await trx.commit();
    } catch (error) {
      // A failed commit keeps nothing, so the attempt is a failure like any other.
      await this.#recordFailure(running, error);
      return null;
    }
    if (outcome.state === "cancelled") {
      this.#host.emit("task:cancelled", ref);
      return null;
    }
    this.#host.emit("task:succeeded", { queueName: ref.queueName, taskId: ref.taskId, attempt: ref.attempt, output });
    // Claimed in the transaction that just committed: this worker's to run.
    const next = outcome.claimedFollowUps[0] ?? null;
    if (next !== null) this.#leaseTimes.renewed(next, sentAt);
    return next;
  }

  /**
   * A success that never touched `cx.tx`: it joins the bulk acknowledgement, slot given back.
   * Returns its follow-up written claimed with the acknowledgement, if any.
   */
  async #recordAcknowledged(running: RunningAttempt<Tx>, output: JsonValue | null, followUps: FollowUpTask[]): Promise<ClaimedTask | null> {
    const { ref, membership } = running;
    let outcome: AckOutcome;
    // The acknowledgement's statement, which claims the follow-up, is sent at this time or later.
    const sentAt = Date.now();
    try {
      const acknowledged = this.#acks.add(completionOf(ref, output, followUps));
      // A commit-group member that never queried must still end, so the next one may start.
      if (membership !== null) await membership.trx.commit();
      running.transactionSettled();
      running.releaseSlot();
      outcome = await acknowledged;
    } catch (error) {
      this.#host.reportError(error, "Acknowledging a finished task failed; its lease will recover it", { taskId: ref.taskId });
      return null;
    }
    this.#emitAcknowledged(ref, outcome.result, output);
    if (outcome.result !== "succeeded") return null;
    if (outcome.claimedFollowUp !== null) this.#leaseTimes.renewed(outcome.claimedFollowUp, sentAt);
    return outcome.claimedFollowUp;
  }

  /**
   * A success that wrote through a commit group's `cx.tx`: its work stays in the group (no round
   * trip), and the group completes it and commits. It keeps its slot and goes on heartbeating
   * until then, so waiting for the group's last attempt never costs it its lease.
   */
  async #recordInGroup(running: RunningAttempt<Tx>, membership: GroupMembership<Tx>, output: JsonValue | null, followUps: FollowUpTask[]): Promise<null> {
    const { ref, trx } = running;
    const keepLease = new AttemptTimer(running.claimed.heartbeatMs, MAX_TIMER_MS, { onHeartbeat: () => this.#beat(running), onDeadline: () => {} });
    let result: AckResult;
    try {
      await trx.commit();
      const committed = membership.complete(completionOf(ref, output, followUps));
      running.transactionSettled();
      result = await committed;
    } catch (error) {
      // The group did not commit: nothing of this attempt was kept.
      await this.#recordFailure(running, error);
      return null;
    } finally {
      keepLease.stop();
    }
    this.#emitAcknowledged(ref, result, output);
    return null;
  }

  #emitAcknowledged(ref: AttemptRef, result: AckResult, output: JsonValue | null): void {
    if (result === "rejected") this.#host.emit("task:lease-lost", ref);
    else if (result === "cancelled") this.#host.emit("task:cancelled", ref);
    else this.#host.emit("task:succeeded", { queueName: ref.queueName, taskId: ref.taskId, attempt: ref.attempt, output });
  }

  async #recordFailure(running: Pick<RunningAttempt<Tx>, "ref" | "claimed">, error: unknown): Promise<void> {
    const { ref, claimed } = running;
    const message = errorMessage(error);
    try {
      const policy = RetryPolicy.from(claimed.retryPolicy);
      if (!FatalError.isInstance(error) && policy.allowsRetryAfter(claimed.attempt)) {
        const delayMs = policy.delayMs(claimed.attempt, this.#options.random);
        const outcome = await this.#storage.taskRetry({ ...ref, delayMs, errorMessage: message });
        if (outcome.state === "cancelled") {
          this.#host.emit("task:cancelled", ref);
        } else {
          this.#host.emit("task:retry", { ...ref, delayMs, error });
          this.#host.retryScheduled();
        }
        return;
      }
      const outcome = await this.#storage.taskFail({ ...ref, errorMessage: message });
      if (outcome.state === "cancelled") {
        this.#host.emit("task:cancelled", ref);
        return;
      }
      this.#host.emit("task:failed", { ...ref, error });
      if (outcome.deadLetterQueueName !== null) {
        this.#host.emit("task:dead-lettered", { ...ref, deadLetterQueueName: outcome.deadLetterQueueName });
      }
    } catch (recordError) {
      if (TaskNotFoundError.isInstance(recordError)) {
        this.#host.emit("task:lease-lost", ref);
        return;
      }
      this.#host.reportError(recordError, "Recording a failed attempt failed; its lease will recover the task", {
        taskId: ref.taskId,
        attemptError: message,
      });
    }
  }

  /** Best effort: an aborted attempt goes straight back to pending; else the lease recovers it. */
  async #recordShutdown(running: Pick<RunningAttempt<Tx>, "ref" | "claimed">, reason: ShutdownError): Promise<void> {
    const { ref, claimed } = running;
    if (!RetryPolicy.from(claimed.retryPolicy).allowsRetryAfter(claimed.attempt)) {
      await this.#recordFailure(running, reason);
      return;
    }
    try {
      const outcome = await this.#storage.taskRetry({ ...ref, delayMs: 0, errorMessage: reason.message });
      if (outcome.state === "cancelled") this.#host.emit("task:cancelled", ref);
      else this.#host.emit("task:retry", { ...ref, delayMs: 0, error: reason });
    } catch (error) {
      if (TaskNotFoundError.isInstance(error)) this.#host.emit("task:lease-lost", ref);
      else this.#options.logger.warn({ error, taskId: ref.taskId }, "Could not release an aborted task at shutdown; its lease will recover it");
    }
  }

  #toOutput(value: unknown, taskId: string): JsonValue | null {
    if (value === undefined || value === null) return null;
    try {
      return assertJsonPayload(value, "output");
    } catch (error) {
      this.#options.logger.warn({ taskId, error }, "A task returned a value that is not JSON; its output is stored as null");
      return null;
    }
  }

  async #quietly(operation: Promise<void>, message: string, taskId: string): Promise<void> {
    try {
      await operation;
    } catch (error) {
      this.#options.logger.warn({ error, taskId }, message);
    }
  }
}
