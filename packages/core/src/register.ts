/**
 * A registry that storage packages augment so that `cx.tx` is typed without annotations.
 * `@underway/queue-pg` declares `interface Register { tx: PgQueryable }`, so with it installed
 * the step and task contexts of `@underway/job` type `tx` as a Postgres client by default.
 *
 * @example
 * ```ts
 * declare module "@underway/core" {
 *   interface Register { tx: MyTransaction }
 * }
 * ```
 */
// eslint-disable-next-line @typescript-eslint/no-empty-object-type
export interface Register {}

/** The transaction type registered by the installed storage, or `unknown`. */
export type RegisteredTx = Register extends { tx: infer Tx } ? Tx : unknown;
