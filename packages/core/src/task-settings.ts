import type { StandardSchemaV1 } from "@standard-schema/spec";
import { describeArgument } from "./argument-checks.js";
import { ConfigError, ValidationError } from "./errors.js";
import { MAX_TIMER_MS, validateDurationMs, validateOptionalKey, validatePriority } from "./durations.js";
import { assertRetryPolicyObject, RetryPolicy, type RetryPolicyOptions } from "./retry-policy.js";
import type { Configurable, Task } from "./task.js";

/** The defaults of every task setting (the crate's). */
export const TASK_DEFAULTS = Object.freeze({
  timeoutMs: 15 * 60 * 1000,
  ttlMs: 14 * 24 * 60 * 60 * 1000,
  delayMs: 0,
  heartbeatMs: 30 * 1000,
  priority: 0,
});

/**
 * How many heartbeat periods a lease lasts: a claim and every heartbeat set the lease to expire
 * this many heartbeats later, so one late heartbeat does not lose the task. Storages compute
 * leases with it; workers use it to tell when a lease they could not renew can have expired.
 */
export const LEASE_HEARTBEATS = 3;

/** A task's settings for one input, validated. */
export interface ResolvedTaskSettings {
  /** Every field of the retry policy, defaults filled in. */
  retryPolicy: RetryPolicyOptions;
  /** Per-attempt timeout in ms. */
  timeoutMs: number;
  /** How long the task is kept after it finished, in ms. */
  ttlMs: number;
  /** Delay before the task may first run, in ms (before any enqueue option adds to it). */
  delayMs: number;
  /** Heartbeat period in ms. */
  heartbeatMs: number;
  /** The concurrency key; null: none. */
  concurrencyKey: string | null;
  /** The dedupe key; null: none. */
  dedupeKey: string | null;
  /** The claim priority: higher runs first. */
  priority: number;
}

function resolve<T, Input>(value: Configurable<T, Input> | undefined, input: Input): T | undefined {
  return typeof value === "function" ? (value as (input: Input) => T)(input) : value;
}

/**
 * Resolves a task's settings for one input (values or functions of the input), applies the
 * defaults and validates each one.
 *
 * @throws {@link ConfigError} naming the setting that is invalid.
 */
export function resolveTaskSettings<Input>(task: Task<Input, unknown, never> | Task<Input, unknown, any>, input: Input): ResolvedTaskSettings {
  const retryPolicy = resolveRetryPolicy(resolve(task.retryPolicy, input));
  return {
    retryPolicy,
    timeoutMs: validateDurationMs(resolve(task.timeoutMs, input) ?? TASK_DEFAULTS.timeoutMs, "timeoutMs", { min: 1, max: MAX_TIMER_MS }),
    ttlMs: validateDurationMs(resolve(task.ttlMs, input) ?? TASK_DEFAULTS.ttlMs, "ttlMs"),
    delayMs: validateDurationMs(resolve(task.delayMs, input) ?? TASK_DEFAULTS.delayMs, "delayMs"),
    heartbeatMs: validateDurationMs(resolve(task.heartbeatMs, input) ?? TASK_DEFAULTS.heartbeatMs, "heartbeatMs", {
      min: 10,
      max: Math.floor(MAX_TIMER_MS / 3),
    }),
    concurrencyKey: validateOptionalKey(resolve(task.concurrencyKey, input), "concurrencyKey"),
    dedupeKey: validateOptionalKey(resolve(task.dedupeKey, input), "dedupeKey"),
    priority: validatePriority(resolve(task.priority, input) ?? TASK_DEFAULTS.priority),
  };
}

const RETRY_POLICY_FIELDS = ["maxAttempts", "initialIntervalMs", "maxIntervalMs", "backoffCoefficient", "jitterFactor"] as const;
let defaultRetryPolicy: Readonly<RetryPolicyOptions> | undefined;
/** Policies already validated, by the object that described them and the field values it had. */
const validatedRetryPolicies = new WeakMap<object, { fields: unknown[]; policy: Readonly<RetryPolicyOptions> }>();

/**
 * A task's retry policy, validated, with the defaults applied. A task usually gives the same
 * policy object for every input, so the validated result is kept for that object and given
 * again while its fields are unchanged: many tasks of one call then share one frozen policy.
 */
function resolveRetryPolicy(value: unknown): RetryPolicyOptions {
  if (value === undefined || value === null) return (defaultRetryPolicy ??= Object.freeze(RetryPolicy.from(undefined).toJSON()));
  const known = typeof value === "object" ? validatedRetryPolicies.get(value) : undefined;
  if (known !== undefined && known.fields.every((field, index) => field === (value as Record<string, unknown>)[RETRY_POLICY_FIELDS[index]!])) {
    return known.policy;
  }
  // Checked (its type, and no field of another name) only when it was not validated before.
  assertRetryPolicyObject(value);
  const fields = RETRY_POLICY_FIELDS.map((field) => (value as Record<string, unknown>)[field]);
  const policy = Object.freeze(RetryPolicy.from(value as Partial<RetryPolicyOptions>).toJSON());
  validatedRetryPolicies.set(value, { fields, policy });
  return policy;
}

/**
 * Validates `input` against a Standard Schema and returns the schema's output.
 *
 * @throws {@link ValidationError} listing the schema's issues.
 * @throws {@link ConfigError} when `schema` is not a Standard Schema, or its `validate` returns
 * (or resolves to) something other than a result object.
 */
export async function validateWithSchema<Output>(schema: StandardSchemaV1<unknown, Output>, input: unknown, label = "input"): Promise<Output> {
  assertStandardSchema(schema);
  let result = schema["~standard"].validate(input);
  if (result instanceof Promise) result = await result;
  // A schema that breaks the Standard Schema contract is the task's configuration at fault.
  if (typeof result !== "object" || result === null) {
    throw new ConfigError(`schema's validate returned no result (a Standard Schema returns { value } or { issues }), got ${describeArgument(result)}`);
  }
  if (result.issues) {
    const issues = result.issues.map((issue) => ({
      path: (issue.path ?? []).map((segment) => (typeof segment === "object" && segment !== null ? segment.key : segment)),
      message: issue.message,
    }));
    const first = issues[0];
    const where = first && first.path.length > 0 ? `${label}.${first.path.map(String).join(".")}` : label;
    throw new ValidationError(`${where} failed its schema: ${first?.message ?? "invalid"}`, issues);
  }
  return result.value;
}

/**
 * Throws a ConfigError unless `task` has an `execute` function and its `schema`, when given
 * (not `undefined` or `null`), is a Standard Schema.
 */
export function assertTask(task: unknown): void {
  if (typeof task !== "object" || task === null || typeof (task as { execute?: unknown }).execute !== "function") {
    throw new ConfigError("A task must be an object with an execute(cx, input) method");
  }
  const schema = (task as { schema?: unknown }).schema;
  if (schema !== undefined && schema !== null) assertStandardSchema(schema);
}

/** Throws a ConfigError unless `schema` is a Standard Schema: a `~standard` with a `validate` function. */
export function assertStandardSchema(schema: unknown, name = "schema"): void {
  const standard = (typeof schema === "object" || typeof schema === "function") && schema !== null ? (schema as { "~standard"?: unknown })["~standard"] : undefined;
  if (typeof standard !== "object" || standard === null || typeof (standard as { validate?: unknown }).validate !== "function") {
    throw new ConfigError(`${name} must be a Standard Schema (zod, valibot, arktype: an object whose "~standard" has a validate function), got ${describeArgument(schema)}`);
  }
}
