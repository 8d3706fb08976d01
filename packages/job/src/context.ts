/**
 * What a step sees while it runs.
 *
 * @typeParam State - the job's shared state, from `.state(...)`.
 * @typeParam Tx - the storage's transaction type (`PgQueryable` with `@underway/queue-pg`).
 */
export interface Context<State, Tx> {
  /** The state given to the builder's `.state(...)`; shared by every run in this process. */
  readonly state: State;
  /**
   * The worker's transaction. Writes through it commit together with this step's success and the
   * enqueue of the next step, or not at all.
   */
  readonly tx: Tx;
  /** Fires when the step must stop: timeout, cancel of the job run, lost lease, or shutdown. */
  readonly signal: AbortSignal;
  /** This step's position, from 0. */
  readonly stepIndex: number;
  /** How many steps the job has. */
  readonly stepCount: number;
  /** The job run's id. */
  readonly jobId: string;
  /** The id of this step's task. */
  readonly taskId: string;
  /** This step's attempt number, from 1. */
  readonly attempt: number;
  /** The job's queue. */
  readonly queueName: string;
}
