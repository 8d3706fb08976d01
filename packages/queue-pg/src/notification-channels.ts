import { createHash } from "node:crypto";

/** The NOTIFY channels of one schema. */
export interface NotificationChannels {
  /** Payload: the queue name. Sent at commit of any write that makes tasks pending. */
  taskAvailable: string;
  /** Payload: the queue name. Postgres folds duplicates per transaction, so it is coalesced. */
  taskFinished: string;
  /** Payload: JSON `{ "queueName", "taskId" }`. */
  taskCancelRequested: string;
  /** Payload: JSON `{ "queueName": string | null }`; null means every queue. */
  shutdown: string;
}

// Channel names are identifiers (at most 63 bytes); a long schema name is shortened with a hash
// so every channel still names its schema unambiguously.
function channelPrefix(schema: string): string {
  if (schema.length <= 40) return schema;
  const digest = createHash("sha1").update(schema).digest("hex").slice(0, 8);
  return `${schema.slice(0, 31)}_${digest}`;
}

/** The channels of `schema`. */
export function notificationChannels(schema: string): NotificationChannels {
  const prefix = channelPrefix(schema);
  return {
    taskAvailable: `${prefix}_task_available`,
    taskFinished: `${prefix}_task_finished`,
    taskCancelRequested: `${prefix}_task_cancel`,
    shutdown: `${prefix}_shutdown`,
  };
}
