import { ConfigError } from "@underway/core";

/**
 * Checks that an options argument is an object (absent options take their default before this);
 * `null`, arrays and other values are a {@link ConfigError} naming the call, as `Queue` does.
 */
export function assertOptionsObject(options: unknown, call: string): void {
  if (typeof options !== "object" || options === null || Array.isArray(options)) {
    throw new ConfigError(`${call} expects an options object or none, got ${describeArgument(options)}`);
  }
}

/** A short description of a bad argument, for error messages. */
export function describeArgument(value: unknown): string {
  if (typeof value === "string") return JSON.stringify(value);
  if (Array.isArray(value)) return "an array";
  if (typeof value === "object" && value !== null) return "an object";
  if (typeof value === "function") return "a function";
  return String(value);
}
