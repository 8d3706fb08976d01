import { ConfigError } from "./errors.js";

/** A short description of a bad argument, for the message of the `ConfigError` that refuses it. */
export function describeArgument(value: unknown): string {
  if (value === null || value === undefined) return String(value);
  if (typeof value === "string") return JSON.stringify(value);
  if (Array.isArray(value)) return "an array";
  if (value instanceof Date) return Number.isNaN(value.getTime()) ? "an Invalid Date" : `the Date ${value.toISOString()}`;
  if (typeof value === "object") return "an object";
  if (typeof value === "function") return "a function";
  return `${typeof value} ${String(value)}`;
}

/**
 * The names of every option of an options type, as an object with one `true` per name. Written
 * as a record rather than a list so the compiler checks it against the type: a name missing or
 * left over is a compile error.
 */
export type OptionNames<T> = { readonly [K in keyof Required<T>]: true };

/**
 * An options argument, checked: `undefined` gives `{}`; anything but a plain object or a class
 * instance (`null`, an array, a string, a number, ...) is refused, and so, when `names` is given,
 * is an option of another name (a misspelt `delayMS` would otherwise be silently ignored).
 *
 * @param call - the call the options belong to, as the message names it, e.g. `"enqueue()"`.
 * @param names - the call's options, from {@link OptionNames}.
 * @throws {@link ConfigError} naming the call and what it got.
 */
export function optionsObject<T extends object>(options: T | undefined, call: string, names?: OptionNames<NoInfer<T>>): T {
  if (options === undefined) return {} as T;
  if (typeof options !== "object" || options === null || Array.isArray(options)) {
    throw new ConfigError(`${call} expects an options object (or none), got ${describeArgument(options)}`);
  }
  if (names !== undefined) {
    for (const name in options) {
      if (!Object.hasOwn(names, name)) {
        throw new ConfigError(`${call} has no option ${JSON.stringify(name)}; its options are ${Object.keys(names).join(", ")}`);
      }
    }
  }
  return options;
}

/** The largest row count a storage call takes (`limit`s): the 32-bit signed maximum. */
export const MAX_LIMIT = 2_147_483_647;

/**
 * A row count (`limit`), checked: a whole number from 1 to {@link MAX_LIMIT}.
 *
 * @param name - the argument as the message names it, e.g. `"taskClaim limit"`.
 * @throws {@link ConfigError} naming it and what it got.
 */
export function validateLimit(value: unknown, name: string): number {
  if (typeof value !== "number" || !Number.isInteger(value) || value < 1 || value > MAX_LIMIT) {
    throw new ConfigError(`${name} must be a whole number from 1 to ${MAX_LIMIT}, got ${describeArgument(value)}`);
  }
  return value;
}

/**
 * The `tx` option as the storage takes it. `null` is refused rather than read as "no
 * transaction": storages disagreed about it, and a caller who passes a variable that is null by
 * mistake would write outside the transaction they meant.
 *
 * @throws ConfigError when `tx` is null.
 */
export function txOption<Tx>(tx: Tx | undefined, call: string): { tx?: Tx } {
  if (tx === null) throw new ConfigError(`${call}: tx expects a transaction handle; leave it out for none`);
  return tx === undefined ? {} : { tx };
}
