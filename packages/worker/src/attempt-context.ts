import {
  ConfigError,
  describeArgument,
  isClaimedOnWrite,
  optionsObject,
  Queue,
  type ClaimedTask,
  type FollowUpOptions,
  type FollowUpTask,
  type OptionNames,
  type Task,
  type TaskContext,
} from "@underway/core";

const FOLLOW_UP_OPTION_NAMES: OptionNames<FollowUpOptions> = { delayMs: true, correlationId: true };

/** The queue and task of the worker running an attempt: a follow-up of both can run on it next. */
export interface ContinuationTarget {
  queueName: string;
  /** The worker's task object; follow-ups are matched to it by identity. */
  task: object;
}

/**
 * What a task sees during one attempt (`cx`). Follow-ups it enqueues are only collected here;
 * the worker writes them together with the attempt's success.
 */
export class AttemptContext<Tx> implements TaskContext<Tx> {
  readonly taskId: string;
  readonly attempt: number;
  readonly queueName: string;
  readonly correlationId: string | null;
  readonly #running: { readonly signal: AbortSignal; readonly tx: Tx };
  #followUps: Array<Promise<FollowUpTask>> | null = null;
  readonly #continuation: ContinuationTarget | null;
  /** Indexes of the follow-ups for `#continuation`'s queue and task. */
  #continuable: number[] | null = null;

  /**
   * `attempt` is the claimed attempt the context describes; `running` gives its abort signal and
   * its transaction, each made when the task first asks for it. `continuation`, when given, is
   * the worker running the attempt: follow-ups of its queue and task are noted, so that the first
   * one may be written claimed (see `collectFollowUps`).
   */
  constructor(
    attempt: Pick<ClaimedTask, "id" | "attempt" | "queueName" | "correlationId">,
    running: { readonly signal: AbortSignal; readonly tx: Tx },
    continuation: ContinuationTarget | null = null,
  ) {
    this.taskId = attempt.id;
    this.attempt = attempt.attempt;
    this.queueName = attempt.queueName;
    this.correlationId = attempt.correlationId;
    this.#running = running;
    this.#continuation = continuation;
  }

  get tx(): Tx {
    return this.#running.tx;
  }

  get signal(): AbortSignal {
    return this.#running.signal;
  }

  async enqueueOnSuccess<FollowUpInput>(
    queue: Queue<FollowUpInput, Tx>,
    task: Task<FollowUpInput, unknown, Tx>,
    input: FollowUpInput,
    options: FollowUpOptions = {},
  ): Promise<string> {
    // Bad arguments fail the attempt like a follow-up that fails validation, even unawaited.
    const prepared = this.#prepare(queue, task, input, options);
    (this.#followUps ??= []).push(prepared);
    if (this.#continuation !== null && queue instanceof Queue && queue.name === this.#continuation.queueName && task === this.#continuation.task) {
      (this.#continuable ??= []).push(this.#followUps.length - 1);
    }
    return (await prepared).task.id;
  }

  async #prepare<FollowUpInput>(
    queue: Queue<FollowUpInput, Tx>,
    task: Task<FollowUpInput, unknown, Tx>,
    input: FollowUpInput,
    options: FollowUpOptions,
  ): Promise<FollowUpTask> {
    if (!(queue instanceof Queue)) throw new ConfigError(`enqueueOnSuccess() expects a Queue built with Queue.builder(), got ${describeArgument(queue)}`);
    const { delayMs, correlationId = this.correlationId } = optionsObject(options, "enqueueOnSuccess()", FOLLOW_UP_OPTION_NAMES);
    return { queueName: queue.name, task: await queue.prepare(task, input, { delayMs, correlationId }) };
  }

  /** @internal Whether the task enqueued any follow-up (else there is nothing to collect). */
  get hasFollowUps(): boolean {
    return this.#followUps !== null;
  }

  /**
   * @internal The follow-ups enqueued so far, once each is prepared. Rejects when one of them
   * failed validation, which fails the attempt: a success must not silently drop a follow-up.
   * With `continueHere`, the first follow-up for the worker's own queue and task that is due at
   * once and unkeyed is marked to be written claimed, for the worker to run next.
   */
  async collectFollowUps(continueHere = false): Promise<FollowUpTask[]> {
    if (this.#followUps === null) return [];
    const followUps = await Promise.all(this.#followUps);
    if (!continueHere) return followUps;
    for (const index of this.#continuable ?? []) {
      const { queueName, task } = followUps[index]!;
      const candidate: FollowUpTask = { queueName, task, claim: true };
      if (isClaimedOnWrite(candidate)) {
        followUps[index] = candidate;
        break;
      }
    }
    return followUps;
  }
}
