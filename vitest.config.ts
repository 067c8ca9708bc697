import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    testTimeout: 60_000,
    hookTimeout: 120_000,
    // Two cores: integration suites start real servers and runtimes, so files run in two workers.
    pool: "forks",
    maxWorkers: 2,
    reporters: ["default"],
  },
});
