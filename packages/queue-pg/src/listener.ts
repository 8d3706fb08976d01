import type { Logger, StorageEvent, StorageEventListener, StorageSubscription } from "@underway/core";
import type { DatabaseDriver, ListenConnection, RawNotification } from "./drivers/database-driver.js";
import type { NotificationChannels } from "./notification-channels.js";

/** Backoff of reconnect attempts after the listening connection dropped. */
export interface ReconnectBackoff {
  initialDelayMs: number;
  maxDelayMs: number;
}

const DEFAULT_BACKOFF: ReconnectBackoff = { initialDelayMs: 100, maxDelayMs: 5_000 };

/**
 * One LISTEN connection on the channels of one schema, shared by all its subscribers: those of
 * every PgStorage built on the same pool (or PGlite instance) and schema, which all get this
 * listener from `sharedNotificationListener`. It opens on the first subscription and closes after
 * the last one leaves (the next subscription then gets a fresh listener, though this one could
 * open again). When it drops it tells subscribers (`listener:disconnected`), reconnects with
 * backoff, and says so (`listener:reconnected`) so they re-check for work they may have missed.
 * Malformed payloads are logged and ignored.
 *
 * It connects through a driver of its own, which no storage closes: closing a storage closes the
 * subscriptions made through it, and the connection closes when the last subscription does.
 */
export class NotificationListener {
  #driver: DatabaseDriver;
  #channels: NotificationChannels;
  #logger: Logger;
  #backoff: ReconnectBackoff;
  #subscribers = new Set<StorageEventListener>();
  #connection: ListenConnection | undefined;
  #starting: Promise<void> | undefined;
  #generation = 0;
  #reconnectTimer: NodeJS.Timeout | undefined;
  #wakeReconnect: (() => void) | undefined;

  constructor(driver: DatabaseDriver, channels: NotificationChannels, logger: Logger, backoff: ReconnectBackoff = DEFAULT_BACKOFF) {
    this.#driver = driver;
    this.#channels = channels;
    this.#logger = logger;
    this.#backoff = backoff;
  }

  /** Whether it has no subscribers: its connection is closed or closing, and nobody hears it. */
  get idle(): boolean {
    return this.#subscribers.size === 0;
  }

  /**
   * Adds a subscriber; the first one opens the connection (and fails if it cannot). Each call is
   * a subscription of its own, even for a function already subscribed (through another storage,
   * say): closing one never removes another.
   */
  async subscribe(listener: StorageEventListener): Promise<StorageSubscription> {
    const subscriber: StorageEventListener = (event) => listener(event);
    this.#subscribers.add(subscriber);
    try {
      if (!this.#connection) {
        this.#starting ??= this.#start().finally(() => {
          this.#starting = undefined;
        });
        await this.#starting;
      }
    } catch (error) {
      this.#subscribers.delete(subscriber);
      throw error;
    }
    let closed = false;
    return {
      close: async () => {
        if (closed) return;
        closed = true;
        this.#subscribers.delete(subscriber);
        if (this.#subscribers.size === 0) await this.#stop();
      },
    };
  }

  /** Closes the connection and stops reconnecting (once the last subscriber left). */
  async #stop(): Promise<void> {
    this.#generation += 1;
    clearTimeout(this.#reconnectTimer);
    this.#wakeReconnect?.();
    const connection = this.#connection;
    this.#connection = undefined;
    await connection?.close();
  }

  async #start(): Promise<void> {
    const generation = ++this.#generation;
    const connection = await this.#driver.listen(this.#listenedChannels(), (notification) => this.#dispatchRaw(notification));
    if (generation !== this.#generation) {
      await connection.close();
      return;
    }
    this.#watch(connection, generation);
  }

  #watch(connection: ListenConnection, generation: number): void {
    this.#connection = connection;
    void connection.lost.then((error) => {
      if (generation !== this.#generation) return;
      this.#connection = undefined;
      void connection.close();
      this.#logger.warn({ error }, "The LISTEN connection dropped; reconnecting");
      this.#emit({ type: "listener:disconnected", error });
      void this.#reconnect(generation);
    });
  }

  async #reconnect(generation: number): Promise<void> {
    let delayMs = this.#backoff.initialDelayMs;
    while (generation === this.#generation) {
      await new Promise<void>((resolve) => {
        this.#wakeReconnect = resolve;
        this.#reconnectTimer = setTimeout(resolve, delayMs);
      });
      if (generation !== this.#generation) return;
      try {
        const connection = await this.#driver.listen(this.#listenedChannels(), (notification) => this.#dispatchRaw(notification));
        if (generation !== this.#generation) {
          await connection.close();
          return;
        }
        this.#watch(connection, generation);
        this.#logger.info({}, "The LISTEN connection is back");
        this.#emit({ type: "listener:reconnected" });
        return;
      } catch (error) {
        this.#logger.warn({ error, retryInMs: delayMs }, "Reconnecting the LISTEN connection failed");
        delayMs = Math.min(delayMs * 2, this.#backoff.maxDelayMs);
      }
    }
  }

  #listenedChannels(): string[] {
    const channels = this.#channels;
    return [channels.taskAvailable, channels.taskFinished, channels.taskCancelRequested, channels.shutdown];
  }

  #dispatchRaw(notification: RawNotification): void {
    const event = this.#parse(notification);
    if (event) this.#emit(event);
  }

  #parse({ channel, payload }: RawNotification): StorageEvent | undefined {
    const channels = this.#channels;
    if (channel === channels.taskAvailable || channel === channels.taskFinished) {
      if (payload.length === 0) return this.#malformed(channel, payload);
      return { type: channel === channels.taskAvailable ? "task:available" : "task:finished", queueName: payload };
    }
    if (channel === channels.taskCancelRequested) {
      const parsed = parseJsonObject(payload);
      if (!parsed || typeof parsed.queueName !== "string" || typeof parsed.taskId !== "string") return this.#malformed(channel, payload);
      return { type: "task:cancel-requested", queueName: parsed.queueName, taskId: parsed.taskId };
    }
    if (channel === channels.shutdown) {
      const parsed = parseJsonObject(payload);
      if (!parsed || (parsed.queueName !== null && typeof parsed.queueName !== "string")) return this.#malformed(channel, payload);
      return { type: "shutdown", queueName: parsed.queueName };
    }
    return undefined;
  }

  #malformed(channel: string, payload: string): undefined {
    this.#logger.warn({ channel, payload: payload.slice(0, 200) }, "Ignored a malformed notification");
    return undefined;
  }

  #emit(event: StorageEvent): void {
    for (const subscriber of [...this.#subscribers]) {
      try {
        subscriber(event);
      } catch (error) {
        this.#logger.error({ error, event: event.type }, "A storage event subscriber threw; the error was dropped");
      }
    }
  }
}

function parseJsonObject(payload: string): Record<string, unknown> | undefined {
  try {
    const value: unknown = JSON.parse(payload);
    return typeof value === "object" && value !== null && !Array.isArray(value) ? (value as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}
