/**
 * The error classes of Underway. Every error thrown by the library is an {@link UnderwayError}
 * with a stable `code`; `isInstance` works across duplicate installs of the package because it
 * checks a global marker symbol instead of the class identity.
 */

const ERROR_MARKER = Symbol.for("underway.error");

/** Options accepted by every Underway error. */
export interface UnderwayErrorOptions {
  /** The underlying error, kept for diagnosis. */
  cause?: unknown;
}

/** Stable machine-readable error codes. */
export type UnderwayErrorCode =
  | "RETRYABLE"
  | "FATAL"
  | "TIMEOUT"
  | "CONFIG"
  | "VALIDATION"
  | "TASK_NOT_FOUND"
  | "STORAGE_UNAVAILABLE"
  | "STORAGE"
  | "TASK_CANCELLED"
  | "LEASE_LOST"
  | "SHUTDOWN"
  | "SCHEDULE_PARSE"
  | "JOB_FAILED"
  | "JOB_CANCELLED";

/**
 * Base class of every Underway error.
 *
 * @example
 * ```ts
 * try { await queue.enqueue(task, input); }
 * catch (error) { if (ValidationError.isInstance(error)) console.error(error.message); }
 * ```
 */
export class UnderwayError extends Error {
  /** The code of this error class; subclasses override it. */
  static readonly code: UnderwayErrorCode | undefined = undefined;
  readonly [ERROR_MARKER] = true;
  /** A stable machine-readable code. */
  readonly code: UnderwayErrorCode;

  constructor(code: UnderwayErrorCode, message: string, options: UnderwayErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    this.name = new.target.name;
  }

  /**
   * True when `value` is an Underway error of this class (or any Underway error when called on
   * `UnderwayError` itself), even when it was created by another copy of the package.
   */
  static isInstance<T extends UnderwayError>(this: { readonly code: UnderwayErrorCode | undefined; readonly prototype: T }, value: unknown): value is T {
    if (typeof value !== "object" || value === null) return false;
    if ((value as Record<symbol, unknown>)[ERROR_MARKER] !== true) return false;
    return this.code === undefined || (value as { code?: unknown }).code === this.code;
  }
}

/** A failure worth another attempt; the task is retried according to its retry policy. */
export class RetryableError extends UnderwayError {
  static override readonly code = "RETRYABLE" as const;
  constructor(message: string, options?: UnderwayErrorOptions) {
    super("RETRYABLE", message, options);
  }
}

/** A failure that ends the task at once: no retry, the task is failed (and dead-lettered). */
export class FatalError extends UnderwayError {
  static override readonly code = "FATAL" as const;
  constructor(message: string, options?: UnderwayErrorOptions) {
    super("FATAL", message, options);
  }
}

/** An attempt ran past its timeout. Its signal fires with this error; the attempt is retried. */
export class TimeoutError extends UnderwayError {
  static override readonly code = "TIMEOUT" as const;
  /** The timeout that was exceeded, in milliseconds. */
  readonly timeoutMs: number;
  constructor(timeoutMs: number, options?: UnderwayErrorOptions) {
    super("TIMEOUT", `Task timed out after ${timeoutMs} ms`, options);
    this.timeoutMs = timeoutMs;
  }
}

/** Invalid configuration; thrown once, at construction, with a message that says what to do. */
export class ConfigError extends UnderwayError {
  static override readonly code = "CONFIG" as const;
  constructor(message: string, options?: UnderwayErrorOptions) {
    super("CONFIG", message, options);
  }
}

/** One problem found while validating an input. */
export interface ValidationIssue {
  /** Where in the input the problem is, as property keys and array indexes. */
  path: ReadonlyArray<PropertyKey>;
  /** What is wrong there, as the schema (or the JSON check) said it. */
  message: string;
}

/** An input that failed its schema or cannot be stored as JSON. Nothing was written. */
export class ValidationError extends UnderwayError {
  static override readonly code = "VALIDATION" as const;
  /** Every problem found. */
  readonly issues: ReadonlyArray<ValidationIssue>;
  constructor(message: string, issues: ReadonlyArray<ValidationIssue> = [], options?: UnderwayErrorOptions) {
    super("VALIDATION", message, options);
    this.issues = issues;
  }
}

/**
 * The task does not exist, or the attempt making the call is no longer the live attempt
 * (it was fenced: its lease expired and another worker reclaimed the task). Nothing changed.
 */
export class TaskNotFoundError extends UnderwayError {
  static override readonly code = "TASK_NOT_FOUND" as const;
  /** The task that was not found, or whose attempt was not current. */
  readonly taskId: string;
  constructor(taskId: string, message = `Task ${taskId} not found, or its attempt is no longer current`, options?: UnderwayErrorOptions) {
    super("TASK_NOT_FOUND", message, options);
    this.taskId = taskId;
  }
}

/** The storage cannot be reached (connection refused, lost, or the server is restarting). */
export class StorageUnavailableError extends UnderwayError {
  static override readonly code = "STORAGE_UNAVAILABLE" as const;
  constructor(message: string, options?: UnderwayErrorOptions) {
    super("STORAGE_UNAVAILABLE", message, options);
  }
}

/** Any other failure reported by the storage; `cause` holds the driver's error. */
export class StorageError extends UnderwayError {
  static override readonly code = "STORAGE" as const;
  constructor(message: string, options?: UnderwayErrorOptions) {
    super("STORAGE", message, options);
  }
}

/** The task was cancelled while it ran; its signal fires with this error. */
export class TaskCancelledError extends UnderwayError {
  static override readonly code = "TASK_CANCELLED" as const;
  constructor(taskId: string, options?: UnderwayErrorOptions) {
    super("TASK_CANCELLED", `Task ${taskId} was cancelled`, options);
  }
}

/** The attempt lost its lease (another worker may own the task now); it can no longer commit. */
export class LeaseLostError extends UnderwayError {
  static override readonly code = "LEASE_LOST" as const;
  constructor(taskId: string, options?: UnderwayErrorOptions) {
    super("LEASE_LOST", `Task ${taskId} lost its lease; this attempt can no longer commit`, options);
  }
}

/** The worker is shutting down and aborted the attempt after its grace period. */
export class ShutdownError extends UnderwayError {
  static override readonly code = "SHUTDOWN" as const;
  constructor(message = "The worker shut down before the task finished", options?: UnderwayErrorOptions) {
    super("SHUTDOWN", message, options);
  }
}

/** The message of any thrown value, for attempt records and logs. */
export function errorMessage(error: unknown): string {
  if (error instanceof Error) return error.message || error.name;
  if (typeof error === "string") return error;
  try {
    const json = JSON.stringify(error);
    if (json !== undefined) return json;
  } catch {
    // fall through to String()
  }
  return String(error);
}

/**
 * Marks a failure as retryable: the task is tried again according to its retry policy.
 *
 * @example
 * ```ts
 * const response = await fetch(url).catch((e) => { throw retryable(e); });
 * ```
 */
export function retryable(error: unknown): RetryableError {
  if (RetryableError.isInstance(error)) return error;
  return new RetryableError(errorMessage(error), { cause: error });
}

/**
 * Marks a failure as fatal: the task fails at once, without further attempts.
 *
 * @example
 * ```ts
 * if (!user) throw fatal(new Error(`user ${id} does not exist`));
 * ```
 */
export function fatal(error: unknown): FatalError {
  if (FatalError.isInstance(error)) return error;
  return new FatalError(errorMessage(error), { cause: error });
}
