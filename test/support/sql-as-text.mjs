// `node --import` this file to run the sources the way the build runs them: a migration file
// imported from packages/queue-pg is its text (tsup's `.sql` text loader does this in the build).
// Both module systems: tsx runs a file as CommonJS or as an ES module after its package.
import { readFileSync } from "node:fs";
import { createRequire, register } from "node:module";

register("./sql-as-text-hooks.mjs", import.meta.url);

createRequire(import.meta.url).extensions[".sql"] = (module, filename) => {
  module.exports = { __esModule: true, default: readFileSync(filename, "utf8") };
};
