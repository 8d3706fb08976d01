// A custom worker on the lower stratum alone: @underway/core + @underway/queue-pg +
// @underway/worker, no job package. A task is a plain object; a worker runs it.
import pg from "pg";
import { FatalError, Queue, type Task } from "@underway/core";
import { PgStorage, openEmbeddedPostgres, runMigrations, type PgQueryable } from "@underway/queue-pg";
import { Worker } from "@underway/worker";

type ResizeImage = { imageId: string; width: number };

const db = process.env.DATABASE_URL ? new pg.Pool({ connectionString: process.env.DATABASE_URL }) : await openEmbeddedPostgres();
await runMigrations(db);
const storage = new PgStorage(db);

const resizeImage: Task<ResizeImage, { resized: string }, PgQueryable> = {
  async execute(cx, { imageId, width }) {
    if (width <= 0) throw new FatalError(`width must be positive, got ${width}`);
    // ... resize, honouring cx.signal for timeouts and cancels
    return { resized: `${imageId}@${width}w` };
  },
  timeoutMs: 10_000,
  retryPolicy: { maxAttempts: 3 },
  priority: ({ width }) => (width > 1000 ? 0 : 10), // small thumbnails first
};

const queue = await Queue.builder<ResizeImage>()
  .name("resize-image")
  .deadLetterQueue("resize-image-dlq")
  .storage(storage)
  .build();

const ids = await queue.enqueueMany(resizeImage, [
  { imageId: "cat.png", width: 200 },
  { imageId: "dog.png", width: 1600 },
  { imageId: "fish.png", width: 0 },
]);

const worker = new Worker(queue, resizeImage, { concurrency: 2 });
const settled = new Set<string>();
worker.on("task:succeeded", ({ taskId, output }) => {
  settled.add(taskId);
  console.log(`succeeded: ${JSON.stringify(output)}`);
});
worker.on("task:dead-lettered", ({ taskId, deadLetterQueueName }) => {
  settled.add(taskId);
  console.log(`failed for good and moved to ${deadLetterQueueName}`);
});
const running = worker.run();
while (settled.size < ids.length) await new Promise((resolve) => setTimeout(resolve, 50));
await worker.shutdown();
await running;

for (const id of ids) {
  const task = await queue.getTask(id);
  const attempts = await queue.getAttempts(id);
  console.log(`${id}: ${task?.state} in ${task?.queueName}; last error: ${attempts.at(-1)?.errorMessage ?? "none"}`);
}
await ("end" in db ? db.end() : db.close());
