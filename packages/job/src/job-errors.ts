import { UnderwayError } from "@underway/core";

/** A job run ended in failure: one of its steps failed for good. */
export class JobFailedError extends UnderwayError {
  static override readonly code = "JOB_FAILED" as const;
  /** The run that failed. */
  readonly jobId: string;
  /** The step that failed for good, from 0. */
  readonly stepIndex: number;
  constructor(jobId: string, stepIndex: number, reason: string | null) {
    super("JOB_FAILED", `Job ${jobId} failed at step ${stepIndex}${reason ? `: ${reason}` : ""}`);
    this.jobId = jobId;
    this.stepIndex = stepIndex;
  }
}

/** A job run was cancelled before it finished. */
export class JobCancelledError extends UnderwayError {
  static override readonly code = "JOB_CANCELLED" as const;
  /** The run that was cancelled. */
  readonly jobId: string;
  constructor(jobId: string) {
    super("JOB_CANCELLED", `Job ${jobId} was cancelled`);
    this.jobId = jobId;
  }
}
