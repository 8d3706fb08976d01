import { randomFillSync } from "node:crypto";

let lastTimestampMs = 0;
let sequence = 0;

/** Random bytes drawn 8 KiB at a time (one system call per 1,024 ids, not one per id). */
const RANDOM_POOL_SIZE = 8_192;
const randomPool = Buffer.alloc(RANDOM_POOL_SIZE);
let randomPoolOffset = RANDOM_POOL_SIZE;
/** `HEX[b]` is byte `b` as two lowercase hex digits. */
const HEX = Array.from({ length: 256 }, (_, byte) => byte.toString(16).padStart(2, "0"));
const bytes = new Uint8Array(16);

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
  if (randomPoolOffset + 8 > RANDOM_POOL_SIZE) {
    randomFillSync(randomPool);
    randomPoolOffset = 0;
  }
  bytes[0] = (timestampMs / 2 ** 40) & 0xff;
  bytes[1] = (timestampMs / 2 ** 32) & 0xff;
  bytes[2] = (timestampMs >>> 24) & 0xff;
  bytes[3] = (timestampMs >>> 16) & 0xff;
  bytes[4] = (timestampMs >>> 8) & 0xff;
  bytes[5] = timestampMs & 0xff;
  bytes[6] = 0x70 | ((sequence >>> 8) & 0x0f);
  bytes[7] = sequence & 0xff;
  // rand_b: 62 random bits after the variant, read byte by byte (Buffer#copy costs more for 8).
  const offset = randomPoolOffset;
  bytes[8] = 0x80 | (randomPool[offset]! & 0x3f);
  for (let index = 1; index < 8; index += 1) bytes[8 + index] = randomPool[offset + index]!;
  randomPoolOffset += 8;
  const h = (index: number) => HEX[bytes[index]!]!;
  return (
    `${h(0)}${h(1)}${h(2)}${h(3)}-${h(4)}${h(5)}-${h(6)}${h(7)}-${h(8)}${h(9)}-` +
    `${h(10)}${h(11)}${h(12)}${h(13)}${h(14)}${h(15)}`
  );
}

const UUID_PATTERN = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** Whether `value` is a UUID string in canonical hyphenated form. */
export function isTaskId(value: unknown): value is string {
  return typeof value === "string" && UUID_PATTERN.test(value);
}
