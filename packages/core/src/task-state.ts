/**
 * The states of a task. `pending` → `in_progress` → one of the terminal states; a retry goes back
 * to `pending`. The names are the ones stored in `underway.task.state`.
 */
export const TASK_STATES = ["pending", "in_progress", "succeeded", "cancelled", "failed"] as const;

/** A task's state. */
export type TaskState = (typeof TASK_STATES)[number];

/** The states in which a task is finished and never runs again. */
export const FINISHED_TASK_STATES: ReadonlyArray<TaskState> = ["succeeded", "cancelled", "failed"];

/** The states of one attempt (one claim of a task). */
export type AttemptState = "in_progress" | "succeeded" | "failed" | "cancelled";

/** Whether a task in `state` is finished. */
export function isFinishedState(state: TaskState): boolean {
  return state === "succeeded" || state === "cancelled" || state === "failed";
}
