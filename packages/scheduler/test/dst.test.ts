import { describe, expect, it } from "vitest";
import { ZonedSchedule } from "@underway/scheduler";

/** Every fire time in [from, to), as ISO strings. */
function firesBetween(schedule: string, from: string, to: string): string[] {
  const end = new Date(to).getTime();
  const fires: string[] = [];
  for (const fireAt of ZonedSchedule.parse(schedule).upcoming(new Date(new Date(from).getTime() - 1))) {
    if (fireAt.getTime() >= end) break;
    fires.push(fireAt.toISOString());
  }
  return fires;
}

// 2024 transitions:
// America/New_York  gap  10 Mar 02:00 EST -> 03:00 EDT (07:00Z); fold 3 Nov 02:00 EDT -> 01:00 EST (06:00Z)
// Europe/Berlin     gap  31 Mar 02:00 CET -> 03:00 CEST (01:00Z); fold 27 Oct 03:00 CEST -> 02:00 CET (01:00Z)
describe("daylight saving time", () => {
  describe("America/New_York", () => {
    it("fires a time inside the spring-forward gap once, shifted forward by the gap (02:30 -> 03:30 EDT)", () => {
      expect(firesBetween("0 30 2 * * *[America/New_York]", "2024-03-09T05:00:00Z", "2024-03-12T04:00:00Z")).toEqual([
        "2024-03-09T07:30:00.000Z", // 02:30 EST
        "2024-03-10T07:30:00.000Z", // 03:30 EDT: 02:30 does not exist that day
        "2024-03-11T06:30:00.000Z", // 02:30 EDT
      ]);
    });

    it("fires a time inside the fall-back fold once, at its first (EDT) instant", () => {
      expect(firesBetween("0 30 1 * * *[America/New_York]", "2024-11-02T04:00:00Z", "2024-11-05T05:00:00Z")).toEqual([
        "2024-11-02T05:30:00.000Z", // 01:30 EDT
        "2024-11-03T05:30:00.000Z", // 01:30 EDT, not again at 01:30 EST (06:30Z)
        "2024-11-04T06:30:00.000Z", // 01:30 EST
      ]);
    });

    it("fires each wall-clock hour once across the fold, so the repeated 01:00 fires only in EDT", () => {
      expect(firesBetween("@hourly[America/New_York]", "2024-11-03T03:30:00Z", "2024-11-03T08:30:00Z")).toEqual([
        "2024-11-03T04:00:00.000Z", // 00:00 EDT
        "2024-11-03T05:00:00.000Z", // 01:00 EDT
        "2024-11-03T07:00:00.000Z", // 02:00 EST (01:00 EST at 06:00Z is the repeat)
        "2024-11-03T08:00:00.000Z", // 03:00 EST
      ]);
    });

    it("merges a gap time with the instant it shifts onto", () => {
      expect(firesBetween("0 0 2,3 * * *[America/New_York]", "2024-03-10T05:00:00Z", "2024-03-11T05:00:00Z")).toEqual([
        "2024-03-10T07:00:00.000Z", // 02:00 (shifted) and 03:00 EDT are the same instant: one fire
      ]);
      expect(firesBetween("0 */20 2 * * *[America/New_York]", "2024-03-10T05:00:00Z", "2024-03-11T05:00:00Z")).toEqual([
        "2024-03-10T07:00:00.000Z",
        "2024-03-10T07:20:00.000Z",
        "2024-03-10T07:40:00.000Z",
      ]);
    });

    it("fires exactly once per local day all year for times in the gap and in the fold", () => {
      for (const time of ["0 30 2", "0 30 1", "0 0 2", "0 59 1"]) {
        const fires = firesBetween(`${time} * * *[America/New_York]`, "2024-01-01T05:00:00Z", "2025-01-01T05:00:00Z");
        expect(fires, time).toHaveLength(366);
        expect(new Set(fires).size, time).toBe(366);
      }
    });

    it("fires every wall-clock hour of the year once (8 784 hours, minus the one merged in the gap)", () => {
      const fires = firesBetween("0 0 * * * *[America/New_York]", "2024-01-01T05:00:00Z", "2025-01-01T05:00:00Z");
      expect(fires).toHaveLength(8_783);
    });
  });

  describe("Europe/Berlin", () => {
    it("fires a time inside the spring-forward gap once, shifted forward by the gap (02:30 -> 03:30 CEST)", () => {
      expect(firesBetween("0 30 2 * * *[Europe/Berlin]", "2024-03-29T23:00:00Z", "2024-04-01T22:00:00Z")).toEqual([
        "2024-03-30T01:30:00.000Z", // 02:30 CET
        "2024-03-31T01:30:00.000Z", // 03:30 CEST
        "2024-04-01T00:30:00.000Z", // 02:30 CEST
      ]);
    });

    it("fires a time inside the fall-back fold once, at its first (CEST) instant", () => {
      expect(firesBetween("0 30 2 * * *[Europe/Berlin]", "2024-10-25T22:00:00Z", "2024-10-28T23:00:00Z")).toEqual([
        "2024-10-26T00:30:00.000Z", // 02:30 CEST
        "2024-10-27T00:30:00.000Z", // 02:30 CEST, not again at 02:30 CET (01:30Z)
        "2024-10-28T01:30:00.000Z", // 02:30 CET
      ]);
    });

    it("skips the repeated half hours of the fold for a half-hourly schedule", () => {
      expect(firesBetween("*/30 * * * *[Europe/Berlin]", "2024-10-26T23:30:00Z", "2024-10-27T02:01:00Z")).toEqual([
        "2024-10-26T23:30:00.000Z", // 01:30 CEST
        "2024-10-27T00:00:00.000Z", // 02:00 CEST
        "2024-10-27T00:30:00.000Z", // 02:30 CEST
        "2024-10-27T02:00:00.000Z", // 03:00 CET (02:00 and 02:30 CET repeat)
      ]);
    });

    it("fires exactly once per local day all year for times in the gap and in the fold", () => {
      for (const time of ["0 30 2", "0 0 2", "59 59 2"]) {
        const fires = firesBetween(`${time} * * *[Europe/Berlin]`, "2023-12-31T23:00:00Z", "2024-12-31T23:00:00Z");
        expect(fires, time).toHaveLength(366);
        expect(new Set(fires).size, time).toBe(366);
      }
    });
  });

  // 2020 transitions of Australia/Lord_Howe, which moves by half an hour:
  // gap  4 Oct 02:00 LHST (+10:30) -> 02:30 LHDT (+11) (3 Oct 15:30Z); fold 5 Apr 02:00 LHDT -> 01:30 LHST (4 Apr 15:00Z)
  describe("Australia/Lord_Howe", () => {
    it("fires the times that follow the half-hour gap", () => {
      expect(firesBetween("*/10 * * * *[Australia/Lord_Howe]", "2020-10-03T15:05:00Z", "2020-10-03T16:05:00Z")).toEqual([
        "2020-10-03T15:10:00.000Z", // 01:40 LHST
        "2020-10-03T15:20:00.000Z", // 01:50 LHST
        "2020-10-03T15:30:00.000Z", // 02:30 LHDT (02:00 shifted onto it)
        "2020-10-03T15:40:00.000Z", // 02:40 LHDT (02:10 shifted onto it)
        "2020-10-03T15:50:00.000Z", // 02:50 LHDT (02:20 shifted onto it)
        "2020-10-03T16:00:00.000Z", // 03:00 LHDT
      ]);
    });

    it("fires a time inside the half-hour gap once, shifted forward by the gap (02:15 -> 02:45 LHDT)", () => {
      expect(firesBetween("15 2 * 10 0[Australia/Lord_Howe]", "2020-10-01T00:00:00Z", "2020-10-12T00:00:00Z")).toEqual([
        "2020-10-03T15:45:00.000Z", // Sunday 4 Oct, 02:45 LHDT
        "2020-10-10T15:15:00.000Z", // Sunday 11 Oct, 02:15 LHDT
      ]);
      expect(firesBetween("5,15,25,35 2 * * *[Australia/Lord_Howe]", "2020-10-03T12:00:00Z", "2020-10-04T16:00:00Z")).toEqual([
        "2020-10-03T15:35:00.000Z", // 02:35 LHDT, with 02:05 shifted onto it
        "2020-10-03T15:45:00.000Z", // 02:15 shifted
        "2020-10-03T15:55:00.000Z", // 02:25 shifted
        "2020-10-04T15:05:00.000Z",
        "2020-10-04T15:15:00.000Z",
        "2020-10-04T15:25:00.000Z",
        "2020-10-04T15:35:00.000Z",
      ]);
    });

    it("fires the repeated half hour of the fold once, at its first instant", () => {
      expect(firesBetween("*/15 * * * *[Australia/Lord_Howe]", "2020-04-04T14:40:00Z", "2020-04-04T15:50:00Z")).toEqual([
        "2020-04-04T14:45:00.000Z", // 01:45 LHDT; 01:30 and 01:45 LHST (15:00Z, 15:15Z) repeat
        "2020-04-04T15:30:00.000Z", // 02:00 LHST
        "2020-04-04T15:45:00.000Z", // 02:15 LHST
      ]);
    });
  });

  it("shifts a midnight that does not exist (America/Santiago, 8 Sep 2024 00:00 -> 01:00)", () => {
    expect(firesBetween("0 0 * * *[America/Santiago]", "2024-09-06T12:00:00Z", "2024-09-10T00:00:00Z")).toEqual([
      "2024-09-07T04:00:00.000Z",
      "2024-09-08T04:00:00.000Z", // 01:00 -03
      "2024-09-09T03:00:00.000Z",
    ]);
  });

  it("fires the times of a skipped day once each, on the next day (Pacific/Apia, 30 Dec 2011)", () => {
    expect(firesBetween("0 0 12 * * *[Pacific/Apia]", "2011-12-28T12:00:00Z", "2012-01-01T12:00:00Z")).toEqual([
      "2011-12-28T22:00:00.000Z", // 28 Dec 12:00 (-10)
      "2011-12-29T22:00:00.000Z", // 29 Dec 12:00 (-10)
      "2011-12-30T22:00:00.000Z", // 31 Dec 12:00 (+14); 30 Dec 12:00 never happened and shifts onto it
      "2011-12-31T22:00:00.000Z", // 1 Jan 12:00 (+14)
    ]);
  });

  it("walks across a transition at a quarter to the hour, from every hour around it (Pacific/Chatham, 29 Sep 2024 02:45 -> 03:45)", () => {
    // +12:45 before, +13:45 after: 03:00 on the 29th never happens and shifts to 04:00.
    const fires = ["2024-09-25T14:15:00.000Z", "2024-09-26T14:15:00.000Z", "2024-09-27T14:15:00.000Z", "2024-09-28T14:15:00.000Z", "2024-09-29T13:15:00.000Z", "2024-09-30T13:15:00.000Z"];
    expect(firesBetween("0 3 * * *[Pacific/Chatham]", "2024-09-25T12:00:00Z", "2024-09-30T14:00:00Z")).toEqual(fires);
    const schedule = new ZonedSchedule("0 3 * * *", "Pacific/Chatham");
    for (let at = Date.parse("2024-09-27T00:00:00Z"); at <= Date.parse("2024-09-30T12:00:00Z"); at += 3_600_000) {
      const before = fires.filter((fire) => Date.parse(fire) < at);
      const after = fires.filter((fire) => Date.parse(fire) > at);
      const walkedBack = schedule.preceding(new Date(at));
      expect([walkedBack.next().value?.toISOString(), walkedBack.next().value?.toISOString()], new Date(at).toISOString()).toEqual(before.slice(-2).reverse());
      expect(schedule.next(new Date(at))?.toISOString(), new Date(at).toISOString()).toBe(after[0]);
    }
  });

  it("gives the same fires walking backwards as forwards across transitions", () => {
    const spans: Array<[string, string, string]> = [
      ["Australia/Lord_Howe", "2020-10-02T12:00:00Z", "2020-10-05T12:00:00Z"],
      ["Australia/Lord_Howe", "2020-04-03T12:00:00Z", "2020-04-06T12:00:00Z"],
      ["Europe/Berlin", "2024-03-30T12:00:00Z", "2024-04-01T12:00:00Z"],
      ["America/New_York", "2024-11-02T12:00:00Z", "2024-11-04T12:00:00Z"],
      ["America/Santiago", "2024-09-06T12:00:00Z", "2024-09-09T12:00:00Z"],
      ["Pacific/Apia", "2011-12-28T12:00:00Z", "2012-01-01T12:00:00Z"],
    ];
    for (const cron of ["*/10 * * * *", "5,15,25,35 0-3 * * *", "0 0 * * *", "30 1,2 * * *", "0 12 * * *"]) {
      for (const [zone, from, to] of spans) {
        const schedule = new ZonedSchedule(cron, zone);
        const forwards = firesBetween(`${cron}[${zone}]`, from, to);
        const backwards: string[] = [];
        for (const fireAt of schedule.preceding(new Date(to))) {
          if (fireAt.getTime() < new Date(from).getTime()) break;
          backwards.push(fireAt.toISOString());
        }
        expect(backwards.reverse(), `${cron} in ${zone}`).toEqual(forwards);
        expect(new Set(forwards).size, `${cron} in ${zone}`).toBe(forwards.length);
      }
    }
  });

  it("fires every minute-of-the-clock that happens once, at the instant it happens, around transitions", () => {
    const wallMinute = (instant: number, zone: string) => {
      const parts = new Intl.DateTimeFormat("en-US", { timeZone: zone, hourCycle: "h23", hour: "numeric", minute: "numeric" }).formatToParts(new Date(instant));
      return { hour: Number(parts.find((p) => p.type === "hour")!.value), minute: Number(parts.find((p) => p.type === "minute")!.value) };
    };
    const spans: Array<[string, string, string]> = [
      ["Australia/Lord_Howe", "2020-10-03T13:00:00Z", "2020-10-03T18:00:00Z"],
      ["Australia/Lord_Howe", "2020-04-04T13:00:00Z", "2020-04-04T18:00:00Z"],
      ["Europe/Berlin", "2024-03-30T23:00:00Z", "2024-03-31T04:00:00Z"],
      ["America/Santiago", "2024-09-08T01:00:00Z", "2024-09-08T06:00:00Z"],
    ];
    for (const cron of ["*/5 * * * *", "5,15,25,35,45 * * * *", "0,30 * * * *"]) {
      const minutes = cron.split(" ")[0]!.startsWith("*/5") ? (m: number) => m % 5 === 0 : (m: number) => cron.split(" ")[0]!.split(",").map(Number).includes(m);
      for (const [zone, from, to] of spans) {
        const fires = new Set(firesBetween(`${cron}[${zone}]`, from, to));
        const seen = new Set<string>();
        for (let instant = new Date(from).getTime(); instant < new Date(to).getTime(); instant += 60_000) {
          const { hour, minute } = wallMinute(instant, zone);
          const wall = `${hour}:${minute}`;
          const firstTime = !seen.has(wall);
          seen.add(wall);
          if (minutes(minute) && firstTime) expect(fires.has(new Date(instant).toISOString()), `${wall} at ${new Date(instant).toISOString()} for ${cron} in ${zone}`).toBe(true);
        }
      }
    }
  });

  it("is unaffected in UTC", () => {
    expect(firesBetween("0 30 2 * * *", "2024-03-10T00:00:00Z", "2024-03-12T00:00:00Z")).toEqual([
      "2024-03-10T02:30:00.000Z",
      "2024-03-11T02:30:00.000Z",
    ]);
  });
});
