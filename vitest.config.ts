import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    testTimeout: 30_000,
    hookTimeout: 60_000,
    pool: "forks",
    // One test Postgres for the whole run (a local server, or an embedded one started once).
    globalSetup: ["test/helpers/database-global-setup.ts"],
  },
});
