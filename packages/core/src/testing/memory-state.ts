import type { AttemptRecord, ScheduleRecord, TaskRecord } from "../storage/records.js";
import type { StorageEvent } from "../storage/storage-adapter.js";

/** A registered queue of the in-memory storage. */
export interface MemoryQueueRow {
  deadLetterQueueName: string | null;
}

/** Undo steps of the writes made since a journal began, newest last. */
type UndoLog = Array<() => void>;

/** A map that records how to undo each change while its state is journaling. */
class JournaledMap<K, V> extends Map<K, V> {
  readonly #journal: () => UndoLog | null;

  constructor(journal: () => UndoLog | null) {
    super();
    this.#journal = journal;
  }

  override set(key: K, value: V): this {
    const undo = this.#journal();
    if (undo !== null) undo.push(this.#restorer(key));
    return super.set(key, value);
  }

  override delete(key: K): boolean {
    const undo = this.#journal();
    if (undo !== null && super.has(key)) undo.push(this.#restorer(key));
    return super.delete(key);
  }

  #restorer(key: K): () => void {
    const existed = super.has(key);
    const previous = super.get(key);
    return () => {
      if (existed) super.set(key, previous as V);
      else super.delete(key);
    };
  }
}

/** A set that records how to undo each addition while its state is journaling. */
class JournaledSet<T> extends Set<T> {
  readonly #journal: () => UndoLog | null;

  constructor(journal: () => UndoLog | null) {
    super();
    this.#journal = journal;
  }

  override add(value: T): this {
    const undo = this.#journal();
    if (undo !== null && !super.has(value)) undo.push(() => super.delete(value));
    return super.add(value);
  }
}

/**
 * Every row the in-memory storage holds. Rows are replaced, never mutated in place, so the undo
 * journal can restore a previous row by reference: a write that throws halfway, and a
 * transaction's trial run of its writes, leave no trace.
 */
export class MemoryState {
  #undo: UndoLog | null = null;
  readonly queues = new JournaledMap<string, MemoryQueueRow>(() => this.#undo);
  readonly tasks = new JournaledMap<string, TaskRecord>(() => this.#undo);
  /** Attempts by task id, ordered by attempt number. */
  readonly attempts = new JournaledMap<string, ReadonlyArray<AttemptRecord>>(() => this.#undo);
  readonly schedules = new JournaledMap<string, ScheduleRecord>(() => this.#undo);
  /** The (queue, fire time) pairs already fired, as {@link fireKey} strings. */
  readonly firedOccurrences = new JournaledSet<string>(() => this.#undo);

  /** Runs `body`; if it throws, every change it made is undone before the error propagates. */
  atomically<Result>(body: () => Result): Result {
    const undo = this.#beginJournal();
    try {
      const result = body();
      this.#undo = null;
      return result;
    } catch (error) {
      this.#rollBack(undo);
      throw error;
    }
  }

  /** Runs `body` and then undoes every change it made, whether it returned or threw. */
  tentatively<Result>(body: () => Result): Result {
    const undo = this.#beginJournal();
    try {
      return body();
    } finally {
      this.#rollBack(undo);
    }
  }

  #beginJournal(): UndoLog {
    if (this.#undo !== null) throw new Error("MemoryState journals do not nest");
    const undo: UndoLog = [];
    this.#undo = undo;
    return undo;
  }

  #rollBack(undo: UndoLog): void {
    this.#undo = null;
    for (let index = undo.length - 1; index >= 0; index -= 1) undo[index]!();
  }
}

/** The key recording that a schedule's occurrence was fired. */
export function fireKey(queueName: string, fireAt: Date): string {
  return `${queueName}\u0000${fireAt.getTime()}`;
}

/**
 * One write of the in-memory storage: changes `state` and appends the events it causes to
 * `events`. Each write captures the time of its call, so replaying it at commit gives the same rows.
 */
export type MemoryOperation<Result = unknown> = (state: MemoryState, events: StorageEvent[]) => Result;
