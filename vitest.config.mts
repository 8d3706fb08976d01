import { fileURLToPath } from "node:url";
import { configDefaults, defineConfig } from "vitest/config";

const packageNames = ["core", "queue-pg", "worker", "scheduler", "job"] as const;
const root = fileURLToPath(new URL(".", import.meta.url));

// Tests run against the sources, so a change is tested without a rebuild; test/packaging.test.ts
// checks the built output separately.
const alias = [
  { find: /^@underway\/core\/conformance$/, replacement: `${root}packages/core/src/conformance/index.ts` },
  { find: /^@underway\/core\/testing$/, replacement: `${root}packages/core/src/testing/index.ts` },
  { find: /^@underway\/queue-pg\/testing$/, replacement: `${root}packages/queue-pg/src/testing/index.ts` },
  ...packageNames.map((name) => ({ find: new RegExp(`^@underway/${name}$`), replacement: `${root}packages/${name}/src/index.ts` })),
];

// Tests run the sources, which import the migration files as text, as the build does (tsup's
// `.sql` text loader in packages/queue-pg).
const sqlAsText = {
  name: "sql-as-text",
  transform(code: string, id: string) {
    return id.endsWith(".sql") ? { code: `export default ${JSON.stringify(code)};`, map: null } : undefined;
  },
};

const shared = {
  plugins: [sqlAsText],
  resolve: { alias },
  test: {
    testTimeout: 60_000,
    hookTimeout: 120_000,
    globalSetup: [`${root}test/global-setup.ts`],
    setupFiles: [`${root}test/support/fast-check-seed.ts`],
  },
};

export default defineConfig({
  test: {
    projects: [
      ...packageNames.map((name) => ({
        ...shared,
        test: { ...shared.test, name, root: `${root}packages/${name}`, include: ["test/**/*.test.ts"] },
      })),
      {
        ...shared,
        test: { ...shared.test, name: "repo", root, include: ["test/**/*.test.ts"], exclude: [...configDefaults.exclude, "test/chaos/**", "test/pgbouncer/**"] },
      },
      // Underway behind a real PgBouncer in transaction mode: `pnpm test:pgbouncer` (and .ci/run,
      // which installs PgBouncer), kept out of `pnpm test` so that it needs nothing beyond Postgres.
      ...(process.env.UNDERWAY_PGBOUNCER_TESTS === "1"
        ? [{ ...shared, test: { ...shared.test, name: "pgbouncer", root, include: ["test/pgbouncer/**/*.test.ts"] } }]
        : []),
      {
        ...shared,
        // Real processes killed and paused on a shared 2-core machine: the scenarios run one file at
        // a time, after every other project (groupOrder), so their timings measure the code and
        // not the neighbours.
        test: {
          ...shared.test,
          name: "chaos",
          root,
          include: ["test/chaos/**/*.test.ts"],
          testTimeout: 240_000,
          hookTimeout: 180_000,
          fileParallelism: false,
          sequence: { groupOrder: 1 },
        },
      },
    ],
  },
});
