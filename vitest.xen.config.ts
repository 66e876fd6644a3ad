import { defineConfig } from 'vitest/config';

// The real-Xen tests: one dom0 booted under QEMU (scripts/xenvm.sh) for the whole run by the
// global setup, shared by the files in test/xen, which run one at a time (one VM, two cores).
export default defineConfig({
  test: {
    include: ['test/xen/**/*.test.ts'],
    globalSetup: ['test/xen/setup.ts'],
    pool: 'forks',
    fileParallelism: false,
    testTimeout: 1_200_000,
    hookTimeout: 900_000,
    reporters: ['default'],
  },
});
