import { isAbortSignal } from "./abort-signal.js";
import { describeArgument } from "./argument-checks.js";
import { ConfigError } from "./errors.js";

/** A map from event name to the payload type of that event. */
export type EventMap = { [event: string]: unknown };

type Listener = (payload: never) => void;

/**
 * An event emitter whose event names and payloads are checked by the compiler. A listener that
 * throws is isolated: the error is reported to `error` listeners (or dropped when there are none),
 * never to the code that emitted.
 *
 * Listeners are called in the order they were added; one added twice is called twice. An emit
 * calls the listeners there were when it began, whatever they add or remove meanwhile. The list
 * of an event is replaced on every change rather than changed in place, so an emit (a worker
 * emits several per task) reads it without copying it.
 *
 * @example
 * ```ts
 * worker.on("task:succeeded", ({ taskId }) => console.log(taskId));
 * const event = await worker.once("task:failed");
 * ```
 */
export class TypedEventEmitter<Events extends EventMap> {
  readonly #listeners = new Map<string, ReadonlyArray<Listener>>();

  /**
   * Calls `listener` on every `event`; returns a function that removes it.
   *
   * @throws {@link ConfigError} when `listener` is not a function; nothing is added.
   */
  on<E extends keyof Events & string>(event: E, listener: (payload: Events[E]) => void): () => void {
    if (typeof listener !== "function") {
      throw new ConfigError(`on(${JSON.stringify(event)}, listener) expects a listener function, got ${describeArgument(listener)}`);
    }
    this.#listeners.set(event, [...(this.#listeners.get(event) ?? []), listener as Listener]);
    return () => this.off(event, listener);
  }

  /** Removes a listener added with {@link on} (its latest addition, when it was added twice). */
  off<E extends keyof Events & string>(event: E, listener: (payload: Events[E]) => void): void {
    const current = this.#listeners.get(event);
    if (current === undefined) return;
    const index = current.lastIndexOf(listener as Listener);
    if (index === -1) return;
    if (current.length === 1) {
      this.#listeners.delete(event);
      return;
    }
    this.#listeners.set(event, [...current.slice(0, index), ...current.slice(index + 1)]);
  }

  /**
   * Resolves with the next `event` whose payload passes `filter`; rejects when `signal` aborts,
   * or with the filter's error when `filter` throws.
   *
   * @throws {@link ConfigError} (as a rejection) when `filter` is given but is not a function, or
   * `signal` is given but is not an AbortSignal; no listener is added.
   */
  once<E extends keyof Events & string>(
    event: E,
    filter: (payload: Events[E]) => boolean = () => true,
    signal?: AbortSignal,
  ): Promise<Events[E]> {
    if (typeof filter !== "function") {
      return Promise.reject(new ConfigError(`once(${JSON.stringify(event)}, filter) expects a filter function or nothing, got ${describeArgument(filter)}`));
    }
    if (signal !== undefined && !isAbortSignal(signal)) {
      return Promise.reject(new ConfigError(`once(${JSON.stringify(event)}, filter, signal) expects an AbortSignal or nothing, got ${describeArgument(signal)}`));
    }
    return new Promise((resolve, reject) => {
      if (signal?.aborted) {
        reject(signal.reason);
        return;
      }
      const onAbort = () => {
        this.off(event, listener);
        reject(signal!.reason);
      };
      const listener = (payload: Events[E]) => {
        let passes: boolean;
        try {
          passes = filter(payload);
        } catch (error) {
          // A filter that throws ends the wait with its error, rather than leaving it pending.
          this.off(event, listener);
          signal?.removeEventListener("abort", onAbort);
          reject(error);
          return;
        }
        if (!passes) return;
        this.off(event, listener);
        signal?.removeEventListener("abort", onAbort);
        resolve(payload);
      };
      this.on(event, listener);
      signal?.addEventListener("abort", onAbort, { once: true });
    });
  }

  /** The number of listeners of `event`. */
  listenerCount<E extends keyof Events & string>(event: E): number {
    return this.#listeners.get(event)?.length ?? 0;
  }

  /** Emits `event` to its listeners. Returns whether there were any. */
  protected emit<E extends keyof Events & string>(event: E, payload: Events[E]): boolean {
    return this.#deliver(event, payload);
  }

  /**
   * Calls the listeners of `event`. One that throws is reported to the `error` listeners in a
   * microtask; one of those that throws has nowhere left to report to.
   */
  #deliver(event: string, payload: unknown): boolean {
    const listeners = this.#listeners.get(event);
    if (listeners === undefined) return false;
    for (let index = 0; index < listeners.length; index += 1) {
      try {
        listeners[index]!(payload as never);
      } catch (error) {
        if (event !== "error") queueMicrotask(() => this.#deliver("error", error));
      }
    }
    return true;
  }
}
