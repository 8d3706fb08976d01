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

  it("is unaffected in UTC", () => {
    expect(firesBetween("0 30 2 * * *", "2024-03-10T00:00:00Z", "2024-03-12T00:00:00Z")).toEqual([
      "2024-03-10T02:30:00.000Z",
      "2024-03-11T02:30:00.000Z",
    ]);
  });
});
