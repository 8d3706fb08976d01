import { EventEmitter } from "node:events";

/** A map from event name to the payload type of that event. */
export type EventMap = { [event: string]: unknown };

/**
 * An event emitter whose event names and payloads are checked by the compiler. A listener that
 * throws is isolated: the error is reported to `error` listeners (or dropped when there are none),
 * never to the code that emitted.
 *
 * @example
 * ```ts
 * worker.on("task:succeeded", ({ taskId }) => console.log(taskId));
 * const event = await worker.once("task:failed");
 * ```
 */
export class TypedEventEmitter<Events extends EventMap> {
  readonly #emitter = new EventEmitter({ captureRejections: false });

  constructor() {
    this.#emitter.setMaxListeners(0);
  }

  /** Calls `listener` on every `event`; returns a function that removes it. */
  on<E extends keyof Events & string>(event: E, listener: (payload: Events[E]) => void): () => void {
    this.#emitter.on(event, listener);
    return () => this.off(event, listener);
  }

  /** Removes a listener added with {@link on}. */
  off<E extends keyof Events & string>(event: E, listener: (payload: Events[E]) => void): void {
    this.#emitter.off(event, listener);
  }

  /**
   * Resolves with the next `event` whose payload passes `filter`; rejects when `signal` aborts.
   */
  once<E extends keyof Events & string>(
    event: E,
    filter: (payload: Events[E]) => boolean = () => true,
    signal?: AbortSignal,
  ): Promise<Events[E]> {
    return new Promise((resolve, reject) => {
      if (signal?.aborted) {
        reject(signal.reason);
        return;
      }
      const onAbort = () => {
        this.#emitter.off(event, listener);
        reject(signal!.reason);
      };
      const listener = (payload: Events[E]) => {
        if (!filter(payload)) return;
        this.#emitter.off(event, listener);
        signal?.removeEventListener("abort", onAbort);
        resolve(payload);
      };
      this.#emitter.on(event, listener);
      signal?.addEventListener("abort", onAbort, { once: true });
    });
  }

  /** The number of listeners of `event`. */
  listenerCount<E extends keyof Events & string>(event: E): number {
    return this.#emitter.listenerCount(event);
  }

  /** Emits `event` to its listeners. Returns whether there were any. */
  protected emit<E extends keyof Events & string>(event: E, payload: Events[E]): boolean {
    if (this.#emitter.listenerCount(event) === 0) return false;
    const listeners = this.#emitter.listeners(event) as Array<(payload: Events[E]) => void>;
    for (const listener of listeners) {
      try {
        listener(payload);
      } catch (error) {
        queueMicrotask(() => {
          if (event !== "error" && this.#emitter.listenerCount("error") > 0) this.#emitter.emit("error", error);
        });
      }
    }
    return listeners.length > 0;
  }
}
