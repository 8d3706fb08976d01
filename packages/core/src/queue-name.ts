import { ConfigError } from "./errors.js";

/** The longest queue name accepted, in characters. */
export const MAX_QUEUE_NAME_LENGTH = 128;

// Whitespace, control and format characters (and lone surrogates) are refused; everything else,
// any script's letters and digits and ASCII punctuation included, is data to the storage.
const FORBIDDEN = /[\s\p{Cc}\p{Cf}\p{Cs}\p{Co}\p{Cn}]/u;

/**
 * Checks a queue name: 1 to 128 characters, none of them whitespace, control, format, private-use
 * or unassigned characters. Letters and digits of any script and punctuation are allowed; names
 * are only ever stored as data, never spliced into SQL.
 *
 * @throws {@link ConfigError} with the reason.
 * @example
 * ```ts
 * validateQueueName("emails.welcome"); // ok
 * validateQueueName("has space");      // throws ConfigError
 * ```
 */
export function validateQueueName(name: unknown, label = "queue name"): string {
  if (typeof name !== "string") throw new ConfigError(`The ${label} must be a string, got ${typeof name}`);
  if (name.length === 0) throw new ConfigError(`The ${label} must not be empty`);
  const length = [...name].length;
  if (length > MAX_QUEUE_NAME_LENGTH) {
    throw new ConfigError(`The ${label} must be at most ${MAX_QUEUE_NAME_LENGTH} characters, got ${length}`);
  }
  const match = FORBIDDEN.exec(name);
  if (match) {
    const codePoint = match[0].codePointAt(0)!.toString(16).toUpperCase().padStart(4, "0");
    throw new ConfigError(
      `The ${label} ${JSON.stringify(name)} contains U+${codePoint}; whitespace, control and invisible characters are not allowed`,
    );
  }
  return name;
}
