import type { FollowUpTask } from "./records.js";

/**
 * Whether a storage writes `followUp` already claimed: it asked to be ({@link FollowUpTask.claim})
 * and nothing about it needs the claim's checks: it is due at once and has no concurrency key
 * (whose one-at-a-time rule a claim enforces) and no dedupe key (which may skip the write).
 */
export function isClaimedOnWrite(followUp: FollowUpTask): boolean {
  return followUp.claim === true && followUp.task.delayMs === 0 && followUp.task.concurrencyKey === null && followUp.task.dedupeKey === null;
}
