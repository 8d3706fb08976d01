import { sqlStatement, type SqlStatement } from "../drivers/sql-statement.js";
import { isRunning, NOW } from "./sql-fragments.js";

/**
 * Values: `$1` now, `$2` queue, `$3` task id, `$4` attempt. Rows: `{ lease_expires_at,
 * cancel_requested }`, none when fenced.
 *
 * Why it is correct: fenced on `in_progress` and the attempt number, so a stale worker cannot
 * extend the lease of the attempt that replaced it. It runs outside the attempt's transaction, so
 * the new lease is visible at once.
 */
export function heartbeatStatement(schema: string): SqlStatement {
  return sqlStatement(`
    update ${schema}.task t
    set lease_expires_at = ${NOW} + t.heartbeat * 3, last_heartbeat_at = ${NOW}, updated_at = ${NOW}
    where t.task_queue_name = $2 and t.id = $3::uuid and ${isRunning("t")} and t.current_attempt = $4
    returning t.lease_expires_at, t.cancel_requested_at is not null as cancel_requested`);
}
