import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // The long fault runs (hundreds of cycles, kill points, outages) have their own config and
    // run after this suite: `npm run test:long` (vitest.long.config.ts); real Xen under QEMU has
    // vitest.xen.config.ts (`npm run test:xen`). `npm test` runs all three.
    exclude: ['test/long/**', 'test/xen/**', '**/node_modules/**'],
    // The real-daemon tests start private xenstored instances: give each file its own process.
    pool: 'forks',
    testTimeout: 30_000,
    hookTimeout: 60_000,
    reporters: ['default'],
  },
});
