import { expect } from "vitest";
import { newTaskId } from "../ids.js";
import { RetryPolicy } from "../retry-policy.js";
import type { AttemptRecord, ClaimedTask, NewTask, TaskRecord } from "../storage/records.js";
import type { StorageAdapter, StorageEvent, StorageSubscription, StorageTransaction } from "../storage/storage-adapter.js";
import { ManualClock } from "../testing/manual-clock.js";
import type { ConformanceHarness, ConformanceOptions } from "./conformance-harness.js";

/** Heartbeat of the suite's tasks: leases last three of them. */
export const HEARTBEAT_MS = 1_000;
export const LEASE_MS = 3 * HEARTBEAT_MS;

/** A read made outside an open transaction (see {@link ConformanceFixture.readOutside}). */
export interface OutsideRead<T> {
  /** What the read saw. */
  readonly answer: Promise<T>;
  /** Whether it is still held back, waiting for the transaction to end. */
  waiting(): boolean;
}

/** Events received by one subscription, in arrival order. */
export interface EventRecorder {
  readonly events: StorageEvent[];
  /** Resolves with the first recorded event passing `match`; fails after `timeoutMs` of real time. */
  waitFor(match: (event: StorageEvent) => boolean, timeoutMs?: number): Promise<StorageEvent>;
  close(): Promise<void>;
}

/**
 * The state of one conformance test: a fresh harness, its clock, a queue name no other test uses
 * (so storages backed by a shared database give isolated results), and helpers every case needs.
 */
export class ConformanceFixture<Tx> {
  readonly #setup: (options: ConformanceOptions) => Promise<ConformanceHarness<Tx>>;
  #harness: ConformanceHarness<Tx> | undefined;
  #subscriptions: StorageSubscription[] = [];
  clock = new ManualClock();
  queueName = "";
  deadLetterQueueName = "";

  constructor(setup: (options: ConformanceOptions) => Promise<ConformanceHarness<Tx>>) {
    this.#setup = setup;
  }

  get storage(): StorageAdapter<Tx> {
    if (this.#harness === undefined) throw new Error("The conformance harness is not set up");
    return this.#harness.storage;
  }

  /** Called before each test. */
  async start(): Promise<void> {
    // Whole seconds keep timestamps exact in storages with coarser precision than milliseconds.
    this.clock = new ManualClock(new Date(Math.floor(Date.now() / 1000) * 1000));
    const suffix = newTaskId().replace(/-/g, "").slice(-16);
    this.queueName = `conformance-${suffix}`;
    this.deadLetterQueueName = `conformance-${suffix}-dlq`;
    this.#harness = await this.#setup({ clock: this.clock });
    await this.storage.queueUpsert({ queueName: this.queueName });
  }

  /** Called after each test. */
  async stop(): Promise<void> {
    const subscriptions = this.#subscriptions;
    this.#subscriptions = [];
    await Promise.all(subscriptions.map((subscription) => subscription.close()));
    const harness = this.#harness;
    this.#harness = undefined;
    await harness?.teardown();
  }

  /** A task ready to enqueue, with the suite's defaults (1 s heartbeat, 3 attempts, no delay). */
  newTask(overrides: Partial<NewTask> = {}): NewTask {
    return {
      id: newTaskId(),
      input: { note: "conformance" },
      priority: 0,
      delayMs: 0,
      timeoutMs: 60_000,
      ttlMs: 24 * 60 * 60 * 1000,
      heartbeatMs: HEARTBEAT_MS,
      retryPolicy: new RetryPolicy({ maxAttempts: 3 }).toJSON(),
      concurrencyKey: null,
      dedupeKey: null,
      correlationId: null,
      ...overrides,
    };
  }

  /** Registers a fresh queue of this test (optionally with a dead-letter queue) and returns its name. */
  async otherQueue(label: string, deadLetterQueueName?: string): Promise<string> {
    const queueName = `${this.queueName}-${label}`;
    await this.storage.queueUpsert({ queueName, ...(deadLetterQueueName === undefined ? {} : { deadLetterQueueName }) });
    return queueName;
  }

  /** Enqueues tasks into the test's queue (or `queueName`) and returns their ids. */
  async enqueue(tasks: NewTask[], queueName = this.queueName): Promise<string[]> {
    const outcomes = await this.storage.taskEnqueue({ queueName, tasks });
    return outcomes.map((outcome) => outcome.id);
  }

  /** Enqueues one task built from `overrides` and returns it. */
  async enqueueOne(overrides: Partial<NewTask> = {}, queueName = this.queueName): Promise<NewTask> {
    const task = this.newTask(overrides);
    await this.enqueue([task], queueName);
    return task;
  }

  /** Claims up to `limit` tasks of the test's queue (or `queueName`). */
  claim(limit = 100, queueName = this.queueName): Promise<ClaimedTask[]> {
    return this.storage.taskClaim({ queueName, limit });
  }

  /** Claims exactly one task and fails the test otherwise. */
  async claimOne(queueName = this.queueName): Promise<ClaimedTask> {
    const claimed = await this.claim(1, queueName);
    expect(claimed, "expected exactly one claimable task").toHaveLength(1);
    return claimed[0]!;
  }

  /** The attempt reference of a claimed task. */
  ref(claimed: ClaimedTask): { queueName: string; taskId: string; attempt: number } {
    return { queueName: claimed.queueName, taskId: claimed.id, attempt: claimed.attempt };
  }

  /** Reads a task through the adapter and, when the harness has raw reads, checks they agree. */
  async task(taskId: string): Promise<TaskRecord | null> {
    const viaAdapter = await this.storage.taskGet({ taskId });
    const raw = this.#harness?.raw;
    if (raw !== undefined) {
      const viaRaw = await raw.task(taskId);
      expect(viaRaw, `raw read of task ${taskId}`).toEqual(viaAdapter);
    }
    return viaAdapter;
  }

  /** {@link task}, failing the test when the task does not exist. */
  async existingTask(taskId: string): Promise<TaskRecord> {
    const task = await this.task(taskId);
    expect(task, `task ${taskId} should exist`).not.toBeNull();
    return task!;
  }

  /** Reads a task's attempts through the adapter and, when possible, raw; checks they agree. */
  async attempts(taskId: string): Promise<AttemptRecord[]> {
    const viaAdapter = await this.storage.taskAttempts({ taskId });
    const raw = this.#harness?.raw;
    if (raw !== undefined) {
      const viaRaw = await raw.attempts(taskId);
      expect(viaRaw, `raw read of the attempts of ${taskId}`).toEqual(viaAdapter);
    }
    return viaAdapter;
  }

  /**
   * Whether a statement made outside an open transaction runs while it stays open; false for a
   * single-session storage, where it waits until the transaction ends (see the storage's
   * `concurrentTransactions` capability).
   */
  get readsAroundTransactions(): boolean {
    return this.storage.capabilities.concurrentTransactions !== false;
  }

  /**
   * Starts `read` outside the open transaction `tx`, then runs one statement inside that
   * transaction (a schedule delete that finds nothing), so that a read able to run has run. A
   * single-session storage holds the read back until the transaction ends; `waiting()` tells.
   */
  async readOutside<T>(tx: Tx, read: () => Promise<T>): Promise<OutsideRead<T>> {
    let answered = false;
    const answer = read().finally(() => {
      answered = true;
    });
    answer.catch(() => undefined);
    await this.storage.scheduleDelete({ queueName: this.queueName, tx });
    return { answer, waiting: () => !answered };
  }

  /**
   * Reads with `read` from outside the open `transaction`, commits it, and checks what the read
   * saw: with `whileOpen` where the read answers while the transaction is open; on a
   * single-session storage, that the read is held back, then with `afterCommit` once the commit
   * has let it run.
   */
  async commitAroundRead<T>(
    transaction: StorageTransaction<Tx>,
    read: () => Promise<T>,
    checks: { whileOpen(seen: T): void; afterCommit(seen: T): void },
  ): Promise<void> {
    const outside = await this.readOutside(transaction.tx, read);
    if (this.readsAroundTransactions) checks.whileOpen(await outside.answer);
    else expect(outside.waiting(), "a read outside the open transaction is held back").toBe(true);
    await transaction.commit();
    if (!this.readsAroundTransactions) checks.afterCommit(await outside.answer);
  }

  /** Subscribes to the storage and records every event until the test ends. */
  async recordEvents(): Promise<EventRecorder> {
    const events: StorageEvent[] = [];
    const subscription = await this.storage.subscribe((event) => events.push(event));
    this.#subscriptions.push(subscription);
    return {
      events,
      waitFor: (match, timeoutMs = 10_000) =>
        pollUntil(() => events.find(match), { timeoutMs, message: "a matching storage event" }),
      close: () => subscription.close(),
    };
  }
}

/** Polls `condition` until it returns a value other than undefined, null or false, or the deadline passes. */
export async function pollUntil<T>(
  condition: () => T | undefined | null | false | Promise<T | undefined | null | false>,
  { timeoutMs = 10_000, intervalMs = 5, message = "a condition" } = {},
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await condition();
    if (value !== undefined && value !== null && value !== false) return value;
    if (Date.now() > deadline) throw new Error(`Timed out after ${timeoutMs} ms waiting for ${message}`);
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
}

/** A date `ms` after `date`. */
export function after(date: Date, ms: number): Date {
  return new Date(date.getTime() + ms);
}
