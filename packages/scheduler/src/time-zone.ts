import { ScheduleParseError } from "./schedule-parse-error.js";

const formatters = new Map<string, Intl.DateTimeFormat>();

/**
 * Longer than any gap or fold a zone's clock has made (a whole day: Pacific/Apia skipped 30
 * December 2011): how far back an offset change can still shift times forward, or repeat them.
 */
export const LONGEST_OFFSET_JUMP_MS = 26 * 3_600_000;

/**
 * Checks that `timeZone` is an IANA zone name the runtime knows (`"UTC"`, `"Europe/Berlin"`,
 * `"Etc/GMT+5"`). Offsets such as `"+01:00"` are refused: a fixed offset ignores daylight saving,
 * which is rarely what a schedule means; `"Etc/GMT-1"` says the same thing explicitly.
 *
 * @returns the name trimmed, and in the runtime's letter case when it differs only in case
 * (`"utc"` gives `"UTC"`), so every spelling of a zone is stored, and compares, the same. Any
 * other name the runtime resolves differently, an alias such as `"Asia/Kolkata"`, stays as given.
 * @throws ScheduleParseError naming the zone.
 */
export function validateTimeZone(timeZone: string, source: string = timeZone): string {
  const trimmed = timeZone.trim();
  if (trimmed === "") throw new ScheduleParseError(source, `The time zone is empty; write an IANA name such as "UTC" or "America/New_York"`);
  if (!/^[A-Za-z][A-Za-z0-9_+\-/]*$/.test(trimmed)) {
    throw new ScheduleParseError(source, `"${trimmed}" is not an IANA time zone name (such as "UTC" or "Europe/Berlin")`);
  }
  let resolved: string;
  try {
    resolved = formatterFor(trimmed).resolvedOptions().timeZone;
  } catch (error) {
    throw new ScheduleParseError(source, `Unknown time zone "${trimmed}"; expected an IANA name such as "UTC" or "America/Los_Angeles"`, { cause: error });
  }
  // Only the case is taken from the runtime: its name for an alias differs between ICU versions.
  return resolved.toLowerCase() === trimmed.toLowerCase() ? resolved : trimmed;
}

/** The zone's offset from UTC at `instant`, in milliseconds (positive east of Greenwich). */
export function zoneOffsetMs(instant: number, timeZone: string): number {
  const parts = formatterFor(timeZone).formatToParts(new Date(instant));
  const value = (type: Intl.DateTimeFormatPartTypes): number => Number(parts.find((part) => part.type === type)?.value);
  const localAsUtc = Date.UTC(value("year"), value("month") - 1, value("day"), value("hour"), value("minute"), value("second"));
  const wholeSecond = instant - (((instant % 1000) + 1000) % 1000);
  return localAsUtc - wholeSecond;
}

/**
 * Whether the wall-clock time at `instant` already happened earlier, at a larger offset: the
 * second pass through a fall-back fold (01:30 EST after 01:30 EDT).
 */
export function isRepeatedWallTime(instant: number, timeZone: string): boolean {
  const offset = zoneOffsetMs(instant, timeZone);
  // Folds are at most a few hours wide; the offsets seen in the three hours before cover them.
  const quarterHour = 15 * 60_000;
  const earlierOffsets = new Set<number>();
  for (let step = 1; step <= 12; step += 1) earlierOffsets.add(zoneOffsetMs(instant - step * quarterHour, timeZone));
  for (const earlierOffset of earlierOffsets) {
    if (earlierOffset <= offset) continue;
    const twin = instant - (earlierOffset - offset);
    if (zoneOffsetMs(twin, timeZone) === earlierOffset) return true;
  }
  return false;
}

/**
 * The first instant in `(low, high]` whose offset differs from the offset at `low`, given that the
 * offset at `high` differs: halved down to one millisecond.
 */
function firstOffsetChange(low: number, high: number, timeZone: string): number {
  const offset = zoneOffsetMs(low, timeZone);
  let before = low;
  let after = high;
  while (after - before > 1) {
    const middle = Math.floor((before + after) / 2);
    if (zoneOffsetMs(middle, timeZone) === offset) before = middle;
    else after = middle;
  }
  return after;
}

/**
 * The instants in `(from, to]` at which the zone's offset changes, in order, each to the
 * millisecond. A span of up to two days with the same offset at both ends is taken to have none:
 * no zone changes its offset twice within two days.
 */
export function offsetChangesBetween(from: number, to: number, timeZone: string): number[] {
  const day = 86_400_000;
  if (to - from <= 2 * day && zoneOffsetMs(from, timeZone) === zoneOffsetMs(to, timeZone)) return [];
  const changes: number[] = [];
  let low = from;
  let lowOffset = zoneOffsetMs(from, timeZone);
  while (low < to) {
    const high = Math.min(low + day, to);
    const highOffset = zoneOffsetMs(high, timeZone);
    if (highOffset === lowOffset) {
      low = high;
      continue;
    }
    const change = firstOffsetChange(low, high, timeZone);
    changes.push(change);
    low = change;
    lowOffset = zoneOffsetMs(change, timeZone);
  }
  return changes;
}

/**
 * Every offset the zone has in `[from, to]` or in the {@link LONGEST_OFFSET_JUMP_MS} before it:
 * an instant of the span shows its wall-clock time with one of them, and a gap or fold reaching
 * into the span is read with one of them.
 */
export function offsetsAround(from: number, to: number, timeZone: string): Set<number> {
  const offsets = new Set([zoneOffsetMs(from, timeZone), zoneOffsetMs(to, timeZone)]);
  for (const change of offsetChangesBetween(from - LONGEST_OFFSET_JUMP_MS, to, timeZone)) {
    offsets.add(zoneOffsetMs(change - 1, timeZone));
    offsets.add(zoneOffsetMs(change, timeZone));
  }
  return offsets;
}

/**
 * The instant a wall-clock time (`wall`: the local date and time written as if it were UTC)
 * stands for in the zone, given the offsets the zone may have around it. A time that happens
 * twice (a fall-back fold) is its first instant; a time that never happens (a spring-forward gap)
 * is shifted forward by the gap, read with the offset from before the gap.
 */
export function wallTimeToInstant(wall: number, offsets: Iterable<number>, timeZone: string): number {
  let first: number | null = null;
  let shifted: number | null = null;
  for (const offset of offsets) {
    const instant = wall - offset;
    const actual = zoneOffsetMs(instant, timeZone);
    if (actual === offset) {
      if (first === null || instant < first) first = instant;
    } else if (actual > offset && (shifted === null || instant > shifted)) {
      // Read with the smaller offset of a gap, the instant falls after the clocks moved on.
      shifted = instant;
    }
  }
  if (first !== null) return first;
  return shifted ?? wall - zoneOffsetMs(wall, timeZone);
}

function formatterFor(timeZone: string): Intl.DateTimeFormat {
  let formatter = formatters.get(timeZone);
  if (formatter === undefined) {
    formatter = new Intl.DateTimeFormat("en-US", {
      timeZone,
      hourCycle: "h23",
      year: "numeric",
      month: "numeric",
      day: "numeric",
      hour: "numeric",
      minute: "numeric",
      second: "numeric",
    });
    formatters.set(timeZone, formatter);
  }
  return formatter;
}
