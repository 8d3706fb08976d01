import { ConfigError, UnderwayError, ValidationError } from "@underway/core";
import { ScheduleParseError } from "@underway/scheduler";

/** The typed errors a public entry point may reject bad input with. */
export const TYPED_REJECTIONS = [ConfigError, ValidationError, ScheduleParseError] as const;

/** What a call given bad input did: accepted it (with the value) or rejected it with a typed error. */
export type Outcome<T> = { accepted: true; value: T } | { accepted: false; error: UnderwayError };

/**
 * Runs `call` and classifies the result. Anything other than success or one of
 * {@link TYPED_REJECTIONS} (a TypeError, a driver error, a raw string) is rethrown, failing the test.
 */
export async function outcomeOf<T>(call: () => T | Promise<T>): Promise<Outcome<Awaited<T>>> {
  try {
    return { accepted: true, value: await call() };
  } catch (error) {
    if (TYPED_REJECTIONS.some((errorClass) => errorClass.isInstance(error))) {
      return { accepted: false, error: error as UnderwayError };
    }
    throw new Error(`Expected acceptance or a ConfigError / ValidationError / ScheduleParseError, got: ${String(error)}`, { cause: error });
  }
}

/** Records every unhandled rejection of this test file's process, for an "it stayed empty" check. */
export function recordUnhandledRejections(): unknown[] {
  const recorded: unknown[] = [];
  process.on("unhandledRejection", (reason) => {
    recorded.push(reason);
  });
  return recorded;
}
