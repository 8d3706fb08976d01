import { randomBytes } from "node:crypto";

let lastTimestampMs = 0;
let sequence = 0;

/**
 * A new task id: a version 7 UUID (RFC 9562) as a lowercase string. Ids are time-ordered:
 * ids made later sort after earlier ones, and ids made within the same millisecond in one
 * process still sort in creation order (a 12-bit counter fills `rand_a`).
 *
 * @example
 * ```ts
 * const id = newTaskId(); // "0192f1c4-7d3a-7c01-9a8e-3f1b2c4d5e6f"
 * ```
 */
export function newTaskId(now: number = Date.now()): string {
  let timestampMs = now;
  if (timestampMs <= lastTimestampMs) {
    sequence += 1;
    if (sequence > 0xfff) {
      // The counter is exhausted within one millisecond: borrow the next millisecond.
      lastTimestampMs += 1;
      sequence = 0;
    }
    timestampMs = lastTimestampMs;
  } else {
    lastTimestampMs = timestampMs;
    sequence = 0;
  }
  const bytes = randomBytes(16);
  bytes[0] = (timestampMs / 2 ** 40) & 0xff;
  bytes[1] = (timestampMs / 2 ** 32) & 0xff;
  bytes[2] = (timestampMs >>> 24) & 0xff;
  bytes[3] = (timestampMs >>> 16) & 0xff;
  bytes[4] = (timestampMs >>> 8) & 0xff;
  bytes[5] = timestampMs & 0xff;
  bytes[6] = 0x70 | ((sequence >>> 8) & 0x0f);
  bytes[7] = sequence & 0xff;
  bytes[8] = 0x80 | (bytes[8]! & 0x3f);
  const hex = bytes.toString("hex");
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

const UUID_PATTERN = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** Whether `value` is a UUID string in canonical hyphenated form. */
export function isTaskId(value: unknown): value is string {
  return typeof value === "string" && UUID_PATTERN.test(value);
}
