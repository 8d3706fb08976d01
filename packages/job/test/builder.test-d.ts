// Type tests, checked by `tsc` (pnpm typecheck): the step chain is typed end to end.
import type { StorageAdapter } from "@underway/core";
import { Job, To, type Context } from "../src/index.js";

type FakeTx = { query(text: string, params?: unknown[]): Promise<{ rows: unknown[] }> };
declare const storage: StorageAdapter<FakeTx>;

type GenerateReceipt = { orderId: number };
type EmailReceipt = { receiptKey: string };

export async function typeTests(): Promise<void> {
  // Inputs flow from To.next to the next step; the job's input is the first step's.
  const receipts = await Job.builder<FakeTx>()
    .step(async (_cx, { orderId }: GenerateReceipt) => To.next({ receiptKey: `receipts/${orderId}.pdf` }))
    .step(async (cx, { receiptKey }: EmailReceipt) => {
      const tx: FakeTx = cx.tx;
      await tx.query("select 1");
      return To.done(receiptKey.length);
    })
    .retryPolicy({ maxAttempts: 3 })
    .name("order-receipt")
    .storage(storage)
    .build();
  await receipts.enqueue({ orderId: 42 });
  // @ts-expect-error the job's input is GenerateReceipt
  await receipts.enqueue({ receiptKey: "x" });
  const run = await receipts.enqueue({ orderId: 1 });
  const length: number = await run.result();
  void length;
  // A run's dedupe key is a string; enqueueMany derives each one from the typed input.
  await receipts.enqueue({ orderId: 2 }, { dedupeKey: "order-2" });
  await receipts.enqueueMany([{ orderId: 3 }], { dedupeKey: ({ orderId }) => `order-${orderId}` });
  // @ts-expect-error the input has no receiptKey
  await receipts.enqueueMany([{ orderId: 3 }], { dedupeKey: ({ receiptKey }) => receiptKey });
  // @ts-expect-error a key is a string
  await receipts.enqueue({ orderId: 4 }, { dedupeKey: 4 });
  // The job's own key comes from the typed input of its first step, or is fixed.
  Job.builder<FakeTx>()
    .step(async (_cx, { orderId }: GenerateReceipt) => To.done(orderId))
    .dedupeKey(({ orderId }) => `order-${orderId}`)
    .dedupeKey("one-at-a-time");
  Job.builder<FakeTx>()
    .step(async (_cx, { orderId }: GenerateReceipt) => To.done(orderId))
    // @ts-expect-error the input has no receiptKey
    .dedupeKey(({ receiptKey }) => receiptKey);

  // A step whose input does not match the previous step's To.next value is an error.
  Job.builder<FakeTx>()
    .step(async (_cx, { orderId }: GenerateReceipt) => To.next({ receiptKey: String(orderId) }))
    // @ts-expect-error EmailReceipt expected { receiptKey: string }, got { orderId: number }
    .step(async (_cx, { orderId }: GenerateReceipt) => To.done(orderId));

  // A job whose last step may continue cannot be named or built.
  const open = Job.builder<FakeTx>().step(async (_cx, input: GenerateReceipt) => To.next(input));
  // @ts-expect-error the last step returns To.next: another step is required
  open.name("incomplete");
  // @ts-expect-error the last step returns To.next: another step is required
  void open.build;

  // A step must return a transition.
  // @ts-expect-error steps return To.next / To.delayFor / To.done
  Job.builder<FakeTx>().step(async (_cx, _input: GenerateReceipt) => 42);

  // State is typed in every step's context.
  Job.builder<FakeTx>()
    .state({ mailer: { send: (to: string) => to } })
    .step(async (cx: Context<{ mailer: { send(to: string): string } }, FakeTx>, { to }: { to: string }) => {
      cx.state.mailer.send(to);
      // @ts-expect-error unknown state member
      cx.state.database;
      return To.done();
    })
    .name("stateful");

  // Conditional finish: a step returning next or done still needs a following step.
  const branching = Job.builder<FakeTx>()
    .step(async (_cx, { n }: { n: number }) => (n > 0 ? To.next({ left: n }) : To.done("zero")))
    .step(async (_cx, { left }: { left: number }) => To.done(`left ${left}`))
    .name("branching")
    .storage(storage);
  const job = await branching.build();
  const result: string = await (await job.enqueue({ n: 1 })).result();
  void result;

  // Results come back as stored: To.done() and undefined results resolve null.
  const finishedWithoutResult = await Job.builder<FakeTx>()
    .step(async () => To.done())
    .name("no-result")
    .storage(storage)
    .build();
  const nothing: null = await (await finishedWithoutResult.enqueue(undefined)).result();
  void nothing;
  const finishedMaybe = await Job.builder<FakeTx>()
    .step(async (_cx, { n }: { n: number }) => To.done(n > 0 ? "some" : undefined))
    .name("maybe-result")
    .storage(storage)
    .build();
  const maybe: string | null = await (await finishedMaybe.enqueue({ n: 1 })).result();
  // @ts-expect-error an undefined result resolves null, never undefined
  const notUndefined: string | undefined = await (await finishedMaybe.enqueue({ n: 1 })).result();
  void maybe;
  void notUndefined;

  // Per-step options take the step's own input type in concurrencyKey functions.
  Job.builder<FakeTx>()
    .step(async (_cx, { userId }: { userId: number }) => To.done())
    .concurrencyKey(({ userId }) => `user:${userId}`)
    // @ts-expect-error the step input has no accountId
    .concurrencyKey(({ accountId }) => `account:${accountId}`);

  // To.delayFor keeps the value type.
  Job.builder<FakeTx>()
    .step(async (_cx, _input: { a: 1 }) => To.delayFor({ b: "x" }, 1_000))
    .step(async (_cx, { b }: { b: string }) => To.done(b))
    .name("delayed");
}
