import { defineConfig, mergeConfig } from 'vitest/config';
import shared from '../../vitest.shared.js';

// The shared configuration, plus the type-level tests of the generated resolver types (*.test-d.ts).
export default mergeConfig(
  shared,
  defineConfig({ test: { typecheck: { enabled: true, include: ['src/**/*.test-d.ts'], tsconfig: './tsconfig.json' } } }),
);
