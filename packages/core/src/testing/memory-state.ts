import type { AttemptRecord, ScheduleRecord, TaskRecord } from "../storage/records.js";
import type { StorageEvent } from "../storage/storage-adapter.js";

/** A registered queue of the in-memory storage. */
export interface MemoryQueueRow {
  deadLetterQueueName: string | null;
}

/**
 * Every row the in-memory storage holds. Rows are never mutated in place: a write replaces the
 * row (or the attempt list) with a new object, so {@link clone} only has to copy the maps, and a
 * transaction can work on a copy that shares untouched rows with the committed state.
 */
export class MemoryState {
  readonly queues: Map<string, MemoryQueueRow>;
  readonly tasks: Map<string, TaskRecord>;
  /** Attempts by task id, ordered by attempt number. */
  readonly attempts: Map<string, ReadonlyArray<AttemptRecord>>;
  readonly schedules: Map<string, ScheduleRecord>;
  /** The (queue, fire time) pairs already fired, as {@link fireKey} strings. */
  readonly firedOccurrences: Set<string>;

  constructor(source?: MemoryState) {
    this.queues = new Map(source?.queues);
    this.tasks = new Map(source?.tasks);
    this.attempts = new Map(source?.attempts);
    this.schedules = new Map(source?.schedules);
    this.firedOccurrences = new Set(source?.firedOccurrences);
  }

  /** A copy that can be written without touching this state. */
  clone(): MemoryState {
    return new MemoryState(this);
  }
}

/** The key recording that a schedule's occurrence was fired. */
export function fireKey(queueName: string, fireAt: Date): string {
  return `${queueName}\u0000${fireAt.getTime()}`;
}

/**
 * One write of the in-memory storage: checks first, then changes `state`, and appends the events
 * it causes to `events`. Each write captures the time of its call, so replaying it at commit gives
 * the same rows.
 */
export type MemoryOperation<Result = unknown> = (state: MemoryState, events: StorageEvent[]) => Result;
