// The one vitest configuration of every workspace under apps/ and packages/
// (each workspace's vitest.config.ts re-exports it); test/ has its own for
// the end-to-end suites.
import { createRequire } from 'node:module';
import { defineConfig } from 'vitest/config';

export default defineConfig({
  resolve: {
    // Load graphql as Node does (its CommonJS build): Vite would pick the ES
    // build ("module"), while Apollo, loaded natively, uses the CommonJS one,
    // and two copies break graphql's instanceof checks.
    alias: [{ find: /^graphql$/, replacement: createRequire(import.meta.url).resolve('graphql') }],
  },
  test: {
    include: ['src/**/*.test.ts'],
    // Tests run against a real embedded store and real HTTP services; the
    // first run may also build the store's Go binary.
    testTimeout: 60_000,
    hookTimeout: 120_000,
  },
});
