// A worker written by hand on the storage contract of @underway/core, with @underway/queue-pg as
// the storage and nothing else (no @underway/worker): claim, run with heartbeats, then complete,
// retry with the policy's backoff, or fail into the dead-letter queue.
import pg from "pg";
import { FatalError, Queue, RetryPolicy, type ClaimedTask, type Task, type TaskContext } from "@underway/core";
import { PgStorage, openEmbeddedPostgres, runMigrations, type PgQueryable } from "@underway/queue-pg";

type SendInvoice = { invoiceId: string; email: string };

const db = process.env.DATABASE_URL ? new pg.Pool({ connectionString: process.env.DATABASE_URL }) : await openEmbeddedPostgres();
await runMigrations(db);
const storage = new PgStorage(db);

// A stand-in mail server: no mailbox at nowhere.example, and busy the first time for grace.
const busyOnceFor = new Set(["grace@example.com"]);
const sendInvoice: Task<SendInvoice, { sentTo: string }, PgQueryable> = {
  execute(_cx, { email }) {
    if (email.endsWith("@nowhere.example")) throw new Error("no such mailbox");
    if (busyOnceFor.delete(email)) throw new Error("mail server busy");
    return { sentTo: email };
  },
  retryPolicy: { maxAttempts: 3, initialIntervalMs: 100, maxIntervalMs: 1_000 },
  heartbeatMs: 1_000, // the lease lasts three heartbeats
};

const queue = await Queue.builder<SendInvoice>().name("send-invoice").deadLetterQueue("send-invoice-dlq").storage(storage).build();
const ids = await queue.enqueueMany(sendInvoice, [
  { invoiceId: "INV-1", email: "ada@example.com" },
  { invoiceId: "INV-2", email: "grace@example.com" },
  { invoiceId: "INV-3", email: "nobody@nowhere.example" },
]);
const finished = new Set<string>(); // ids of the tasks that reached a final state

/** Runs one claimed attempt and records its outcome; every record names the attempt (fencing). */
async function runAttempt(claimed: ClaimedTask): Promise<void> {
  const { id: taskId, queueName, attempt, correlationId } = claimed;
  const attemptRef = { queueName, taskId, attempt };
  const input = claimed.input as SendInvoice;
  const label = `${input.invoiceId} attempt ${attempt}`;
  // Heartbeats keep the lease; a failed heartbeat (the lease may be lost) or a cancel aborts the code.
  const abort = new AbortController();
  let lastHeartbeat: Promise<unknown> = Promise.resolve();
  const heartbeatTimer = setInterval(() => {
    lastHeartbeat = storage.taskHeartbeat(attemptRef).then(
      ({ cancelRequested }) => cancelRequested && abort.abort(new Error("cancel requested")),
      (error: unknown) => abort.abort(error),
    );
  }, claimed.heartbeatMs);
  const transaction = storage.transactionOpen(); // opens only if the code queries through cx.tx
  const context: TaskContext<PgQueryable> = { tx: transaction.tx, signal: abort.signal, taskId, attempt, queueName, correlationId,
    enqueueOnSuccess: () => Promise.reject(new Error("this worker writes no follow-ups")) };
  const result = await Promise.resolve()
    .then(() => sendInvoice.execute(context, input))
    .then((output) => ({ output }), (error: unknown) => ({ error }));
  try {
    if ("output" in result) {
      // The success joins the attempt's transaction, so the code's own writes commit with it.
      await storage.taskComplete({ ...attemptRef, output: result.output, tx: transaction.tx });
      await transaction.commit();
      console.log(`${label}: sent to ${result.output.sentTo}`);
      finished.add(taskId);
      return;
    }
    await transaction.rollback();
    const message = result.error instanceof Error ? result.error.message : String(result.error);
    const policy = RetryPolicy.from(claimed.retryPolicy); // the policy stored with the task
    if (!(result.error instanceof FatalError) && policy.allowsRetryAfter(attempt)) {
      const { state } = await storage.taskRetry({ ...attemptRef, errorMessage: message, delayMs: policy.delayMs(attempt) });
      console.log(`${label}: ${message}; ${state === "pending" ? "retrying" : state}`);
      if (state === "cancelled") finished.add(taskId); // a cancel request arrived while it ran
      return;
    }
    const { deadLetterQueueName } = await storage.taskFail({ ...attemptRef, errorMessage: message });
    console.log(`${label}: ${message}; failed for good, moved to ${deadLetterQueueName}`);
    finished.add(taskId);
  } finally {
    clearInterval(heartbeatTimer);
    await lastHeartbeat;
  }
}

// The loop: claim what is due and run it; when nothing is due, sleep until the storage announces
// work (task:available), the next retry comes due (taskNextRunAt), or a short poll passes.
const pollIntervalMs = 500;
let wakeUp = () => {};
const subscription = await storage.subscribe((event) => {
  if (event.type === "task:available" && event.queueName === queue.name) wakeUp();
});
while (!ids.every((id) => finished.has(id))) {
  const claimStartedAt = new Date();
  const claimed = await storage.taskClaim({ queueName: queue.name, limit: 10 });
  await Promise.all(claimed.map(runAttempt));
  if (claimed.length > 0) continue;
  const nextRunAt = await storage.taskNextRunAt({ queueName: queue.name, after: claimStartedAt });
  const sleepMs = Math.min(pollIntervalMs, nextRunAt ? nextRunAt.getTime() - Date.now() : pollIntervalMs);
  await new Promise<void>((resolve) => {
    const timer = setTimeout(resolve, Math.max(0, sleepMs));
    wakeUp = () => {
      clearTimeout(timer);
      resolve();
    };
  });
}
await subscription.close();

for (const id of ids) {
  const task = await queue.getTask(id);
  const errors = (await queue.getAttempts(id)).flatMap((attempt) => attempt.errorMessage ?? []);
  const { invoiceId } = task?.input as SendInvoice;
  console.log(`${invoiceId}: ${task?.state} in ${task?.queueName} after ${task?.attemptCount} attempt(s) (errors: ${errors.join(", ") || "none"})`);
}
await storage.close();
await ("end" in db ? db.end() : db.close());
