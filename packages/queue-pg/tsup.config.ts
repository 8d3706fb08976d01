import { defineConfig } from "tsup";

export default defineConfig({
  entry: { "index": "src/index.ts", "testing/index": "src/testing/index.ts" },
  format: ["esm", "cjs"],
  dts: true,
  sourcemap: true,
  clean: true,
  shims: true,
  target: "node20",
  // The migrations are built into the code (see src/shipped-migrations.ts).
  loader: { ".sql": "text" },
});
