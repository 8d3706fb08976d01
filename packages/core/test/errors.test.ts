import { describe, expect, it } from "vitest";
import {
  ConfigError,
  FatalError,
  RetryableError,
  StorageUnavailableError,
  TaskNotFoundError,
  TimeoutError,
  UnderwayError,
  ValidationError,
  errorMessage,
  fatal,
  retryable,
} from "../src/index.js";

/** Stands in for an error class from a second copy of the package: same marker symbol, same code. */
class FatalErrorFromAnotherCopy extends Error {
  readonly code = "FATAL";
  constructor(message: string) {
    super(message);
    (this as unknown as Record<symbol, unknown>)[Symbol.for("underway.error")] = true;
  }
}

describe("errors", () => {
  it("gives each class its code and name, and keeps the cause", () => {
    const cause = new Error("socket closed");
    const error = new StorageUnavailableError("database is down", { cause });
    expect(error).toBeInstanceOf(UnderwayError);
    expect(error).toBeInstanceOf(Error);
    expect(error.code).toBe("STORAGE_UNAVAILABLE");
    expect(error.name).toBe("StorageUnavailableError");
    expect(error.cause).toBe(cause);
    expect(new TimeoutError(1_500).message).toContain("1500 ms");
    expect(new TaskNotFoundError("abc").taskId).toBe("abc");
  });

  it("recognises errors across copies of the package with isInstance", () => {
    const foreign = new FatalErrorFromAnotherCopy("from elsewhere");
    expect(foreign instanceof FatalError).toBe(false);
    expect(FatalError.isInstance(foreign)).toBe(true);
    expect(UnderwayError.isInstance(foreign)).toBe(true);
    expect(RetryableError.isInstance(foreign)).toBe(false);
    expect(ConfigError.isInstance(foreign)).toBe(false);
  });

  it("does not mistake other values for Underway errors", () => {
    expect(UnderwayError.isInstance(new Error("plain"))).toBe(false);
    expect(UnderwayError.isInstance({ code: "FATAL" })).toBe(false);
    expect(UnderwayError.isInstance(null)).toBe(false);
    expect(UnderwayError.isInstance("FATAL")).toBe(false);
    expect(ValidationError.isInstance(new ConfigError("x"))).toBe(false);
  });

  it("wraps any thrown value as retryable or fatal, keeping it as the cause", () => {
    const original = new TypeError("bad response");
    const wrappedRetryable = retryable(original);
    expect(wrappedRetryable).toBeInstanceOf(RetryableError);
    expect(wrappedRetryable.message).toBe("bad response");
    expect(wrappedRetryable.cause).toBe(original);

    const wrappedFatal = fatal("no such user");
    expect(wrappedFatal).toBeInstanceOf(FatalError);
    expect(wrappedFatal.message).toBe("no such user");
    expect(wrappedFatal.cause).toBe("no such user");
  });

  it("returns an error that is already of the wanted kind unchanged", () => {
    const alreadyFatal = new FatalError("stop");
    expect(fatal(alreadyFatal)).toBe(alreadyFatal);
    const alreadyRetryable = new RetryableError("again");
    expect(retryable(alreadyRetryable)).toBe(alreadyRetryable);
    expect(fatal(alreadyRetryable)).toBeInstanceOf(FatalError);
    expect(fatal(alreadyRetryable).cause).toBe(alreadyRetryable);
  });

  it("describes any thrown value", () => {
    expect(errorMessage(new Error("boom"))).toBe("boom");
    expect(errorMessage("text")).toBe("text");
    expect(errorMessage({ status: 500 })).toBe('{"status":500}');
    expect(errorMessage(undefined)).toBe("undefined");
    const cyclic: Record<string, unknown> = {};
    cyclic.self = cyclic;
    expect(errorMessage(cyclic)).toBe("[object Object]");
  });
});
