import { CronExpressionParser } from "cron-parser";
import { offsetsAround, zoneOffsetMs } from "./time-zone.js";

/** How many offsets are tried for one wall time before it is taken to fall in a gap. */
const OFFSET_TRIES = 3;

/**
 * Candidate fire times for a walk over a schedule, from `from` on (forward) or back (backward):
 * for each wall-clock time the cron expression matches, in walk order, one instant at which the
 * zone's clock shows it (in a fall-back fold either of its two); a time inside a spring-forward
 * gap, which no instant shows, gives none. Between two offset changes these are exactly the fire
 * times, in order. The walk reads every step an offset change touches off the wall clock
 * (`wallClockFires`), which shifts gap times, keeps fold times once and puts them in order.
 *
 * cron-parser finds the matching wall times in UTC, where no clock jumps, in one search for the
 * whole walk. Its own reading of a zone is not used: near some transitions (Pacific/Chatham's,
 * at a quarter to the hour) it goes round in circles to its loop limit, seconds for one answer.
 *
 * @param expandedCron - six numeric fields, as `normalizeCron` makes them.
 */
export function* matchingInstants(expandedCron: string, timeZone: string, from: number, direction: "forward" | "backward"): Generator<number, void, undefined> {
  const forward = direction === "forward";
  let offset = zoneOffsetMs(from, timeZone);
  // Walking forward, a wall time whose instant comes after `from` is later than `from`'s own. Walking
  // back, a fold just before `from` shows wall times later than `from`'s: start past all of them.
  const startOffset = forward ? offset : Math.max(...offsetsAround(from, from, timeZone));
  const wallTimes = CronExpressionParser.parse(expandedCron, { tz: "UTC", currentDate: new Date(from + startOffset) });
  for (;;) {
    let wall: number;
    try {
      wall = (forward ? wallTimes.next() : wallTimes.prev()).getTime();
    } catch {
      return;
    }
    // Read with the offset of the last instant, then with the offset found there, until one holds.
    for (let tries = 0; tries < OFFSET_TRIES; tries += 1) {
      const instant = wall - offset;
      const actual = zoneOffsetMs(instant, timeZone);
      if (actual === offset) {
        yield instant;
        break;
      }
      offset = actual;
    }
  }
}
