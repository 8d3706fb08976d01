import {
  ConfigError,
  ShutdownError,
  TypedEventEmitter,
  assertTask,
  describeArgument,
  isAbortSignal,
  type ClaimedTask,
  type Queue,
  type StorageAdapter,
  type StorageEvent,
  type StorageSubscription,
  type Task,
} from "@underway/core";
import { AckBatcher } from "./ack-batcher.js";
import { CommitGroupRunner } from "./commit-group.js";
import { ContinuationQueue } from "./continuation-queue.js";
import { LeaseTimes } from "./lease-times.js";
import { TaskExecutor, type GroupMembership } from "./task-executor.js";
import type { WorkerEvents } from "./worker-events.js";
import { resolveWorkerOptions, type ResolvedWorkerOptions, type WorkerOptions } from "./worker-options.js";

type WorkerState = "idle" | "running" | "stopping" | "stopped";

const CLAIM_BACKOFF_FIRST_MS = 100;
const CLAIM_BACKOFF_MAX_MS = 5_000;
const FIRST_PRUNE_DELAY_MS = 1_000;
/** Room for a storage clock a little behind ours, so a run-time timer does not fire just early. */
const RUN_AT_TIMER_SLACK_MS = 5;
/** Acknowledgements waiting past this many (or `concurrency`) pause claiming. */
const ACK_BACKLOG_LIMIT = 1_000;
/**
 * The most acknowledgements per statement (or `claimBatchSize`): bigger statements got slower per
 * task on a busy server (measured by `pnpm bench`), and a claim's worth keeps the two in step.
 */
const ACK_STATEMENT_LIMIT = 100;

/**
 * Runs the tasks of one queue: claims them in batches, executes each inside a lazily opened
 * transaction with a heartbeat, a timeout and an abort signal, and records every outcome through
 * the storage contract, so it works on any storage.
 *
 * It wakes when a task becomes available (storage notification), when the earliest delayed task or
 * retry is due, when a slot frees up after a full claim, and on a fallback poll. A success that
 * never opened a transaction frees its slot as soon as its acknowledgement is queued, so the next
 * claim runs while the acknowledgements of the last batch are being written. A follow-up of this
 * queue and task that is due at once (a job's next step) is written already claimed with its
 * parent's success and runs in the next free slot, ahead of new claims, with no claim of its own.
 *
 * @typeParam Input - the queue's task input.
 * @typeParam Tx - the storage's transaction handle (`cx.tx`).
 *
 * @example
 * ```ts
 * const worker = new Worker(queue, sendEmail, { concurrency: 20 });
 * worker.on("task:failed", ({ taskId, error }) => console.error(taskId, error));
 * const running = worker.run();
 * process.once("SIGTERM", () => void worker.shutdown());
 * await running;
 * ```
 */
export class Worker<Input, Tx> extends TypedEventEmitter<WorkerEvents> {
  /** The queue this worker takes tasks from. */
  readonly queue: Queue<Input, Tx>;
  /** The task it runs. */
  readonly task: Task<Input, unknown, Tx>;
  readonly #storage: StorageAdapter<Tx>;
  readonly #options: ResolvedWorkerOptions;
  readonly #acks: AckBatcher;
  /**
   * A success waiting for its acknowledgement no longer holds a slot, so the next claim overlaps
   * with the acknowledgement's write; past this many waiting, the worker stops claiming until
   * the acknowledgements catch up, so a slow storage cannot pile them up.
   */
  readonly #ackBacklogLimit: number;
  readonly #executor: TaskExecutor<Input, Tx>;
  /** Set when `groupCommit` > 1. */
  readonly #groups: CommitGroupRunner<Tx> | null;
  #state: WorkerState = "idle";
  readonly #stopController = new AbortController();
  readonly #stopped: Promise<void>;
  #resolveStopped!: () => void;
  /** Attempts started by the claim loop (not by `processNextTask`); they fill the slots. */
  #slotsInUse = 0;
  /** What shutdown waits for: the attempts, commit groups and cancellations started here. */
  readonly #inFlight = new Set<Promise<void>>();
  /**
   * Follow-ups written claimed for this worker (a job's next steps), waiting for a free slot,
   * their leases kept; they take slots before any new claim.
   */
  readonly #continuations: ContinuationQueue;
  /** When the lease of each task claimed here was last set; attempts count their leases from it. */
  readonly #leaseTimes: LeaseTimes;
  /** Set by every reason to claim; cleared when a claim starts. */
  #claimWanted = true;
  /**
   * The next claim also takes back expired leases (on start-up and every poll); claims woken by
   * new work take pending tasks only, which is cheaper.
   */
  #reclaimDue = true;
  #wakeLoop: (() => void) | null = null;
  #pollTimer: ReturnType<typeof setInterval> | undefined;
  #runAtTimer: ReturnType<typeof setTimeout> | undefined;
  #runAtTimerDueAt = Number.POSITIVE_INFINITY;
  #runAtSkewDelayMs = 0;
  #pruneTimer: ReturnType<typeof setTimeout> | undefined;
  #subscription: StorageSubscription | null = null;
  #subscribing: Promise<void> | null = null;
  readonly #onStorageEvent = (event: StorageEvent) => this.#handleStorageEvent(event);

  /**
   * @throws {@link ConfigError} when the queue, the task or an option is invalid.
   */
  constructor(queue: Queue<Input, Tx>, task: Task<Input, unknown, Tx>, options: WorkerOptions = {}) {
    super();
    if (typeof queue !== "object" || queue === null || typeof queue.name !== "string" || typeof queue.storage !== "object") {
      throw new ConfigError("new Worker(queue, task) expects a queue built with Queue.builder()...build()");
    }
    assertTask(task);
    this.queue = queue;
    this.task = task;
    this.#storage = queue.storage;
    this.#options = resolveWorkerOptions(options);
    this.#acks = new AckBatcher(queue.storage as StorageAdapter<unknown>, {
      maxBatchSize: Math.max(ACK_STATEMENT_LIMIT, this.#options.claimBatchSize),
      logger: this.#options.logger,
      onBatchSettled: () => this.#nudge(),
    });
    this.#ackBacklogLimit = Math.max(ACK_BACKLOG_LIMIT, this.#options.concurrency);
    const leaseTimes = new LeaseTimes();
    this.#leaseTimes = leaseTimes;
    this.#executor = new TaskExecutor(queue, task, this.#options, this.#acks, {
      emit: (event, payload) => {
        this.emit(event, payload);
      },
      reportError: (error, message, fields) => this.#reportError(error, message, fields),
      retryScheduled: () => this.#requestClaim(),
      isRunning: () => this.#state === "running",
      continueWith: (claimed) => this.#continueWith(claimed),
    }, leaseTimes);
    this.#continuations = new ContinuationQueue(queue.storage as StorageAdapter<unknown>, {
      reportError: (error, message, fields) => this.#reportError(error, message, fields),
    }, leaseTimes);
    this.#groups = this.#options.groupCommit > 1 ? new CommitGroupRunner(queue.storage, this.#options.groupCommit, this.#options.logger, this.#options.groupPipeline) : null;
    this.#stopped = new Promise<void>((resolve) => {
      this.#resolveStopped = resolve;
    });
  }

  /**
   * Runs until {@link shutdown} is called, `signal` aborts, or a shutdown is requested through the
   * storage ({@link gracefulShutdown}). Resolves once stopped; it does not reject for task or
   * storage errors, which are logged and emitted as `worker:error`. A worker runs once: calling
   * `run()` again returns the same stop.
   *
   * @throws {@link ConfigError} (as a rejection) when `signal` is given but is not an
   * `AbortSignal`; the worker is left as it was, so a later `run()` and `shutdown()` work.
   */
  async run(signal?: AbortSignal): Promise<void> {
    if (signal !== undefined && !isAbortSignal(signal)) {
      throw new ConfigError(`worker.run(signal) expects an AbortSignal or nothing, got ${describeArgument(signal)}`);
    }
    if (this.#state !== "idle") return this.#stopped;
    if (signal?.aborted) return this.shutdown();
    this.#state = "running";
    const onAbort = () => void this.shutdown();
    signal?.addEventListener("abort", onAbort, { once: true });
    this.emit("worker:started", { queueName: this.queue.name });
    try {
      this.#subscribing = this.#subscribe();
      this.#pollTimer = setInterval(() => {
        this.#reclaimDue = true;
        this.#requestClaim();
      }, this.#options.pollIntervalMs);
      this.#schedulePrune(Math.min(FIRST_PRUNE_DELAY_MS, this.#options.pruneIntervalMs));
      await this.#claimLoop();
      await this.#finishInFlight();
    } catch (error) {
      this.#reportError(error, "The worker loop failed");
    } finally {
      signal?.removeEventListener("abort", onAbort);
      this.#clearTimers();
      this.#state = "stopped";
      this.emit("worker:stopped", { queueName: this.queue.name });
      this.#resolveStopped();
    }
  }

  /**
   * Claims one task, runs it to the end and records the outcome (durably, acknowledgement
   * included). Useful in tests and for hand-made loops.
   *
   * @returns the task's id, or null when no task was claimable.
   */
  async processNextTask(): Promise<string | null> {
    const sentAt = Date.now();
    const [claimed] = await this.#storage.taskClaim({ queueName: this.queue.name, limit: 1 });
    if (claimed === undefined) return null;
    this.#leaseTimes.renewed(claimed, sentAt);
    await this.#executor.execute(claimed);
    return claimed.id;
  }

  /**
   * Stops gracefully: no new claims, in-flight tasks get `shutdownTimeoutMs` to finish, then their
   * signals fire with a `ShutdownError` and they are put back to pending (an aborted attempt
   * counts: on its last attempt a task fails for good). Resolves when `run()` has finished.
   * Idempotent; before `run()` it just marks the worker stopped.
   */
  shutdown(): Promise<void> {
    if (this.#state === "idle") {
      this.#state = "stopped";
      this.#resolveStopped();
    } else if (this.#state === "running") {
      this.#state = "stopping";
      this.#stopController.abort();
      this.#nudge();
    }
    return this.#stopped;
  }

  async #claimLoop(): Promise<void> {
    const { concurrency, claimBatchSize } = this.#options;
    let claimFailures = 0;
    while (this.#state === "running") {
      this.#startContinuations();
      const freeSlots = concurrency - this.#slotsInUse;
      if (!this.#claimWanted || freeSlots <= 0 || this.#acks.size >= this.#ackBacklogLimit) {
        await new Promise<void>((resolve) => {
          this.#wakeLoop = resolve;
        });
        continue;
      }
      this.#claimWanted = false;
      const limit = Math.min(freeSlots, claimBatchSize);
      const reclaimExpired = this.#reclaimDue;
      this.#reclaimDue = false;
      let claimed: ClaimedTask[];
      const claimStartedAt = new Date();
      try {
        claimed = await this.#storage.taskClaim({ queueName: this.queue.name, limit, reclaimExpired });
        claimFailures = 0;
        this.#leaseTimes.claimed(claimed, claimStartedAt.getTime());
      } catch (error) {
        if (reclaimExpired) this.#reclaimDue = true;
        claimFailures += 1;
        this.#reportError(error, "Claiming tasks failed; backing off", { claimFailures });
        this.#claimWanted = true;
        await this.#sleepUnlessStopping(Math.min(CLAIM_BACKOFF_FIRST_MS * 2 ** (claimFailures - 1), CLAIM_BACKOFF_MAX_MS));
        continue;
      }
      if (this.#groups === null) for (const task of claimed) this.#startAttempt(task);
      else this.#startGroups(claimed);
      // A full claim means more may be waiting; claim again as soon as a slot is free.
      if (claimed.length === limit) this.#claimWanted = true;
      else void this.#armRunAtTimer(claimStartedAt);
    }
  }

  #startAttempt(task: ClaimedTask, membership: GroupMembership<Tx> | null = null): Promise<void> {
    this.#slotsInUse += 1;
    let released = false;
    const releaseSlot = () => {
      if (released) return;
      released = true;
      this.#slotsInUse -= 1;
      // While stopping there is no claim loop: the slot goes to a waiting follow-up, if any.
      if (this.#state === "stopping") this.#startContinuations();
      this.#nudge();
    };
    // Outside commit groups, a job's next step may come back claimed and continue here.
    return this.#keepInFlight(this.#executor.execute(task, releaseSlot, membership, membership === null), releaseSlot);
  }

  /** Runs a claimed batch in commit groups of up to `groupCommit` attempts, side by side. */
  #startGroups(claimed: ClaimedTask[]): void {
    const groups = this.#groups!;
    const claimedAt = Date.now();
    // The slots are taken now: the attempts of a group wait for their turn in them.
    this.#slotsInUse += claimed.length;
    const started = new Set<ClaimedTask>();
    const start = (task: ClaimedTask, membership: GroupMembership<Tx> | null) => {
      started.add(task);
      this.#slotsInUse -= 1;
      return this.#startAttempt(task, membership);
    };
    const skip = (task: ClaimedTask) => {
      started.add(task);
      this.#slotsInUse -= 1;
      this.#nudge();
      this.#options.logger.warn({ queueName: this.queue.name, taskId: task.id }, "Shutting down before a claimed task's turn in its commit group; its lease will return it to the queue");
    };
    const endCancelled = async (task: ClaimedTask) => {
      started.add(task);
      try {
        await this.#executor.endCancelledBeforeStart(task);
      } finally {
        this.#slotsInUse -= 1;
        this.#nudge();
      }
    };
    for (let first = 0; first < claimed.length; first += this.#options.groupCommit) {
      const tasks = claimed.slice(first, first + this.#options.groupCommit);
      const running = groups.run(tasks, claimedAt, { start, skip, endCancelled }).catch((error: unknown) => {
        this.#reportError(error, "A commit group failed; its leases will recover its tasks");
        for (const task of tasks) if (!started.has(task)) skip(task);
      });
      this.#keepInFlight(running);
    }
  }

  /**
   * A follow-up written claimed for this worker: it waits for a slot, ahead of new claims, its
   * lease kept meanwhile. Once stopping it is in-flight work like the attempt it follows: it
   * still gets the next free slot within the shutdown grace.
   */
  #continueWith(claimed: ClaimedTask): void {
    this.#continuations.add(claimed);
    if (this.#state === "running") this.#nudge();
    else this.#startContinuations();
  }

  /** Starts waiting follow-ups in the free slots. */
  #startContinuations(): void {
    while (this.#continuations.size > 0 && this.#slotsInUse < this.#options.concurrency) this.#startAttempt(this.#continuations.take()!);
  }

  /**
   * Counts `work` (it never rejects) as in flight until it settles: shutdown waits for it.
   * `settled` runs when it does, in the same callback (one per task). Returns what is counted.
   */
  #keepInFlight(work: Promise<void>, settled?: () => void): Promise<void> {
    const counted: Promise<void> = work.then(() => {
      settled?.();
      this.#inFlight.delete(counted);
    });
    this.#inFlight.add(counted);
    return counted;
  }

  async #finishInFlight(): Promise<void> {
    this.#clearTimers();
    this.#startContinuations();
    if (this.#inFlight.size > 0) {
      let graceTimer: ReturnType<typeof setTimeout> | undefined;
      const graceOver = new Promise<"grace over">((resolve) => {
        graceTimer = setTimeout(() => resolve("grace over"), this.#options.shutdownTimeoutMs);
      });
      const outcome = await Promise.race([this.#attemptsSettled(), graceOver]);
      clearTimeout(graceTimer);
      if (outcome === "grace over") {
        this.#options.logger.warn(
          { queueName: this.queue.name, running: this.#executor.size },
          "Shutdown grace period over; aborting the tasks still running",
        );
        this.#groups?.stopStarting();
        this.#executor.abortAll(new ShutdownError());
        // The executor now gives back, without running them, follow-ups still waiting for a slot.
        for (let claimed = this.#continuations.take(); claimed !== undefined; claimed = this.#continuations.take()) this.#startAttempt(claimed);
        await this.#attemptsSettled();
      }
    }
    await this.#acks.flush();
    await this.#subscribing;
    const subscription = this.#subscription;
    this.#subscription = null;
    if (subscription !== null) {
      try {
        await subscription.close();
      } catch (error) {
        this.#options.logger.warn({ error }, "Closing the storage subscription failed");
      }
    }
  }

  /** Resolves when no attempt is in flight, counting the follow-ups that continue one meanwhile. */
  async #attemptsSettled(): Promise<void> {
    while (this.#inFlight.size > 0) await Promise.all([...this.#inFlight]);
  }

  async #subscribe(): Promise<void> {
    let failures = 0;
    while (this.#state === "running") {
      try {
        const subscription = await this.#storage.subscribe(this.#onStorageEvent);
        if (this.#state !== "running") {
          await subscription.close();
          return;
        }
        this.#subscription = subscription;
        // Anything enqueued before the subscription took effect was not announced to us.
        this.#requestClaim();
        return;
      } catch (error) {
        failures += 1;
        this.#reportError(error, "Subscribing to storage events failed; polling meanwhile", { failures });
        await this.#sleepUnlessStopping(Math.min(CLAIM_BACKOFF_FIRST_MS * 2 ** failures, CLAIM_BACKOFF_MAX_MS));
      }
    }
  }

  #handleStorageEvent(event: StorageEvent): void {
    switch (event.type) {
      case "task:available":
        if (event.queueName === this.queue.name) this.#requestClaim();
        return;
      case "listener:reconnected":
        this.#reclaimDue = true;
        this.#requestClaim();
        return;
      case "task:cancel-requested":
        if (event.queueName === this.queue.name) this.#cancel(event.taskId);
        return;
      case "shutdown":
        if (event.queueName === null || event.queueName === this.queue.name) void this.shutdown();
        return;
      case "listener:disconnected":
        this.#options.logger.warn({ queueName: this.queue.name, error: event.error }, "Storage listener disconnected; polling until it is back");
        return;
      default:
        return;
    }
  }

  /**
   * A cancel was requested: a running attempt is asked to stop (its signal fires); a claimed task
   * that has not started (a follow-up waiting for a slot, an attempt waiting for its turn in a
   * commit group) ends cancelled without running.
   */
  #cancel(taskId: string): void {
    if (this.#groups?.requestCancel(taskId)) return;
    const waiting = this.#continuations.remove(taskId);
    if (waiting === undefined) {
      this.#executor.cancel(taskId);
      return;
    }
    this.#keepInFlight(this.#executor.endCancelledBeforeStart(waiting));
  }

  #requestClaim(): void {
    this.#claimWanted = true;
    this.#nudge();
  }

  #nudge(): void {
    const wake = this.#wakeLoop;
    this.#wakeLoop = null;
    wake?.();
  }

  /**
   * After a short claim: wake up when the earliest delayed task (or retry) becomes due. It asks
   * for the tasks due after the claim started, not after now: a retry that came due between the
   * claim and this read was not claimable for that claim and must still wake the worker.
   */
  async #armRunAtTimer(claimStartedAt: Date): Promise<void> {
    let nextRunAt: Date | null;
    try {
      nextRunAt = await this.#storage.taskNextRunAt({ queueName: this.queue.name, after: claimStartedAt });
    } catch (error) {
      this.#reportError(error, "Reading the next run time failed; relying on the poll");
      return;
    }
    if (nextRunAt === null || this.#state !== "running") return;
    const now = Date.now();
    let delayMs = nextRunAt.getTime() - now + RUN_AT_TIMER_SLACK_MS;
    if (delayMs <= RUN_AT_TIMER_SLACK_MS) {
      // Due by our clock: it came due after the claim started, or the storage's clock is behind
      // ours and it is not claimable yet. Back off so a skewed clock cannot turn this timer into
      // a busy loop.
      this.#runAtSkewDelayMs = Math.min(Math.max(this.#runAtSkewDelayMs * 2, 20), 1_000);
      delayMs = this.#runAtSkewDelayMs;
    } else {
      this.#runAtSkewDelayMs = 0;
    }
    if (delayMs >= this.#options.pollIntervalMs) return;
    const dueAt = now + delayMs;
    if (this.#runAtTimer !== undefined && this.#runAtTimerDueAt <= dueAt) return;
    clearTimeout(this.#runAtTimer);
    this.#runAtTimerDueAt = dueAt;
    this.#runAtTimer = setTimeout(() => {
      this.#runAtTimer = undefined;
      this.#runAtTimerDueAt = Number.POSITIVE_INFINITY;
      this.#requestClaim();
    }, delayMs);
  }

  #schedulePrune(delayMs: number): void {
    if (this.#options.pruneIntervalMs === 0 || this.#state !== "running") return;
    this.#pruneTimer = setTimeout(() => {
      this.#prune().finally(() => this.#schedulePrune(this.#options.pruneIntervalMs));
    }, delayMs);
    // Pruning alone must not keep a process alive.
    this.#pruneTimer.unref?.();
  }

  /**
   * Deletes the finished tasks past their TTL of this worker's queue and of its dead-letter
   * queue, where its failed tasks end (no worker may ever run on that one). Never rejects.
   */
  async #prune(): Promise<void> {
    const { name, deadLetterQueueName } = this.queue;
    for (const queueName of deadLetterQueueName === null ? [name] : [name, deadLetterQueueName]) {
      try {
        const pruned = await this.#storage.taskPrune({ queueName });
        if (pruned > 0) this.#options.logger.debug({ queueName, pruned }, "Pruned finished tasks past their TTL");
      } catch (error) {
        this.#reportError(error, "Pruning finished tasks failed", { prunedQueueName: queueName });
      }
    }
  }

  #sleepUnlessStopping(ms: number): Promise<void> {
    const stopSignal = this.#stopController.signal;
    if (stopSignal.aborted) return Promise.resolve();
    return new Promise<void>((resolve) => {
      const done = () => {
        clearTimeout(timer);
        stopSignal.removeEventListener("abort", done);
        resolve();
      };
      const timer = setTimeout(done, ms);
      stopSignal.addEventListener("abort", done, { once: true });
    });
  }

  #clearTimers(): void {
    clearInterval(this.#pollTimer);
    clearTimeout(this.#runAtTimer);
    clearTimeout(this.#pruneTimer);
    this.#pollTimer = undefined;
    this.#runAtTimer = undefined;
    this.#pruneTimer = undefined;
  }

  #reportError(error: unknown, message: string, fields: Record<string, unknown> = {}): void {
    this.#options.logger.error({ queueName: this.queue.name, error, ...fields }, message);
    this.emit("worker:error", { queueName: this.queue.name, error });
  }
}
