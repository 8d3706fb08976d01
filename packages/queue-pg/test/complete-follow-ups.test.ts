import { createTestDatabase, type TestDatabase } from "@underway/queue-pg/testing";
import { afterAll, beforeAll, expect, it } from "vitest";
import { newTask } from "./support/new-task.js";

let database: TestDatabase;
beforeAll(async () => {
  database = await createTestDatabase();
});
afterAll(() => database?.drop());

it("writes follow-ups that share their settings with each one's own input and correlation id, only for parents that won", async () => {
  const storage = database.storage;
  const parents = [newTask({ n: 1 }), newTask({ n: 2 }), newTask({ n: 3 })];
  await storage.taskEnqueue({ queueName: "parents", tasks: parents });
  const claimed = await storage.taskClaim({ queueName: "parents", limit: 3 });
  const inputs = [{ text: "naïve \"quoted\" \\ ,comma" }, [1, { nested: null }], "plain"];
  const followUps = parents.map((parent, index) => newTask(inputs[index]!, { correlationId: `run-${index}`, heartbeatMs: 5_000 }));
  const stale = claimed.find((task) => task.id === parents[1]!.id)!;
  const outcome = await storage.taskCompleteMany({
    attempts: parents.map((parent, index) => {
      const task = claimed.find((candidate) => candidate.id === parent.id)!;
      return {
        queueName: "parents",
        taskId: task.id,
        // The second parent presents a stale attempt number: fenced, so its follow-up is dropped.
        attempt: task === stale ? task.attempt + 1 : task.attempt,
        output: null,
        followUps: [{ queueName: "children", task: followUps[index]! }],
      };
    }),
  });
  expect(outcome.rejected).toEqual([stale.id]);
  const written = await Promise.all(followUps.map((task) => storage.taskGet({ taskId: task.id })));
  expect(written.map((record) => record?.input ?? null)).toEqual([inputs[0], null, inputs[2]]);
  expect(written[0]).toMatchObject({ queueName: "children", state: "pending", correlationId: "run-0", heartbeatMs: 5_000 });
  expect(written[2]).toMatchObject({ correlationId: "run-2" });
});

it("dates a completion inside a long transaction, and the lease of a follow-up it writes claimed, from the completion, not from the transaction's start", async () => {
  const storage = database.storage;
  const parent = newTask({ n: 1 }, { heartbeatMs: 100 });
  await storage.taskEnqueue({ queueName: "long-transaction", tasks: [parent] });
  const [claimed] = await storage.taskClaim({ queueName: "long-transaction", limit: 1 });
  const transaction = storage.transactionOpen();
  // The attempt's transaction begins, then the server spends 600 ms in it: twice the 300 ms lease.
  const began = await transaction.tx.query("select statement_timestamp() as at");
  await transaction.tx.query("select pg_sleep(0.6)");
  const followUp = newTask({ n: 2 }, { heartbeatMs: 100 });
  const outcome = await storage.taskComplete({
    queueName: "long-transaction",
    taskId: claimed!.id,
    attempt: claimed!.attempt,
    followUps: [{ queueName: "long-transaction", task: followUp, claim: true }],
    tx: transaction.tx,
  });
  await transaction.commit();
  const beganAt = (began.rows[0] as { at: Date }).at.getTime();
  const completed = await storage.taskGet({ taskId: claimed!.id });
  expect(completed!.completedAt!.getTime() - beganAt).toBeGreaterThanOrEqual(600);
  // The follow-up's lease starts with the completion, not 600 ms before it: it still has its three
  // heartbeats (300 ms) to run from the completion on. (The two times are read back through
  // different paths, each rounded to the millisecond: hence ±1 ms.)
  const [next] = outcome.claimedFollowUps;
  expect(next!.id).toBe(followUp.id);
  const leaseAfterCompletion = next!.leaseExpiresAt.getTime() - completed!.completedAt!.getTime();
  expect(leaseAfterCompletion).toBeGreaterThanOrEqual(299);
  expect(leaseAfterCompletion).toBeLessThanOrEqual(301);
});
