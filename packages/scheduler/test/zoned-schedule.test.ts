import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { ConfigError, UnderwayError } from "@underway/core";
import { CRON_MACROS, MAX_SCHEDULE_INSTANT_MS, ScheduleParseError, ZonedSchedule } from "@underway/scheduler";

const at = (iso: string) => new Date(iso);
const iso = (date: Date | null) => date?.toISOString() ?? null;
const take = (iterator: Iterator<Date>, count: number) =>
  Array.from({ length: count }, () => iterator.next().value!.toISOString());

describe("ZonedSchedule.parse", () => {
  it("reads the crate's examples", () => {
    const daily = ZonedSchedule.parse("@daily[America/Los_Angeles]");
    expect(daily.cron).toBe("@daily");
    expect(daily.timeZone).toBe("America/Los_Angeles");
    expect(iso(daily.next(at("2024-06-01T12:00:00Z")))).toBe("2024-06-02T07:00:00.000Z");

    const quarterHourly = ZonedSchedule.parse("0 */15 * * * *[America/Los_Angeles]");
    expect(quarterHourly.cron).toBe("0 */15 * * * *");
    expect(take(quarterHourly.upcoming(at("2024-06-01T12:07:00Z")), 3)).toEqual([
      "2024-06-01T12:15:00.000Z",
      "2024-06-01T12:30:00.000Z",
      "2024-06-01T12:45:00.000Z",
    ]);
  });

  it("defaults the zone to UTC and round-trips through toString", () => {
    const schedule = ZonedSchedule.parse("  30 9 * * 1-5 ");
    expect(schedule.timeZone).toBe("UTC");
    expect(schedule.toString()).toBe("30 9 * * 1-5[UTC]");
    expect(ZonedSchedule.parse(schedule.toString()).equals(schedule)).toBe(true);
    expect(new ZonedSchedule("@hourly").toString()).toBe("@hourly[UTC]");
    expect(new ZonedSchedule("@hourly", "Europe/Berlin").equals(ZonedSchedule.parse("@hourly[Europe/Berlin]"))).toBe(true);
  });

  it("equals() is false, not a throw, for anything that is not a schedule", () => {
    const daily = ZonedSchedule.parse("@daily[UTC]");
    for (const other of [null, undefined, "@daily[UTC]", 5, {}, { cron: "@daily" }, [daily]]) {
      expect(daily.equals(other as unknown as ZonedSchedule)).toBe(false);
    }
    expect(daily.equals({ cron: "@daily", timeZone: "UTC" })).toBe(true);
  });

  it("stores a zone written in another letter case in the runtime's spelling, so both spellings are equal", () => {
    expect(ZonedSchedule.parse("@daily[utc]").toString()).toBe("@daily[UTC]");
    expect(ZonedSchedule.parse("@daily[utc]").equals(ZonedSchedule.parse("@daily[UTC]"))).toBe(true);
    expect(ZonedSchedule.parse("@daily[america/new_york]").timeZone).toBe("America/New_York");
    expect(ZonedSchedule.parse("0 9 * * *[ EUROPE/BERLIN ]").timeZone).toBe("Europe/Berlin");
    expect(ZonedSchedule.parse("@daily[etc/gmt+5]").timeZone).toBe("Etc/GMT+5");
    expect(new ZonedSchedule("@daily", "utc").equals(new ZonedSchedule("@daily"))).toBe(true);
    // An alias keeps its name, whatever the runtime calls the zone (ICU versions differ).
    for (const alias of ["Asia/Calcutta", "Asia/Kolkata", "Etc/UTC", "US/Eastern", "GMT"]) {
      expect(new ZonedSchedule("@daily", alias).timeZone).toBe(alias);
    }
    // The spelling is a name only: both read the same wall clock.
    const after = at("2024-06-07T08:00:00Z");
    expect(iso(ZonedSchedule.parse("0 9 * * *[america/new_york]").next(after))).toBe("2024-06-07T13:00:00.000Z");
  });

  it("reads five fields as minute-first with second 0", () => {
    const schedule = ZonedSchedule.parse("30 9 * * *[UTC]");
    expect(take(schedule.upcoming(at("2024-06-01T09:30:00Z")), 2)).toEqual(["2024-06-02T09:30:00.000Z", "2024-06-03T09:30:00.000Z"]);
  });

  it("reads six fields as second-first", () => {
    const schedule = ZonedSchedule.parse("15 30 9 * * *[UTC]");
    expect(iso(schedule.next(at("2024-06-01T09:30:00Z")))).toBe("2024-06-01T09:30:15.000Z");
    expect(take(ZonedSchedule.parse("*/20 * * * * *").upcoming(at("2024-06-01T00:00:00Z")), 3)).toEqual([
      "2024-06-01T00:00:20.000Z",
      "2024-06-01T00:00:40.000Z",
      "2024-06-01T00:01:00.000Z",
    ]);
  });

  it.each([
    ["@yearly", "0 0 0 1 1 *", ["2025-01-01T00:00:00.000Z", "2026-01-01T00:00:00.000Z"]],
    ["@annually", "0 0 0 1 1 *", ["2025-01-01T00:00:00.000Z", "2026-01-01T00:00:00.000Z"]],
    ["@monthly", "0 0 0 1 * *", ["2024-07-01T00:00:00.000Z", "2024-08-01T00:00:00.000Z"]],
    // 2024-06-09 is a Sunday.
    ["@weekly", "0 0 0 * * 0", ["2024-06-09T00:00:00.000Z", "2024-06-16T00:00:00.000Z"]],
    ["@daily", "0 0 0 * * *", ["2024-06-06T00:00:00.000Z", "2024-06-07T00:00:00.000Z"]],
    ["@midnight", "0 0 0 * * *", ["2024-06-06T00:00:00.000Z", "2024-06-07T00:00:00.000Z"]],
    ["@hourly", "0 0 * * * *", ["2024-06-05T13:00:00.000Z", "2024-06-05T14:00:00.000Z"]],
  ])("expands %s to %s", (macro, expansion, expected) => {
    expect(CRON_MACROS[macro]).toBe(expansion);
    const from = at("2024-06-05T12:34:56Z");
    expect(take(ZonedSchedule.parse(`${macro}[UTC]`).upcoming(from), 2)).toEqual(expected);
    expect(take(ZonedSchedule.parse(`${expansion}[UTC]`).upcoming(from), 2)).toEqual(expected);
    expect(ZonedSchedule.parse(macro.toUpperCase()).cron).toBe(macro.toUpperCase());
  });

  it("numbers weekdays 0-7 with both 0 and 7 for Sunday, and accepts names", () => {
    const from = at("2024-06-05T00:00:00Z"); // a Wednesday
    const sunday = "2024-06-09T09:00:00.000Z";
    for (const day of ["0", "7", "sun", "SUN", "Sun"]) expect(iso(ZonedSchedule.parse(`0 9 * * ${day}`).next(from))).toBe(sunday);
    expect(iso(ZonedSchedule.parse("0 9 * * 1").next(from))).toBe("2024-06-10T09:00:00.000Z");
    expect(take(ZonedSchedule.parse("0 9 * * mon-fri").upcoming(at("2024-06-07T10:00:00Z")), 2)).toEqual([
      "2024-06-10T09:00:00.000Z",
      "2024-06-11T09:00:00.000Z",
    ]);
    expect(iso(ZonedSchedule.parse("0 0 1 jan-mar *").next(at("2024-06-05T00:00:00Z")))).toBe("2025-01-01T00:00:00.000Z");
  });

  it("fires when either day field matches if both are restricted, and on the other alone if one is * or ?", () => {
    const from = at("2024-01-01T00:00:00Z"); // Monday 1 January 2024
    // The 13th, or any Friday (5, 12, 13, 19).
    expect(take(ZonedSchedule.parse("0 0 13 * fri").upcoming(from), 4)).toEqual([
      "2024-01-05T00:00:00.000Z",
      "2024-01-12T00:00:00.000Z",
      "2024-01-13T00:00:00.000Z",
      "2024-01-19T00:00:00.000Z",
    ]);
    expect(take(ZonedSchedule.parse("0 0 13 * ?").upcoming(from), 2)).toEqual(["2024-01-13T00:00:00.000Z", "2024-02-13T00:00:00.000Z"]);
    expect(take(ZonedSchedule.parse("0 0 ? * fri").upcoming(from), 2)).toEqual(["2024-01-05T00:00:00.000Z", "2024-01-12T00:00:00.000Z"]);
    expect(take(ZonedSchedule.parse("0 0 * * fri").upcoming(from), 2)).toEqual(["2024-01-05T00:00:00.000Z", "2024-01-12T00:00:00.000Z"]);
    // A step over the whole field is a restriction too: odd days, or Fridays (the 12th is both even and a Friday).
    expect(take(ZonedSchedule.parse("0 0 */2 * fri").upcoming(at("2024-01-10T12:00:00Z")), 3)).toEqual([
      "2024-01-11T00:00:00.000Z",
      "2024-01-12T00:00:00.000Z",
      "2024-01-13T00:00:00.000Z",
    ]);
  });

  it("reads a/n as a, a+n, ... up to the field's end", () => {
    expect(take(ZonedSchedule.parse("50/5 * * * * *").upcoming(at("2024-06-05T00:00:00Z")), 3)).toEqual([
      "2024-06-05T00:00:50.000Z",
      "2024-06-05T00:00:55.000Z",
      "2024-06-05T00:01:50.000Z",
    ]);
  });

  const invalid: Array<[string, RegExp]> = [
    ["", /empty/],
    ["   ", /empty/],
    ["61 * * * * *", /second field "61".*between 0 and 59/],
    ["* 60 * * * *", /minute field "60".*between 0 and 59/],
    ["* * 24 * * *", /hour field "24".*between 0 and 23/],
    ["0 0 0 32 * *", /day-of-month field "32".*between 1 and 31/],
    ["0 0 0 0 * *", /day-of-month field "0".*between 1 and 31/],
    ["0 0 * 13 *", /month field "13".*between 1 and 12/],
    ["0 0 * * 8", /day-of-week field "8".*between 0 and 7/],
    ["0 0 * JANUARY *", /month field "JANUARY".*name/],
    ["* * * * * * *", /7 fields; expected 5/],
    ["* * * *", /4 fields; expected 5/],
    ["hello", /1 field; expected 5/],
    ["hello world foo bar baz", /minute field "hello"/],
    ["@reboot", /Unknown cron macro "@reboot"/],
    ["@every 5m", /Unknown cron macro/],
    ["* * * * *[Mars/Olympus_Mons]", /Unknown time zone "Mars\/Olympus_Mons"/],
    ["* * * * *[UTC", /missing the closing "\]"/],
    ["* * * * *UTC]", /no opening "\["/],
    ["* * * * *[]", /time zone is empty/],
    ["* * * * *[+01:00]", /"\+01:00" is not an IANA time zone name/],
    ["* * * * *[UTC][UTC]", /contains a bracket/],
    ["[UTC]", /cron expression is empty/],
    ["*/0 * * * *", /step 0 .*between 1 and 60/],
    ["*/61 * * * * *", /step 61 .*between 1 and 60/],
    ["*/x * * * *", /step "x".*not a whole number/],
    ["5-2 * * * *", /range "5-2" runs backwards/],
    ["1-2-3 * * * *", /"1-2-3" is not a value or a range/],
    ["1,,2 * * * *", /empty entry/],
    ["1, * * * *", /7|empty entry|field/],
    ["0 0 L * *", /"L" uses an extension/],
    ["H * * * *", /"H" uses an extension/],
    ["0 0 * * mon#2", /"mon#2" uses an extension/],
    ["? * * * *", /"\?" is only allowed in the day-of-month and day-of-week fields/],
    ["a-b * * * *", /minute field "a-b".*"a" is not a number/],
    ["0 0 0 30 2 *", /can never fire/],
    ["0 0 0 31 4 *", /can never fire/],
    ["-1 * * * *", /minute field "-1"/],
    ["1.5 * * * *", /minute field "1.5"/],
  ];

  it.each(invalid)("rejects %j with a message naming the problem", (text, message) => {
    let thrown: unknown;
    try {
      ZonedSchedule.parse(text);
    } catch (error) {
      thrown = error;
    }
    expect(thrown).toBeInstanceOf(ScheduleParseError);
    expect(ScheduleParseError.isInstance(thrown)).toBe(true);
    expect(UnderwayError.isInstance(thrown)).toBe(true);
    expect((thrown as ScheduleParseError).code).toBe("SCHEDULE_PARSE");
    expect((thrown as Error).message).toMatch(message);
  });

  it("has at least twenty invalid cases", () => {
    expect(invalid.length).toBeGreaterThanOrEqual(20);
  });

  it("checks the constructor's parts too", () => {
    expect(() => new ZonedSchedule("@daily", "Nowhere/Special")).toThrow(/Unknown time zone "Nowhere\/Special"/);
    expect(() => new ZonedSchedule("@daily", "")).toThrow(/time zone is empty/);
    expect(() => new ZonedSchedule(42 as unknown as string)).toThrow(ScheduleParseError);
    expect(() => ZonedSchedule.parse(null as unknown as string)).toThrow(ScheduleParseError);
  });
});

describe("ZonedSchedule.next", () => {
  it("is strictly after its argument, to the millisecond", () => {
    const everySecond = ZonedSchedule.parse("* * * * * *");
    expect(iso(everySecond.next(at("2024-06-05T00:00:10.000Z")))).toBe("2024-06-05T00:00:11.000Z");
    expect(iso(everySecond.next(at("2024-06-05T00:00:10.999Z")))).toBe("2024-06-05T00:00:11.000Z");
    expect(iso(everySecond.next(at("2024-06-05T00:00:09.999Z")))).toBe("2024-06-05T00:00:10.000Z");
  });

  it.each([
    ["an Invalid Date", new Date(Number.NaN)],
    ["a string", "2024-06-05T00:00:00Z"],
    ["null", null],
    ["a number", 0],
    ["the earliest Date", new Date(-8.64e15)],
    ["the latest Date", new Date(8.64e15)],
  ])("rejects %s in next, upcoming and preceding with a ConfigError, at the call", (_label, value) => {
    const schedule = ZonedSchedule.parse("@daily[Europe/Berlin]");
    for (const call of [() => schedule.next(value as Date), () => schedule.upcoming(value as Date), () => schedule.preceding(value as Date)]) {
      expect(call).toThrow(ConfigError);
      expect(call).toThrow(/ZonedSchedule\.(next|upcoming|preceding)\((after|before)\) expects a (valid )?Date/);
    }
  });

  it("walks from the edges of its range", () => {
    const schedule = ZonedSchedule.parse("@daily[Europe/Berlin]");
    expect(schedule.next(new Date(MAX_SCHEDULE_INSTANT_MS))!.getTime()).toBeGreaterThan(MAX_SCHEDULE_INSTANT_MS);
    expect(schedule.preceding(new Date(-MAX_SCHEDULE_INSTANT_MS)).next().value!.getTime()).toBeLessThan(-MAX_SCHEDULE_INSTANT_MS);
  });

  it("defaults to now", () => {
    const before = Date.now();
    const next = ZonedSchedule.parse("* * * * * *").next()!;
    expect(next.getTime()).toBeGreaterThan(before);
    expect(next.getTime()).toBeLessThanOrEqual(Date.now() + 1_000);
  });

  it("reads the same cron differently in different zones", () => {
    const from = at("2024-01-15T00:00:00Z");
    const nineAm = (zone: string) => iso(ZonedSchedule.parse(`0 9 * * *[${zone}]`).next(from));
    expect(nineAm("UTC")).toBe("2024-01-15T09:00:00.000Z");
    expect(nineAm("Europe/Berlin")).toBe("2024-01-15T08:00:00.000Z");
    expect(nineAm("America/New_York")).toBe("2024-01-15T14:00:00.000Z");
    expect(nineAm("Asia/Kolkata")).toBe("2024-01-15T03:30:00.000Z");
    // 09:00 in Tokyo is exactly the starting instant, so the next one is a day later.
    expect(nineAm("Asia/Tokyo")).toBe("2024-01-16T00:00:00.000Z");
    expect(nineAm("Australia/Sydney")).toBe("2024-01-15T22:00:00.000Z");
  });

  it("crosses the half-hour fall-back of Australia/Lord_Howe, where cron-parser alone gives up", () => {
    // 2020-04-05 02:00 LHDT (+11) became 01:30 LHST (+10:30); 02:00 LHST is 15:30 UTC.
    const sundaysAt2InApril = new ZonedSchedule("* * 2 * 4 0", "Australia/Lord_Howe");
    expect(iso(sundaysAt2InApril.next(at("2020-01-01T00:00:00Z")))).toBe("2020-04-04T15:30:00.000Z");
    expect(take(new ZonedSchedule("0 0 2 * 4 0", "Australia/Lord_Howe").upcoming(at("2020-03-01T00:00:00Z")), 2)).toEqual([
      "2020-04-04T15:30:00.000Z",
      "2020-04-11T15:30:00.000Z",
    ]);
  });

  it("finds the 29th of February", () => {
    expect(iso(ZonedSchedule.parse("0 0 29 2 *").next(at("2024-03-01T00:00:00Z")))).toBe("2028-02-29T00:00:00.000Z");
    // In a zone with daylight saving, across the 40 offset changes of 20 years, both ways.
    const leapDays = ["2004-02-28T23:00:00.000Z", "2008-02-28T23:00:00.000Z", "2012-02-28T23:00:00.000Z", "2016-02-28T23:00:00.000Z", "2020-02-28T23:00:00.000Z"];
    const berlin = ZonedSchedule.parse("0 0 29 2 *[Europe/Berlin]");
    expect(take(berlin.upcoming(at("2001-03-01T00:00:00Z")), 5)).toEqual(leapDays);
    expect(take(berlin.preceding(at("2021-03-01T00:00:00Z")), 5)).toEqual([...leapDays].reverse());
  });

  it("walks backwards with preceding()", () => {
    expect(take(ZonedSchedule.parse("0 0 * * * *").preceding(at("2024-06-05T12:00:00Z")), 2)).toEqual([
      "2024-06-05T11:00:00.000Z",
      "2024-06-05T10:00:00.000Z",
    ]);
  });
});

// A reference matcher for generated cron fields, written independently of cron-parser.
type FieldValues = number[] | "*";
const fieldArbitrary = (min: number, max: number) =>
  fc.oneof(
    fc.constant<{ text: string; values: FieldValues }>({ text: "*", values: "*" }),
    fc.uniqueArray(fc.integer({ min, max }), { minLength: 1, maxLength: 4 }).map((values) => ({ text: values.join(","), values: values as FieldValues })),
    fc.tuple(fc.integer({ min, max }), fc.integer({ min, max }), fc.integer({ min: 1, max: 5 })).map(([a, b, step]) => {
      const [low, high] = a <= b ? [a, b] : [b, a];
      const values: number[] = [];
      for (let value = low; value <= high; value += step) values.push(value);
      return { text: `${low}-${high}/${step}`, values: values as FieldValues };
    }),
  );
const zones = ["UTC", "Europe/Berlin", "America/New_York", "Asia/Kolkata", "Australia/Lord_Howe", "America/Santiago"];

function wallClock(instant: Date, timeZone: string) {
  const parts = new Intl.DateTimeFormat("en-US", {
    timeZone, hourCycle: "h23", year: "numeric", month: "numeric", day: "numeric",
    hour: "numeric", minute: "numeric", second: "numeric", weekday: "short",
  }).formatToParts(instant);
  const part = (type: string) => parts.find((p) => p.type === type)!.value;
  return {
    second: Number(part("second")), minute: Number(part("minute")), hour: Number(part("hour")),
    day: Number(part("day")), month: Number(part("month")),
    weekday: ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"].indexOf(part("weekday")),
  };
}

function offsetMs(instant: Date, timeZone: string): number {
  const wall = wallClock(instant, timeZone);
  const year = Number(new Intl.DateTimeFormat("en-US", { timeZone, year: "numeric" }).format(instant));
  return Date.UTC(year, wall.month - 1, wall.day, wall.hour, wall.minute, wall.second) - Math.floor(instant.getTime() / 1000) * 1000;
}

describe("ZonedSchedule properties", () => {
  const cronArbitrary = fc.record({
    second: fieldArbitrary(0, 59),
    minute: fieldArbitrary(0, 59),
    hour: fieldArbitrary(0, 23),
    dayOfMonth: fieldArbitrary(1, 28),
    month: fieldArbitrary(1, 12),
    dayOfWeek: fieldArbitrary(0, 6),
  });
  const instantArbitrary = fc.integer({ min: Date.UTC(2020, 0, 1), max: Date.UTC(2030, 0, 1) }).map((ms) => new Date(ms));

  it("next() is strictly after its argument, matches every field in the zone's wall clock, and nothing matches in between", () => {
    fc.assert(
      fc.property(cronArbitrary, fc.constantFrom(...zones), instantArbitrary, fc.double({ min: 0, max: 1, noNaN: true }), (fields, zone, after, fraction) => {
        const cron = [fields.second, fields.minute, fields.hour, fields.dayOfMonth, fields.month, fields.dayOfWeek].map((f) => f.text).join(" ");
        const schedule = new ZonedSchedule(cron, zone);
        const next = schedule.next(after);
        expect(next).not.toBeNull();
        expect(next!.getTime()).toBeGreaterThan(after.getTime());
        const wall = wallClock(next!, zone);
        const has = (field: { values: FieldValues }, value: number) => field.values === "*" || field.values.includes(value);
        // A time skipped by a spring-forward gap fires shifted forward, so its wall clock differs.
        const shiftedByGap = offsetMs(new Date(next!.getTime() - 3 * 3_600_000), zone) !== offsetMs(next!, zone);
        if (!shiftedByGap) {
          expect(has(fields.second, wall.second)).toBe(true);
          expect(has(fields.minute, wall.minute)).toBe(true);
          expect(has(fields.hour, wall.hour)).toBe(true);
        }
        expect(has(fields.month, wall.month)).toBe(true);
        const domRestricted = fields.dayOfMonth.values !== "*";
        const dowRestricted = fields.dayOfWeek.values !== "*";
        const dayMatches = domRestricted && dowRestricted
          ? has(fields.dayOfMonth, wall.day) || has(fields.dayOfWeek, wall.weekday)
          : has(fields.dayOfMonth, wall.day) && has(fields.dayOfWeek, wall.weekday);
        expect(dayMatches).toBe(true);
        // Any instant between the argument and the result leads to the same result.
        const between = new Date(after.getTime() + Math.floor((next!.getTime() - after.getTime() - 1) * fraction));
        expect(iso(schedule.next(between))).toBe(iso(next));
      }),
      { numRuns: 300 },
    );
  });

  it("preceding() gives the fires of upcoming() in reverse", () => {
    fc.assert(
      fc.property(cronArbitrary, fc.constantFrom(...zones), instantArbitrary, (fields, zone, after) => {
        const cron = [fields.second, fields.minute, fields.hour, fields.dayOfMonth, fields.month, fields.dayOfWeek].map((f) => f.text).join(" ");
        const schedule = new ZonedSchedule(cron, zone);
        const forwards = take(schedule.upcoming(after), 5);
        const last = new Date(new Date(forwards[4]!).getTime() + 1);
        expect(take(schedule.preceding(last), 5).reverse()).toEqual(forwards);
      }),
      { numRuns: 150 },
    );
  });

  it("upcoming() is strictly increasing and agrees with next()", () => {
    fc.assert(
      fc.property(cronArbitrary, fc.constantFrom(...zones), instantArbitrary, (fields, zone, after) => {
        const cron = [fields.second, fields.minute, fields.hour, fields.dayOfMonth, fields.month, fields.dayOfWeek].map((f) => f.text).join(" ");
        const schedule = new ZonedSchedule(cron, zone);
        const iterator = schedule.upcoming(after);
        let previous = after;
        for (let index = 0; index < 5; index += 1) {
          const value = iterator.next().value!;
          expect(value.getTime()).toBeGreaterThan(previous.getTime());
          expect(iso(schedule.next(previous))).toBe(iso(value));
          previous = value;
        }
      }),
      { numRuns: 150 },
    );
  });
});
