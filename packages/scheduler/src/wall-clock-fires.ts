import { CronExpressionParser } from "cron-parser";
import { LONGEST_OFFSET_JUMP_MS, offsetChangesBetween, offsetsAround, wallTimeToInstant, zoneOffsetMs } from "./time-zone.js";

/**
 * The span whose fires must be read off the wall clock (see {@link wallClockFires}) for the walk
 * step `(from, to]`, or null when no offset change touches it. A change inside the step touches it,
 * and so does an earlier spring-forward whose shifted times land in it. Walking forward, the span
 * reaches past `to` to the end of the shifted times of a gap inside the step, so they come out in
 * order with the times that really follow the gap.
 */
export function spanAcrossOffsetChanges(from: number, to: number, timeZone: string, direction: "forward" | "backward"): { from: number; to: number } | null {
  let end = to;
  let touched = false;
  for (const change of offsetChangesBetween(from - LONGEST_OFFSET_JUMP_MS, to, timeZone)) {
    const gap = Math.max(0, zoneOffsetMs(change, timeZone) - zoneOffsetMs(change - 1, timeZone));
    if (change <= from && change + gap <= from) continue;
    touched = true;
    if (direction === "forward") end = Math.max(end, change + gap);
  }
  return touched ? { from, to: end } : null;
}

/**
 * The fire times of a cron expression in `(from, to]`, read off the zone's wall clock: every
 * local date and time that matches (found in UTC, where no clock ever jumps) becomes the instant
 * it stands for, a time in a fall-back fold its first instant only and a time in a spring-forward
 * gap shifted forward by the gap; two times that land on one instant fire once. Ascending.
 *
 * Used for the steps of a walk that an offset change touches, where reading each wall time with
 * the one offset in force is not enough: a gap time has no instant of its own, a fold time two.
 *
 * @param expandedCron - six numeric fields, as `normalizeCron` makes them.
 */
export function wallClockFires(expandedCron: string, timeZone: string, from: number, to: number): number[] {
  // A gap shortly before the span shifts its times into it: they are read with the offset before.
  const offsets = offsetsAround(from, to, timeZone);
  // Every instant of the span shows a wall-clock time within these bounds, and a gap time is
  // read with one of these offsets.
  const lowestWall = from + Math.min(...offsets);
  const highestWall = to + Math.max(...offsets);
  const wallTimes = CronExpressionParser.parse(expandedCron, { tz: "UTC", currentDate: new Date(lowestWall) });
  const fires = new Set<number>();
  for (;;) {
    let wall: number;
    try {
      wall = wallTimes.next().getTime();
    } catch {
      break;
    }
    if (wall > highestWall) break;
    const instant = wallTimeToInstant(wall, offsets, timeZone);
    if (instant > from && instant <= to) fires.add(instant);
  }
  return [...fires].sort((a, b) => a - b);
}
