/**
 * What a queue stores for a recurring schedule: a cron expression and the IANA time zone it is
 * read in. `ZonedSchedule` from `@underway/scheduler` implements it and validates both parts.
 */
export interface ScheduleDefinition {
  /** The cron expression as written, e.g. `"@daily"` or `"0 30 9 * * 1-5"`. */
  readonly cron: string;
  /** The IANA time zone, e.g. `"America/Los_Angeles"`; `"UTC"` when none was given. */
  readonly timeZone: string;
}
