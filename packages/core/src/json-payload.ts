import { ValidationError, type ValidationIssue } from "./errors.js";

/** A value that survives a round trip through JSON unchanged. */
export type JsonValue = null | boolean | number | string | JsonValue[] | { [key: string]: JsonValue };

/** Deeper inputs are rejected: Postgres and JSON parsers both have recursion limits. */
export const MAX_JSON_DEPTH = 512;

/**
 * Checks that `value` can be stored as JSON and read back exactly, and returns it typed as JSON.
 *
 * Accepted: `null`, booleans, finite numbers, strings without lone surrogates or NUL
 * characters, arrays, and plain objects (properties whose value is `undefined` are dropped,
 * as JSON does). Rejected with a {@link ValidationError} naming the path: `undefined` at the top
 * level or in arrays, `BigInt`, functions, symbols, `NaN` and infinities, cycles, class
 * instances (`Date`, `Map`, ...), and nesting deeper than {@link MAX_JSON_DEPTH}.
 *
 * @example
 * ```ts
 * assertJsonPayload({ userId: 42 }, "input"); // ok
 * assertJsonPayload({ id: 1n }, "input");     // throws ValidationError: input.id is a BigInt
 * ```
 */
export function assertJsonPayload(value: unknown, label = "input"): JsonValue {
  const issues: ValidationIssue[] = [];
  visit(value, [], new Set(), issues, true);
  if (issues.length > 0) {
    const first = issues[0]!;
    const where = formatPath(label, first.path);
    throw new ValidationError(
      `${where} ${first.message}${issues.length > 1 ? ` (and ${issues.length - 1} more problem(s))` : ""}`,
      issues,
    );
  }
  return value as JsonValue;
}

// The path is one array, pushed and popped on the way down and back: a copy is made only for an
// issue. Enqueueing checks every input of a call, so the walk of a valid input allocates nothing
// but the set of the objects above it.
function visit(value: unknown, path: PropertyKey[], ancestors: Set<object>, issues: ValidationIssue[], topLevel: boolean): void {
  if (issues.length >= 10) return;
  if (path.length > MAX_JSON_DEPTH) {
    issues.push({ path: [...path], message: `is nested deeper than ${MAX_JSON_DEPTH} levels` });
    return;
  }
  switch (typeof value) {
    case "string":
      if (hasLoneSurrogateOrNul(value)) {
        issues.push({ path: [...path], message: "contains a lone UTF-16 surrogate or a NUL character, which JSON storage cannot keep" });
      }
      return;
    case "boolean":
      return;
    case "number":
      if (!Number.isFinite(value)) issues.push({ path: [...path], message: `is ${String(value)}, which JSON cannot represent` });
      return;
    case "bigint":
      issues.push({ path: [...path], message: "is a BigInt, which JSON cannot represent; convert it to a string" });
      return;
    case "undefined":
      if (topLevel) issues.push({ path: [...path], message: "is undefined, which JSON cannot represent" });
      return;
    case "function":
      issues.push({ path: [...path], message: "is a function, which JSON cannot represent" });
      return;
    case "symbol":
      issues.push({ path: [...path], message: "is a symbol, which JSON cannot represent" });
      return;
    case "object":
      break;
  }
  if (value === null) return;
  const object = value as object;
  if (ancestors.has(object)) {
    issues.push({ path: [...path], message: "is a circular reference" });
    return;
  }
  ancestors.add(object);
  try {
    if (Array.isArray(object)) {
      for (let index = 0; index < object.length; index += 1) {
        // A hole of a sparse array is skipped, as forEach does: JSON writes it as null.
        if (!(index in object)) continue;
        const item: unknown = object[index];
        if (item === undefined || typeof item === "function" || typeof item === "symbol") {
          issues.push({ path: [...path, index], message: `is ${typeof item}, which a JSON array cannot hold` });
          continue;
        }
        path.push(index);
        visit(item, path, ancestors, issues, false);
        path.pop();
      }
      return;
    }
    const prototype = Object.getPrototypeOf(object);
    if (prototype !== Object.prototype && prototype !== null) {
      const kind = (object as { constructor?: { name?: string } }).constructor?.name ?? "a class instance";
      issues.push({
        path: [...path],
        message: `is ${kind === "Date" ? "a Date; store date.toISOString() instead" : `an instance of ${kind}; only plain objects and arrays round-trip through JSON`}`,
      });
      return;
    }
    for (const key of Object.keys(object)) {
      if (hasLoneSurrogateOrNul(key)) {
        issues.push({ path: [...path, key], message: "has a key with a lone UTF-16 surrogate or a NUL character" });
        continue;
      }
      const item = (object as Record<string, unknown>)[key];
      if (item === undefined) continue;
      path.push(key);
      visit(item, path, ancestors, issues, false);
      path.pop();
    }
  } finally {
    ancestors.delete(object);
  }
}

function hasLoneSurrogateOrNul(text: string): boolean {
  for (let index = 0; index < text.length; index += 1) {
    const code = text.charCodeAt(index);
    if (code === 0) return true;
    if (code >= 0xd800 && code <= 0xdbff) {
      const next = text.charCodeAt(index + 1);
      if (!(next >= 0xdc00 && next <= 0xdfff)) return true;
      index += 1;
    } else if (code >= 0xdc00 && code <= 0xdfff) {
      return true;
    }
  }
  return false;
}

function formatPath(label: string, path: ReadonlyArray<PropertyKey>): string {
  let text = label;
  for (const key of path) {
    text += typeof key === "number" ? `[${key}]` : /^[A-Za-z_$][\w$]*$/.test(String(key)) ? `.${String(key)}` : `[${JSON.stringify(String(key))}]`;
  }
  return text;
}
