import { ConfigError } from "./errors.js";

/** A short description of a bad argument, for the message of the `ConfigError` that refuses it. */
export function describeArgument(value: unknown): string {
  if (value === null) return "null";
  if (typeof value === "string") return JSON.stringify(value);
  if (Array.isArray(value)) return "an array";
  if (value instanceof Date) return Number.isNaN(value.getTime()) ? "an Invalid Date" : `the Date ${value.toISOString()}`;
  if (typeof value === "object") return "an object";
  if (typeof value === "function") return "a function";
  return `${typeof value} ${String(value)}`;
}

/**
 * An options argument, checked: `undefined` gives `{}`; anything but a plain object or a class
 * instance (`null`, an array, a string, a number, ...) is refused.
 *
 * @param call - the call the options belong to, as the message names it, e.g. `"enqueue()"`.
 * @throws {@link ConfigError} naming the call and what it got.
 */
export function optionsObject<T extends object>(options: T | undefined, call: string): T {
  if (options === undefined) return {} as T;
  if (typeof options !== "object" || options === null || Array.isArray(options)) {
    throw new ConfigError(`${call} expects an options object (or none), got ${describeArgument(options)}`);
  }
  return options;
}
