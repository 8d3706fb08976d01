import { FatalError, type JsonValue } from "@underway/core";

/** The envelope format written by this version. */
export const JOB_ENVELOPE_VERSION = 1;

/** What a job stores as the input of each step's task. */
export interface JobEnvelope {
  /** The envelope format ({@link JOB_ENVELOPE_VERSION}); other versions are refused as fatal. */
  version: typeof JOB_ENVELOPE_VERSION;
  /** The run's id, shared by every step of the run (and its tasks' correlation id). */
  jobId: string;
  /** Which step this task runs, from 0. */
  stepIndex: number;
  /** The step's input: the job's input for step 0, then what the step before passed to `To.next`. */
  stepInput: JsonValue;
  /** The run's dedupe key, carried by every step so the run holds it until it ends. */
  dedupeKey?: string;
}

/** Builds the envelope of one step; `dedupeKey` is left out when the run has none. */
export function createJobEnvelope(jobId: string, stepIndex: number, stepInput: unknown, dedupeKey?: string | null): JobEnvelope {
  const envelope: JobEnvelope = { version: JOB_ENVELOPE_VERSION, jobId, stepIndex, stepInput: (stepInput === undefined ? null : stepInput) as JsonValue };
  if (dedupeKey !== undefined && dedupeKey !== null) envelope.dedupeKey = dedupeKey;
  return envelope;
}

/**
 * Reads a stored envelope, failing fatally (no retry can fix it) with a message that says what
 * is wrong when the row is unreadable or names a step the job does not have.
 */
export function readJobEnvelope(value: unknown, stepCount: number): JobEnvelope {
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    throw new FatalError(`Unreadable job envelope: expected an object, got ${describe(value)}`);
  }
  const envelope = value as Partial<JobEnvelope>;
  if (envelope.version !== JOB_ENVELOPE_VERSION) {
    throw new FatalError(`Unreadable job envelope: unsupported version ${describe(envelope.version)} (this version reads ${JOB_ENVELOPE_VERSION})`);
  }
  if (typeof envelope.jobId !== "string" || envelope.jobId.length === 0) {
    throw new FatalError(`Unreadable job envelope: jobId must be a non-empty string, got ${describe(envelope.jobId)}`);
  }
  const stepIndex = envelope.stepIndex;
  if (typeof stepIndex !== "number" || !Number.isInteger(stepIndex) || stepIndex < 0 || stepIndex >= stepCount) {
    throw new FatalError(`Unknown job step ${describe(stepIndex)}: the job has steps 0 to ${stepCount - 1}`);
  }
  if (!("stepInput" in envelope)) throw new FatalError("Unreadable job envelope: stepInput is missing");
  if (envelope.dedupeKey !== undefined && typeof envelope.dedupeKey !== "string") {
    throw new FatalError(`Unreadable job envelope: dedupeKey must be a string when present, got ${describe(envelope.dedupeKey)}`);
  }
  return envelope as JobEnvelope;
}

function describe(value: unknown): string {
  try {
    return JSON.stringify(value) ?? String(value);
  } catch {
    return String(value);
  }
}
