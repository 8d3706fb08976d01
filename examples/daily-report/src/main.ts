// Daily reports: a job on a zoned cron schedule. Any number of processes may run it; one leads
// the schedule, the others stand by, and no occurrence is ever enqueued twice.
import pg from "pg";
import { Job, To } from "@underway/job";
import { PgStorage, openEmbeddedPostgres, runMigrations } from "@underway/queue-pg";
import { ZonedSchedule } from "@underway/scheduler";

type DailyReport = { report: string };

const db = process.env.DATABASE_URL ? new pg.Pool({ connectionString: process.env.DATABASE_URL }) : await openEmbeddedPostgres();
await runMigrations(db);

const generated: string[] = [];
const job = await Job.builder()
  .step(async (cx, { report }: DailyReport) => {
    // Here we would generate and store the report.
    generated.push(cx.jobId);
    console.log(`Generating the ${report} report (run ${cx.jobId})`);
    return To.done();
  })
  .name("daily-report")
  // One run per report at a time: an occurrence that comes while the previous run of the same
  // report is still pending or running starts nothing (the scheduler reports it as skipped).
  .dedupeKey(({ report }) => `report:${report}`)
  .storage(new PgStorage(db))
  .build();

// The schedule this example is about: every day at midnight in Los Angeles.
const daily = ZonedSchedule.parse("@daily[America/Los_Angeles]");
await job.schedule(daily, { report: "daily" });
console.log(`Scheduled ${daily}; next fire at ${daily.next()?.toISOString()}`);

// A day is long for a demo: switch to every second for a moment to watch fires happen.
await job.schedule(ZonedSchedule.parse("* * * * * *[America/Los_Angeles]"), { report: "demo" });
const handle = job.start();
const deadline = Date.now() + 20_000;
while (generated.length < 2 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 100));
await handle.shutdown();
if (generated.length < 2) throw new Error("the schedule did not fire twice within 20 s");
console.log(`${generated.length} scheduled runs, each with its own id: ${new Set(generated).size === generated.length}`);

// Back to the daily schedule.
await job.schedule(daily, { report: "daily" });
await ("end" in db ? db.end() : db.close());
