import { defineConfig } from 'vitest/config';

// End-to-end tests start whole stacks (store + 4 processes): run files one at
// a time so two cores are not oversubscribed.
export default defineConfig({
  test: {
    include: ['**/*.e2e.test.ts'],
    fileParallelism: false,
    testTimeout: 120_000,
    hookTimeout: 180_000,
  },
});
