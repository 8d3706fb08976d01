import { UnderwayError, type UnderwayErrorOptions } from "@underway/core";

/**
 * A schedule string, cron expression or time zone that cannot be used. The message names the
 * part that is wrong (the field and its value, the zone, or the brackets) and what was expected.
 *
 * @example
 * ```ts
 * try { ZonedSchedule.parse("61 * * * * *[UTC]"); }
 * catch (error) { if (ScheduleParseError.isInstance(error)) console.error(error.message); }
 * ```
 */
export class ScheduleParseError extends UnderwayError {
  static override readonly code = "SCHEDULE_PARSE" as const;
  /** The text that failed to parse, as given. */
  readonly source: string;

  constructor(source: string, message: string, options?: UnderwayErrorOptions) {
    super("SCHEDULE_PARSE", message, options);
    this.source = source;
  }
}
