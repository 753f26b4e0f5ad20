import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    // Builds dist/ first: the processes the harness starts run compiled JavaScript.
    globalSetup: ["test/support/global-setup.ts"],
    pool: "forks",
    // Two cores: more parallel clusters only make each test slower and noisier.
    maxWorkers: 2,
    testTimeout: 60_000,
    hookTimeout: 60_000,
    teardownTimeout: 30_000,
  },
});
