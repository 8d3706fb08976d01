/** What an {@link AttemptTimer} calls. */
export interface AttemptTimerCallbacks {
  /** Due every heartbeat period while the attempt runs. */
  onHeartbeat(): void;
  /** Due once, when the attempt's timeout has passed. */
  onDeadline(): void;
}

/**
 * The single timer of one running attempt: it fires the heartbeats and, once, the timeout.
 *
 * One timer instead of an interval plus a timeout halves the timers a busy worker keeps, and
 * chaining `setTimeout` (rather than `setInterval`) means a stalled event loop never queues up a
 * burst of heartbeats. `stop()` is final, so an attempt that ended can never beat again.
 */
export class AttemptTimer {
  readonly #heartbeatMs: number;
  readonly #deadlineAt: number;
  readonly #callbacks: AttemptTimerCallbacks;
  #nextHeartbeatAt: number;
  #timer: ReturnType<typeof setTimeout> | undefined;
  #stopped = false;
  readonly #onTimer = () => this.#fire();

  constructor(heartbeatMs: number, timeoutMs: number, callbacks: AttemptTimerCallbacks) {
    const startedAt = Date.now();
    this.#heartbeatMs = heartbeatMs;
    this.#deadlineAt = startedAt + timeoutMs;
    this.#nextHeartbeatAt = startedAt + heartbeatMs;
    this.#callbacks = callbacks;
    this.#arm();
  }

  /** Stops for good; safe to call twice. */
  stop(): void {
    this.#stopped = true;
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timer = undefined;
  }

  #arm(): void {
    if (this.#stopped) return;
    const dueAt = Math.min(this.#nextHeartbeatAt, this.#deadlineAt);
    this.#timer = setTimeout(this.#onTimer, Math.max(0, dueAt - Date.now()));
  }

  #fire(): void {
    this.#timer = undefined;
    if (this.#stopped) return;
    const now = Date.now();
    if (now >= this.#deadlineAt) {
      this.stop();
      this.#callbacks.onDeadline();
      return;
    }
    if (now >= this.#nextHeartbeatAt) {
      this.#nextHeartbeatAt = now + this.#heartbeatMs;
      this.#callbacks.onHeartbeat();
    }
    this.#arm();
  }
}
