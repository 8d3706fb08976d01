/**
 * Whether `value` is an AbortSignal, or an object that behaves as one (a boolean `aborted` and the
 * listener methods), so calls that take a signal can refuse anything else with a `ConfigError`
 * before they change any state.
 */
export function isAbortSignal(value: unknown): value is AbortSignal {
  if (value instanceof AbortSignal) return true;
  if (typeof value !== "object" || value === null) return false;
  const candidate = value as Partial<AbortSignal>;
  return typeof candidate.aborted === "boolean" && typeof candidate.addEventListener === "function" && typeof candidate.removeEventListener === "function";
}
