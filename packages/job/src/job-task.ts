import { FatalError, assertJsonPayload, type Queue, type Task, type TaskContext } from "@underway/core";
import type { Context } from "./context.js";
import { createJobEnvelope, readJobEnvelope, type JobEnvelope } from "./job-envelope.js";
import type { StepDefinition } from "./step-definition.js";
import { isTransition } from "./to.js";

/** What the task of a finishing step stores as its output. */
export interface JobStepOutput {
  /** Marks the output of the step that finished the run. */
  done: true;
  /** The run's result, as `To.done(result)` gave it (`null` for none). */
  result: unknown;
}

/**
 * The task that runs a job's steps: one task row per step, each with that step's settings. A
 * step that returns `To.next` enqueues the following step through `cx.enqueueOnSuccess`, so the
 * next step exists if, and only if, this step's success commits.
 */
export function createJobTask<State, Tx>(
  steps: ReadonlyArray<StepDefinition<State, Tx>>,
  state: State,
  queueRef: { queue: Queue<JobEnvelope, Tx> | undefined },
): Task<JobEnvelope, JobStepOutput | undefined, Tx> {
  const settingOf = <K extends keyof StepDefinition<State, Tx>["settings"]>(key: K) =>
    (envelope: JobEnvelope) => steps[envelope.stepIndex]?.settings[key];

  const task: Task<JobEnvelope, JobStepOutput | undefined, Tx> = {
    retryPolicy: (envelope) => settingOf("retryPolicy")(envelope),
    timeoutMs: (envelope) => settingOf("timeoutMs")(envelope),
    ttlMs: (envelope) => settingOf("ttlMs")(envelope),
    delayMs: (envelope) => settingOf("delayMs")(envelope),
    heartbeatMs: (envelope) => settingOf("heartbeatMs")(envelope),
    priority: (envelope) => settingOf("priority")(envelope),
    // The run's key, on every step: the run holds it from its first step to its last.
    dedupeKey: (envelope) => envelope.dedupeKey ?? null,
    concurrencyKey: (envelope) => {
      const key = steps[envelope.stepIndex]?.settings.concurrencyKey;
      return typeof key === "function" ? key(envelope.stepInput) : key;
    },

    async execute(cx: TaskContext<Tx>, stored: JobEnvelope): Promise<JobStepOutput | undefined> {
      const envelope = readJobEnvelope(stored, steps.length);
      const step = steps[envelope.stepIndex]!;
      const context: Context<State, Tx> = {
        state,
        tx: cx.tx,
        // Read through, so the attempt's signal is only made when the step asks for it.
        get signal() {
          return cx.signal;
        },
        stepIndex: envelope.stepIndex,
        stepCount: steps.length,
        jobId: envelope.jobId,
        taskId: cx.taskId,
        attempt: cx.attempt,
        queueName: cx.queueName,
      };
      const transition = await step.run(context, envelope.stepInput);
      if (!isTransition(transition)) {
        throw new FatalError(`Step ${envelope.stepIndex} of job ${envelope.jobId} must return To.next(...), To.delayFor(...) or To.done(...)`);
      }
      if (transition.kind === "done") {
        const result = transition.result === undefined ? null : transition.result;
        try {
          assertJsonPayload(result, "To.done result");
        } catch (error) {
          throw new FatalError((error as Error).message, { cause: error });
        }
        return { done: true, result };
      }
      const nextIndex = envelope.stepIndex + 1;
      if (nextIndex >= steps.length) {
        throw new FatalError(`Step ${envelope.stepIndex} of job ${envelope.jobId} returned To.next, but it is the last step`);
      }
      try {
        assertJsonPayload(transition.value === undefined ? null : transition.value, `input of step ${nextIndex}`);
      } catch (error) {
        throw new FatalError((error as Error).message, { cause: error });
      }
      await cx.enqueueOnSuccess(queueRef.queue!, task, createJobEnvelope(envelope.jobId, nextIndex, transition.value, envelope.dedupeKey), {
        delayMs: transition.delayMs,
        correlationId: envelope.jobId,
      });
      return undefined;
    },
  };
  return task;
}
