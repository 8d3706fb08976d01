import { describe, expect, it } from "vitest";
import type { ConformanceFixture } from "./conformance-fixture.js";

/** Leadership locks: exclusive by key until released. */
export function lockCases<Tx>(f: ConformanceFixture<Tx>): void {
  describe("leadership locks", () => {
    it("gives a key to one holder until it releases it", async () => {
      const key = `${f.queueName}-scheduler`;
      const leader = await f.storage.lockTry({ key });
      expect(leader).not.toBeNull();
      expect(leader!.signal.aborted).toBe(false);
      expect(await f.storage.lockTry({ key })).toBeNull();

      const otherKey = await f.storage.lockTry({ key: `${key}-other` });
      expect(otherKey).not.toBeNull();

      await leader!.release();
      expect(leader!.signal.aborted).toBe(true);
      await leader!.release();
      const successor = await f.storage.lockTry({ key });
      expect(successor).not.toBeNull();
      expect(await f.storage.lockTry({ key })).toBeNull();
      await successor!.release();
      await otherKey!.release();
    });

    it("grants a contested key to exactly one of many parallel callers", async () => {
      const key = `${f.queueName}-contested`;
      const locks = await Promise.all(Array.from({ length: 8 }, () => f.storage.lockTry({ key })));
      const held = locks.filter((lock) => lock !== null);
      expect(held).toHaveLength(1);
      await held[0]!.release();
    });
  });
}
