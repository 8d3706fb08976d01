/**
 * `@underway/core` is the ground of Underway: the task contract, retry policy, errors, ids, the
 * queue handle, and the storage contract that every storage implements. It has no runtime
 * dependencies; storages (`@underway/queue-pg`), workers (`@underway/worker`) and schedulers
 * (`@underway/scheduler`) build on it. `@underway/core/conformance` holds the storage conformance
 * suite and `@underway/core/testing` an in-memory storage.
 *
 * @example
 * ```ts
 * import { Queue, type Task, fatal } from "@underway/core";
 * import { MemoryStorage } from "@underway/core/testing";
 *
 * const resize: Task<{ imageId: string }> = {
 *   async execute(cx, { imageId }) {
 *     if (!imageId) throw fatal(new Error("no image id"));
 *     // ... resize, honouring cx.signal
 *   },
 *   timeoutMs: 60_000,
 * };
 *
 * const queue = await Queue.builder<{ imageId: string }>()
 *   .name("resize-image")
 *   .storage(new MemoryStorage())
 *   .build();
 * await queue.enqueue(resize, { imageId: "cat.png" });
 * ```
 *
 * @packageDocumentation
 */
export * from "./errors.js";
export * from "./abort-signal.js";
export * from "./argument-checks.js";
export * from "./retry-policy.js";
export * from "./retry-task-options.js";
export * from "./ids.js";
export * from "./json-payload.js";
export * from "./queue-name.js";
export * from "./durations.js";
export * from "./clock.js";
export * from "./logger.js";
export * from "./typed-event-emitter.js";
export * from "./schedule-definition.js";
export * from "./task-state.js";
export * from "./task.js";
export * from "./task-settings.js";
export * from "./queue.js";
export * from "./register.js";
export type * from "./storage/index.js";
export { isClaimedOnWrite, TASK_LIST_DEFAULT_LIMIT } from "./storage/index.js";
