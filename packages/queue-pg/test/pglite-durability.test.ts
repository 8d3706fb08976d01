import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createPgliteStorage } from "@underway/queue-pg/testing";
import { afterAll, expect, it } from "vitest";
import { newTask } from "./support/new-task.js";

const dataDir = mkdtempSync(join(tmpdir(), "underway-pglite-"));
afterAll(() => rmSync(dataDir, { recursive: true, force: true }));

it("keeps tasks, attempts and schedules in a data directory across close and reopen", async () => {
  const task = newTask({ durable: true });
  const first = await createPgliteStorage({ dataDir });
  await first.storage.queueUpsert({ queueName: "durable" });
  await first.storage.taskEnqueue({ queueName: "durable", tasks: [task, newTask({ second: true })] });
  const [claimed] = await first.storage.taskClaim({ queueName: "durable", limit: 1 });
  await first.storage.taskComplete({ queueName: "durable", taskId: claimed!.id, attempt: 1, output: { kept: true } });
  await first.storage.scheduleUpsert({ queueName: "durable", cron: "@daily", timeZone: "UTC", input: {} });
  await first.close();

  const reopened = await createPgliteStorage({ dataDir });
  try {
    expect(await reopened.storage.taskGet({ taskId: task.id })).toMatchObject({ state: "succeeded", output: { kept: true } });
    expect(await reopened.storage.taskAttempts({ taskId: task.id })).toHaveLength(1);
    expect((await reopened.storage.taskClaim({ queueName: "durable", limit: 5 })).map((claimedTask) => claimedTask.input)).toEqual([{ second: true }]);
    expect(await reopened.storage.scheduleGet({ queueName: "durable" })).toMatchObject({ cron: "@daily", timeZone: "UTC" });
  } finally {
    await reopened.close();
  }
});
