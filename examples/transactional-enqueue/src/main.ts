// Transactional enqueue: the application's own write and the enqueue of a job commit together,
// or neither happens. A rolled-back sign-up sends no email.
import pg from "pg";
import { Job, To } from "@underway/job";
import { PgStorage, openEmbeddedPostgres, runMigrations, type PgQueryable } from "@underway/queue-pg";

type WelcomeEmail = { email: string };

const db = process.env.DATABASE_URL ? new pg.Pool({ connectionString: process.env.DATABASE_URL }) : await openEmbeddedPostgres();
await runMigrations(db);
const sql: PgQueryable = db; // both drivers speak node-postgres's query(text, params)
await sql.query("create table if not exists signup (email text primary key, created_at timestamptz not null default now())");
await sql.query("truncate signup");

// Runs `body` in one transaction on either driver.
async function inTransaction<T>(body: (tx: PgQueryable) => Promise<T>): Promise<T> {
  if (!(db instanceof pg.Pool)) return db.transaction(body);
  const client = await db.connect();
  try {
    await client.query("begin");
    const result = await body(client);
    await client.query("commit");
    return result;
  } catch (error) {
    await client.query("rollback");
    throw error;
  } finally {
    client.release();
  }
}

const emailed: string[] = [];
const job = await Job.builder()
  .step(async (_cx, { email }: WelcomeEmail) => {
    emailed.push(email);
    console.log(`Sending welcome email to ${email}`);
    return To.done();
  })
  .name("signup-welcome")
  .storage(new PgStorage(db))
  .build();

// 1. Committed: the sign-up row and the job run appear together.
const committed = await inTransaction(async (tx) => {
  await tx.query("insert into signup (email) values ($1)", ["ada@example.com"]);
  return job.enqueue({ email: "ada@example.com" }, { tx });
});

// 2. Rolled back: the sign-up fails after the enqueue, so neither the row nor the run exists.
const rolledBack = await inTransaction(async (tx) => {
  await tx.query("insert into signup (email) values ($1)", ["bob@example.com"]);
  const run = await job.enqueue({ email: "bob@example.com" }, { tx });
  throw Object.assign(new Error("payment declined"), { run });
}).catch((error: Error & { run: { id: string } }) => {
  console.log(`Sign-up of bob@example.com rolled back (${error.message})`);
  return job.get(error.run.id);
});

const handle = job.start();
await committed.result({ timeoutMs: 30_000 });
await handle.shutdown();

const signups: { rows: Array<{ email: string }> } = await sql.query("select email from signup order by email");
const rolledBackSteps = (await rolledBack.status()).steps.length;
console.log(`Sign-ups: ${signups.rows.map((row) => row.email).join(", ")}; emails sent: ${emailed.join(", ")}; rolled-back run rows: ${rolledBackSteps}`);
if (emailed.join() !== "ada@example.com" || signups.rows.length !== 1 || rolledBackSteps !== 0) {
  throw new Error("transactional enqueue did not hold");
}
await ("end" in db ? db.end() : db.close());
