import { defineConfig } from 'vitest/config';

/** Only the experiment's contract run; no globalSetup (it would rebuild the shared test template). */
export default defineConfig({
  test: {
    include: ['bench/experiments/**/*.test.ts'],
    pool: 'forks',
    testTimeout: 30_000,
    hookTimeout: 60_000,
  },
});
