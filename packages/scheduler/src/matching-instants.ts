import { CronExpressionParser, type CronExpression } from "cron-parser";
import { offsetChangesBetween, zoneOffsetMs } from "./time-zone.js";

/**
 * The instants strictly after `from` (walking forward) or strictly before it (walking backward),
 * in walk order, at which the zone's wall clock shows a time the cron expression matches, each
 * read with the offset in force at that instant: a time inside a spring-forward gap is absent, and
 * a time inside a fall-back fold comes at both of its instants. Ends when cron-parser can go no
 * further.
 *
 * The walk over a schedule takes these as its candidates and reads the steps that an offset change
 * touches off the wall clock (`wallClockFires`), which shifts gap times and keeps fold times once.
 * Between two offset changes the offset is constant, so cron-parser reads wall times in UTC, where
 * no clock jumps, and each is moved by that one offset. cron-parser's own reading of a zone is not
 * used: near some transitions (Pacific/Chatham's, at a quarter to the hour) it goes round in
 * circles until its loop limit, seconds of work for one answer.
 *
 * @param expandedCron - six numeric fields, as `normalizeCron` makes them.
 */
export function* matchingInstants(expandedCron: string, timeZone: string, from: number, direction: "forward" | "backward"): Generator<number, void, undefined> {
  const forward = direction === "forward";
  /** The bound the next instant must pass: the last one given, or where the walk started. */
  let bound = from;
  /** The instant at which the current stretch of constant offset is entered, and its offset. */
  let entry = forward ? bound + 1 : bound - 1;
  let offset = zoneOffsetMs(entry, timeZone);
  let wallTimes = parseAt(expandedCron, bound + offset);
  for (;;) {
    let wall: number;
    try {
      wall = (forward ? wallTimes.next() : wallTimes.prev()).getTime();
    } catch {
      return;
    }
    const instant = wall - offset;
    // Read with this offset, the wall time is right only if the offset holds all the way there.
    const changes = forward ? offsetChangesBetween(entry, instant, timeZone) : offsetChangesBetween(instant, entry, timeZone);
    if (changes.length === 0) {
      bound = instant;
      yield instant;
      continue;
    }
    // Enter the next stretch at the first change on the way, and read on from there.
    if (forward) {
      entry = changes[0]!;
      bound = entry - 1;
    } else {
      bound = changes[changes.length - 1]!;
      entry = bound - 1;
    }
    offset = zoneOffsetMs(entry, timeZone);
    wallTimes = parseAt(expandedCron, bound + offset);
  }
}

/** cron-parser reading wall times in UTC, its search starting at the wall time `wall`. */
function parseAt(expandedCron: string, wall: number): CronExpression {
  return CronExpressionParser.parse(expandedCron, { tz: "UTC", currentDate: new Date(wall) });
}
