import { ValidationError } from "@underway/core";

/**
 * `value` as JSON text, for a `jsonb` parameter.
 *
 * @throws ValidationError when the text cannot be made: longer than the longest string Node can
 * hold (about 512 MB), far beyond what Postgres keeps in one `jsonb` value (255 MB).
 */
export function jsonText(value: unknown, label: string): string {
  try {
    return JSON.stringify(value);
  } catch (error) {
    if (!(error instanceof RangeError)) throw error;
    throw new ValidationError(`${label} is too large to send to Postgres as JSON (${error.message})`, [], { cause: error });
  }
}
