import { defineConfig } from 'vitest/config';

// The long fault runs: one file at a time, so each has both cores and its figures are not the
// other files' noise. Each file prints its figures (cycles, kill points, outages, leaks).
export default defineConfig({
  test: {
    include: ['test/long/**/*.test.ts'],
    pool: 'forks',
    fileParallelism: false,
    testTimeout: 900_000,
    hookTimeout: 120_000,
    reporters: ['default'],
  },
});
