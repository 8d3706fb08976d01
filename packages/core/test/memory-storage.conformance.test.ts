import { runStorageConformance } from "../src/conformance/index.js";
import { MemoryStorage } from "../src/testing/index.js";

runStorageConformance("MemoryStorage", async ({ clock }) => {
  const storage = new MemoryStorage({ clock });
  return { storage, raw: storage.raw, teardown: () => storage.close() };
});
