// Welcome emails: defer work out of the request path with a one-step job.
import pg from "pg";
import { Job, To } from "@underway/job";
import { PgStorage, openEmbeddedPostgres, runMigrations } from "@underway/queue-pg";

// This is the input we give the job when we enqueue it.
type WelcomeEmail = { userId: number; email: string; name: string };

// DATABASE_URL selects a Postgres server; without it the example runs on embedded Postgres.
const db = process.env.DATABASE_URL ? new pg.Pool({ connectionString: process.env.DATABASE_URL }) : await openEmbeddedPostgres();
await runMigrations(db);

const job = await Job.builder()
  .step(async (_cx, { userId, email, name }: WelcomeEmail) => {
    // Simulate sending an email.
    console.log(`Sending welcome email to ${name} <${email}> (user_id: ${userId})`);
    // Returning this marks the final step.
    return To.done();
  })
  .name("welcome-email")
  .storage(new PgStorage(db))
  .build();

// Enqueue a job run to be processed in the background.
const enqueued = await job.enqueue({ userId: 42, email: "ferris@example.com", name: "Ferris" });
console.log(`Enqueued job run ${enqueued.id}`);

// Start processing: a worker (and a scheduler) sharing one shutdown signal.
const handle = job.start();
await enqueued.result({ timeoutMs: 30_000 });
console.log(`Job run ${enqueued.id}: ${(await enqueued.status()).state}`);

await handle.shutdown();
await ("end" in db ? db.end() : db.close());
