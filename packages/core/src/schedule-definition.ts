/**
 * A parsed recurring schedule, as a queue stores it: a cron expression and the IANA time zone it
 * is read in. `ZonedSchedule` from `@underway/scheduler` implements it; it checks both parts when
 * it is built (`ZonedSchedule.parse("<cron>[<zone>]")` throws a `ScheduleParseError` otherwise),
 * and its `next` method shows that it did. `Queue.schedule` refuses a plain `{ cron, timeZone }`
 * object, which nothing has checked, with a `ConfigError`.
 */
export interface ScheduleDefinition {
  /** The cron expression as written, e.g. `"@daily"` or `"0 30 9 * * 1-5"`. */
  readonly cron: string;
  /** The IANA time zone, e.g. `"America/Los_Angeles"`; `"UTC"` when none was given. */
  readonly timeZone: string;
  /** The first fire time strictly after `after`, or null if the schedule can never fire again. */
  next(after?: Date): Date | null;
}
