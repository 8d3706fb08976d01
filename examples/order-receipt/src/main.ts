// Order receipts: two dependent steps. If emailing fails, only the email step is retried; the
// receipt is not generated again.
import pg from "pg";
import { Job, To } from "@underway/job";
import { PgStorage, openEmbeddedPostgres, runMigrations } from "@underway/queue-pg";

type GenerateReceipt = { orderId: number }; // the order we want a receipt for
type EmailReceipt = { receiptKey: string }; // an object-store key of the receipt PDF

const db = process.env.DATABASE_URL ? new pg.Pool({ connectionString: process.env.DATABASE_URL }) : await openEmbeddedPostgres();
await runMigrations(db);

let emailAttempts = 0;
const job = await Job.builder()
  .step(async (_cx, { orderId }: GenerateReceipt) => {
    // Use the order id to build a receipt PDF, then store it in an object store...
    const receiptKey = `receipts_bucket/${orderId}-receipt.pdf`;
    console.log(`Generated ${receiptKey}`);
    // ...and go on to the next step with the key as its input.
    return To.next({ receiptKey });
  })
  .step(async (cx, { receiptKey }: EmailReceipt) => {
    emailAttempts += 1;
    // The first attempt meets a flaky email service: this step alone is retried.
    if (emailAttempts === 1) throw new Error("email service unavailable");
    console.log(`Emailing receipt for ${receiptKey} (attempt ${cx.attempt})`);
    return To.done({ emailed: receiptKey });
  })
  .retryPolicy({ maxAttempts: 5, initialIntervalMs: 200 })
  .name("order-receipt")
  .storage(new PgStorage(db))
  .build();

const enqueued = await job.enqueue({ orderId: 42 });
const handle = job.start();
const result = await enqueued.result({ timeoutMs: 30_000 });
const status = await enqueued.status();
console.log(`Result: ${JSON.stringify(result)}`);
for (const step of status.steps) {
  console.log(`step ${step.stepIndex}: ${step.state} after ${step.attempts.length} attempt(s)${step.errors.length ? ` (errors: ${step.errors.join("; ")})` : ""}`);
}

await handle.shutdown();
await ("end" in db ? db.end() : db.close());
