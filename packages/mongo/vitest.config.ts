import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['src/**/*.test.ts'],
    // Real embedded store; the first run may also build the Go binary.
    testTimeout: 60_000,
    hookTimeout: 120_000,
  },
});
