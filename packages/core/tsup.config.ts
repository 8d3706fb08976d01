import { defineConfig } from "tsup";

const shared = { dts: true, sourcemap: true, shims: true, target: "node20" } as const;

export default defineConfig([
  {
    ...shared,
    entry: { index: "src/index.ts", "testing/index": "src/testing/index.ts" },
    format: ["esm", "cjs"],
    clean: false,
  },
  // The conformance suite runs inside vitest, which loads only as ESM.
  { ...shared, entry: { "conformance/index": "src/conformance/index.ts" }, format: ["esm"], clean: false },
]);
