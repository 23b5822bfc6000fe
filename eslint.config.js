// ESLint for every workspace: typescript-eslint's strict, type-checked rules through the
// project service (each file is checked against the nearest tsconfig.json), plus the house
// rules (shared/design/STYLE.md) that a rule can say. Prettier owns layout; eslint-config-prettier,
// near the end, turns off every rule that would argue with it.
import eslint from '@eslint/js';
import { defineConfig, globalIgnores } from 'eslint/config';
import prettier from 'eslint-config-prettier';
import globals from 'globals';
import tseslint from 'typescript-eslint';

/** `process.env` is read in an app's env.ts only: one zod schema, every bad variable reported at once. */
const processEnvRule = {
  object: 'process',
  property: 'env',
  message: 'Read the environment in an env.ts module (one zod schema per app) and import the typed value.',
};

const swallowedErrorRules = [
  {
    // `.catch(() => undefined)`, `.catch(() => {})`, `.catch(() => null)`: an outage turns into a wrong answer.
    selector:
      "CallExpression[callee.property.name='catch'] > " +
      "ArrowFunctionExpression[params.length=0][body.type='BlockStatement'][body.body.length=0]",
    message: 'Never swallow an error: log it with an id (and leave repair to reconcile), or let it propagate.',
  },
  {
    selector:
      "CallExpression[callee.property.name='catch'] > ArrowFunctionExpression[params.length=0]:matches(" +
      "[body.type='Identifier'][body.name='undefined'], [body.type='Literal'][body.raw='null'], [body.type='UnaryExpression'][body.operator='void'])",
    message: 'Never swallow an error: log it with an id (and leave repair to reconcile), or let it propagate.',
  },
  {
    // `catch {}` with nothing in it, even a comment. Where nothing really is to be done, say why
    // in an `eslint-disable-next-line no-restricted-syntax -- <reason>` above it: visible and countable.
    selector: 'CatchClause > BlockStatement[body.length=0]',
    message: 'An empty catch swallows the error: handle it, log it, or rethrow.',
  },
];

const asNeverRule = {
  // `x as never` silences the type checker instead of typing the seam.
  selector: 'TSAsExpression > TSNeverKeyword.typeAnnotation',
  message: '`as never` hides a type error: type the value (generated resolver types, contract schemas) instead.',
};

export default defineConfig(
  globalIgnores([
    '**/node_modules/**',
    '**/dist/**',
    '**/generated/**',
    '**/__generated__/**',
    '**/.turbo/**',
    '**/.data/**',
    '**/.bench-results/**',
    'tools/ferretdb/**',
  ]),

  eslint.configs.recommended,
  tseslint.configs.strictTypeChecked,
  tseslint.configs.stylisticTypeChecked,
  {
    languageOptions: {
      globals: globals.node,
      parserOptions: {
        projectService: {
          // The root's shared vitest config belongs to no workspace's tsconfig.
          allowDefaultProject: ['vitest.shared.ts'],
        },
        tsconfigRootDir: import.meta.dirname,
      },
    },
    linterOptions: { reportUnusedDisableDirectives: 'error' },
    rules: {
      'no-restricted-properties': ['error', processEnvRule],
      'no-restricted-imports': [
        'error',
        { paths: ['process', 'node:process'].map((name) => ({ name, importNames: ['env'], message: processEnvRule.message })) },
      ],
      'no-restricted-syntax': ['error', ...swallowedErrorRules, asNeverRule],
      // Named explicitly, though strictTypeChecked has them, because they are house rules.
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-misused-promises': 'error',
      // Plain modules (STYLE.md 13): no namespaces.
      '@typescript-eslint/no-namespace': 'error',
      // `string[]` for simple element types, `Array<{ ... }>` where the element is a written-out shape: the code's style.
      '@typescript-eslint/array-type': ['error', { default: 'array-simple' }],
      // `return sendJson(res, 400, ...)` is how a handler answers and stops, and `(x) => res.end(x)` a
      // callback; both return a void call on purpose.
      '@typescript-eslint/no-confusing-void-expression': 'off',
      // Interfaces (Apollo plugin hooks, test fakes) ask for a Promise, and `async` is the plain way to
      // return one. A forgotten `await` is caught by no-floating-promises, not by this rule.
      '@typescript-eslint/require-await': 'off',
      // Mongoose's types call a schema field's options a class (SchemaTypeOptions); its documented form is a
      // plain object literal (`{ type: String, required: true }`), which this rule would flag on every field.
      '@typescript-eslint/no-unsafe-class-instance-assignment': 'off',
      // With noUncheckedIndexedAccess every indexed read is `T | undefined`; `!` marks a value the code
      // has checked in a way tsc cannot follow (a filter above, a length check). Banning it would only
      // trade each `!` for an `as T`, which hides more.
      '@typescript-eslint/no-non-null-assertion': 'off',
      '@typescript-eslint/consistent-type-imports': 'error',
      eqeqeq: ['error', 'always', { null: 'ignore' }],
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      // Numbers and booleans in template strings are how log lines and error messages are built.
      '@typescript-eslint/restrict-template-expressions': ['error', { allowNumber: true, allowBoolean: true }],
    },
  },

  {
    // Plain JavaScript build scripts: no tsconfig covers them, so no type-aware rules.
    files: ['**/*.js', '**/*.mjs'],
    extends: [tseslint.configs.disableTypeChecked],
  },

  {
    // Tests and benchmarks read JSON answers over HTTP (`body.data.x`) without a schema for
    // each: the `any` family would turn every assertion into a cast without proving more.
    // Promises, swallowed errors, `as never` and process.env stay strict.
    files: ['**/*.test.ts', '**/*.test-d.ts', 'test/**/*.ts', '**/test-support/**/*.ts', '**/testing.ts', 'bench/**/*.ts'],
    rules: {
      '@typescript-eslint/no-explicit-any': 'off',
      // Fixtures are built by removing a field at a computed path (`delete body[field]`).
      '@typescript-eslint/no-dynamic-delete': 'off',
      '@typescript-eslint/no-unsafe-member-access': 'off',
      '@typescript-eslint/no-unsafe-assignment': 'off',
      '@typescript-eslint/no-unsafe-argument': 'off',
      '@typescript-eslint/no-unsafe-call': 'off',
      '@typescript-eslint/no-unsafe-return': 'off',
      // `afterAll(() => stack?.stop())` guards a beforeAll that may have failed before the
      // assignment the variable's type takes for granted.
      '@typescript-eslint/no-unnecessary-condition': 'off',
    },
  },

  {
    // The one module per app (and per tool) that reads the environment.
    files: ['**/env.ts'],
    rules: { 'no-restricted-properties': 'off', 'no-restricted-imports': 'off' },
  },

  {
    // Tests pick their store from MONGODB_URI the way CI sets it (`describe.skipIf(!!process.env.MONGODB_URI)`)
    // and hand their environment on to the CLI processes they start. They configure the harness, not a
    // service; a service's variables are still read through its env.ts, which the tests exercise.
    files: ['**/*.test.ts', '**/*.test-d.ts', 'test/**/*.ts', '**/test-support/**/*.ts', 'packages/mongo/src/testing.ts'],
    rules: { 'no-restricted-properties': 'off', 'no-restricted-imports': 'off' },
  },

  {
    // The CLI launches the stack: it hands PATH and the operator's secrets (INTERNAL_SERVICE_SECRET...)
    // on to the services it starts, and reads USERGRAPH_*_URL to reach a running one. Its own validated
    // variables are in start-env.ts; these two files pass the environment through as it is.
    files: ['apps/cli/src/stack.ts', 'apps/cli/src/stack-client.ts'],
    rules: { 'no-restricted-properties': 'off', 'no-restricted-imports': 'off' },
  },

  prettier,
  {
    // After eslint-config-prettier, which turns max-len off: Prettier wraps code at printWidth
    // but cannot break a long comment or string, so this catches those.
    rules: {
      'max-len': ['error', { code: 160, tabWidth: 2, ignoreUrls: true, ignoreRegExpLiterals: true }],
    },
  },
);
