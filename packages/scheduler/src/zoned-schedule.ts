import { CronExpressionParser } from "cron-parser";
import { ConfigError, describeArgument, type ScheduleDefinition } from "@underway/core";
import { normalizeCron } from "./cron-expression.js";
import { ScheduleParseError } from "./schedule-parse-error.js";
import { matchingInstants } from "./matching-instants.js";
import { isRepeatedWallTime, validateTimeZone } from "./time-zone.js";
import { spanAcrossOffsetChanges, wallClockFires } from "./wall-clock-fires.js";

/** More consecutive fold repeats than any real zone produces: a guard, never reached in practice. */
const MAX_SKIPPED_CANDIDATES = 100_000;

/**
 * The latest (and, negated, earliest) instant `next`, `upcoming` and `preceding` start from: about
 * 272 000 years either side of 1970, leaving room below JavaScript's Date limit (8.64e15 ms)
 * for the fires that follow.
 */
export const MAX_SCHEDULE_INSTANT_MS = 8.6e15;

/**
 * A cron expression read in an IANA time zone: when a queue's schedule fires.
 *
 * Written `"<cron>[<zone>]"` as in the Rust crate (`"@daily[America/Los_Angeles]"`); the zone is
 * optional and defaults to UTC. The cron part is 5 fields (minute first), 6 fields (second
 * first) or one of the macros `@yearly @annually @monthly @weekly @daily @midnight @hourly`.
 * Daylight-saving rules, day-of-week numbering and how the two day fields combine are described
 * in `docs/scheduling.md`; in short, every wall-clock time that matches fires exactly once: a time
 * skipped by a spring-forward gap fires shifted forward by the gap, a time repeated by a fall-back
 * fold fires at its first instant only.
 *
 * @example
 * ```ts
 * const schedule = ZonedSchedule.parse("0 30 9 * * mon-fri[Europe/Berlin]");
 * schedule.next(new Date("2024-06-07T08:00:00Z")); // 2024-06-10T07:30:00.000Z (Monday 09:30 CEST)
 * await queue.schedule(schedule, { report: "daily" });
 * ```
 */
export class ZonedSchedule implements ScheduleDefinition {
  /** The cron expression as written (trimmed), e.g. `"@daily"`. */
  readonly cron: string;
  /**
   * The IANA time zone the expression is read in. A name given in another letter case is stored
   * in the runtime's spelling (`"utc"` gives `"UTC"`, `"america/new_york"` gives
   * `"America/New_York"`); any other name, an alias such as `"Asia/Kolkata"` included, as given.
   */
  readonly timeZone: string;
  /** The six numeric fields handed to cron-parser. */
  readonly #expandedCron: string;

  /**
   * @param cron - 5 or 6 cron fields, or a macro such as `"@daily"`.
   * @param timeZone - an IANA zone name, in any letter case; default `"UTC"`.
   * @throws ScheduleParseError when either part is invalid.
   */
  constructor(cron: string, timeZone = "UTC") {
    if (typeof cron !== "string") throw new ScheduleParseError(String(cron), `A cron expression must be a string, got ${typeof cron}`);
    if (typeof timeZone !== "string") {
      throw new ScheduleParseError(String(timeZone), `A time zone must be a string such as "UTC", got ${typeof timeZone}`);
    }
    this.#expandedCron = normalizeCron(cron);
    this.cron = cron.trim();
    this.timeZone = validateTimeZone(timeZone);
    try {
      CronExpressionParser.parse(this.#expandedCron, { tz: "UTC", currentDate: new Date(0) });
    } catch (error) {
      // Our own checks pass field by field; what is left are combinations that can never match,
      // such as the 30th of February.
      throw new ScheduleParseError(
        cron,
        `The cron expression "${this.cron}" can never fire (${error instanceof Error ? error.message : String(error)})`,
        { cause: error },
      );
    }
  }

  /**
   * Parses `"<cron>[<IANA zone>]"`, or a bare cron expression (read in UTC). Everything before the
   * first `[` is the cron expression; the text must then end with `]`.
   *
   * @throws ScheduleParseError naming the part that is wrong.
   */
  static parse(text: string): ZonedSchedule {
    if (typeof text !== "string") throw new ScheduleParseError(String(text), `A schedule must be a string such as "@daily[UTC]", got ${typeof text}`);
    const trimmed = text.trim();
    const open = trimmed.indexOf("[");
    if (open === -1) {
      if (trimmed.endsWith("]")) throw new ScheduleParseError(text, `The schedule "${trimmed}" has a closing "]" but no opening "["`);
      return new ZonedSchedule(trimmed, "UTC");
    }
    if (!trimmed.endsWith("]")) {
      throw new ScheduleParseError(text, `The schedule "${trimmed}" is missing the closing "]" after its time zone`);
    }
    const cron = trimmed.slice(0, open);
    const zone = trimmed.slice(open + 1, -1);
    if (zone.includes("[") || zone.includes("]")) {
      throw new ScheduleParseError(text, `The time zone "${zone}" in "${trimmed}" contains a bracket; write exactly one "[<zone>]" at the end`);
    }
    return new ZonedSchedule(cron, zone === "" ? "" : zone);
  }

  /**
   * The first fire time strictly after `after` (default: now), or null if the schedule can never
   * fire again.
   *
   * @throws ConfigError when `after` is not a valid `Date` (a string, a number, null, an Invalid
   * Date) or lies more than {@link MAX_SCHEDULE_INSTANT_MS} ms from 1970.
   */
  next(after: Date = new Date()): Date | null {
    const iterator = this.#walk(startInstant(after, "next", "after"), "forward");
    const first = iterator.next();
    return first.done ? null : first.value;
  }

  /**
   * The fire times strictly after `after` (default: now), in order, without end.
   *
   * @throws ConfigError at the call when `after` is not a valid `Date` or lies more than
   * {@link MAX_SCHEDULE_INSTANT_MS} ms from 1970.
   */
  upcoming(after: Date = new Date()): Generator<Date, void, undefined> {
    return this.#walk(startInstant(after, "upcoming", "after"), "forward");
  }

  /**
   * The fire times strictly before `before`, newest first. Schedulers use it to find the latest
   * missed occurrences without stepping through every one of them.
   *
   * @throws ConfigError at the call when `before` is not a valid `Date` or lies more than
   * {@link MAX_SCHEDULE_INSTANT_MS} ms from 1970.
   */
  preceding(before: Date): Generator<Date, void, undefined> {
    return this.#walk(startInstant(before, "preceding", "before"), "backward");
  }

  *#walk(start: number, direction: "forward" | "backward"): Generator<Date, void, undefined> {
    const forward = direction === "forward";
    const candidates = matchingInstants(this.#expandedCron, this.timeZone, start, direction);
    let previous = start;
    for (;;) {
      let candidate: number | null = null;
      for (let skipped = 0; skipped < MAX_SKIPPED_CANDIDATES; skipped += 1) {
        const answer = candidates.next();
        if (answer.done === true) return;
        const next = answer.value;
        const inOrder = forward ? next > previous : next < previous;
        // A repeated wall time already fired at its first instant, before the clocks went back.
        if (!inOrder || isRepeatedWallTime(next, this.timeZone)) continue;
        candidate = next;
        break;
      }
      if (candidate === null) return;
      const span = forward
        ? spanAcrossOffsetChanges(previous, candidate, this.timeZone, direction)
        : spanAcrossOffsetChanges(candidate - 1, previous - 1, this.timeZone, direction);
      if (span === null) {
        previous = candidate;
        yield new Date(candidate);
        continue;
      }
      // The clocks move near this step: its fires are read off the wall clock instead (see
      // wallClockFires), and the walk goes on from its candidate, past the fires given here.
      const fires = wallClockFires(this.#expandedCron, this.timeZone, span.from, span.to);
      if (!forward) fires.reverse();
      previous = forward ? span.to : candidate;
      for (const fire of fires) yield new Date(fire);
    }
  }

  /** `"<cron>[<zone>]"`, which {@link ZonedSchedule.parse} reads back to an equal schedule. */
  toString(): string {
    return `${this.cron}[${this.timeZone}]`;
  }

  /**
   * Whether `other` has the same cron text and zone. False for anything that is not a schedule
   * (`null`, `undefined`, a string, an object without `cron` and `timeZone`), rather than a throw.
   */
  equals(other: Pick<ScheduleDefinition, "cron" | "timeZone"> | null | undefined): boolean {
    if (typeof other !== "object" || other === null) return false;
    return this.cron === other.cron && this.timeZone === other.timeZone;
  }
}

/** The instant a walk starts from, checked. @throws ConfigError naming the method and argument. */
function startInstant(value: unknown, method: string, argument: string): number {
  const time = value instanceof Date ? value.getTime() : Number.NaN;
  if (Number.isNaN(time)) {
    throw new ConfigError(`ZonedSchedule.${method}(${argument}) expects a valid Date, got ${describeArgument(value)}`);
  }
  if (Math.abs(time) > MAX_SCHEDULE_INSTANT_MS) {
    throw new ConfigError(`ZonedSchedule.${method}(${argument}) expects a Date within ${MAX_SCHEDULE_INSTANT_MS} ms of 1970, got ${time}`);
  }
  return time;
}
