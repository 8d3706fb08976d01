import type { FollowUpOptions, FollowUpTask, Queue, Task, TaskContext } from "@underway/core";

/**
 * What a task sees during one attempt (`cx`). Follow-ups it enqueues are only collected here;
 * the worker writes them together with the attempt's success.
 */
export class AttemptContext<Tx> implements TaskContext<Tx> {
  readonly tx: Tx;
  readonly taskId: string;
  readonly attempt: number;
  readonly queueName: string;
  readonly correlationId: string | null;
  readonly #signal: () => AbortSignal;
  #followUps: Array<Promise<FollowUpTask>> | null = null;

  /** `signal` gives the attempt's abort signal, made when the task first asks for it. */
  constructor(fields: Omit<TaskContext<Tx>, "enqueueOnSuccess" | "signal"> & { signal: () => AbortSignal }) {
    this.tx = fields.tx;
    this.#signal = fields.signal;
    this.taskId = fields.taskId;
    this.attempt = fields.attempt;
    this.queueName = fields.queueName;
    this.correlationId = fields.correlationId;
  }

  get signal(): AbortSignal {
    return this.#signal();
  }

  async enqueueOnSuccess<FollowUpInput>(
    queue: Queue<FollowUpInput, Tx>,
    task: Task<FollowUpInput, unknown, Tx>,
    input: FollowUpInput,
    options: FollowUpOptions = {},
  ): Promise<string> {
    const correlationId = options.correlationId === undefined ? this.correlationId : options.correlationId;
    const prepared = queue.prepare(task, input, { delayMs: options.delayMs, correlationId }).then((newTask) => ({ queueName: queue.name, task: newTask }));
    (this.#followUps ??= []).push(prepared);
    return (await prepared).task.id;
  }

  /**
   * @internal The follow-ups enqueued so far, once each is prepared. Rejects when one of them
   * failed validation, which fails the attempt: a success must not silently drop a follow-up.
   */
  async collectFollowUps(): Promise<FollowUpTask[]> {
    if (this.#followUps === null) return [];
    return Promise.all(this.#followUps);
  }
}
