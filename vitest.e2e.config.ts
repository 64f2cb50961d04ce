import { defineConfig } from "vitest/config";

/**
 * The end-to-end suite (`npm run test:e2e`): real HTTP against the Bun server and `wrangler dev`,
 * started by test/e2e/global-setup.ts. Kept out of `npm test`, which runs in-process.
 */
export default defineConfig({
  test: {
    include: ["test/e2e/**/*.test.ts"],
    globalSetup: ["test/e2e/global-setup.ts"],
    testTimeout: 30_000,
    hookTimeout: 60_000,
  },
});
