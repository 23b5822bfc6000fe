// ESLint for every workspace: typescript-eslint's strict, type-checked rules through the
// project service (each file is checked against the nearest tsconfig.json), plus the house
// rules of /work/shared/design/STYLE.md that a rule can say. Prettier owns layout; eslint-config-prettier,
// last, turns off every rule that would argue with it.
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
      "CallExpression[callee.property.name='catch'] > ArrowFunctionExpression[params.length=0][body.type='BlockStatement'][body.body.length=0]",
    message: 'Never swallow an error: log it with an id (and leave repair to reconcile), or let it propagate.',
  },
  {
    selector:
      "CallExpression[callee.property.name='catch'] > ArrowFunctionExpression[params.length=0]:matches([body.type='Identifier'][body.name='undefined'], [body.type='Literal'][body.raw='null'], [body.type='UnaryExpression'][body.operator='void'])",
    message: 'Never swallow an error: log it with an id (and leave repair to reconcile), or let it propagate.',
  },
  {
    // `catch {}` with nothing in it. A catch that handles the error says so in code (or, if it
    // really is nothing, in a comment inside the block, which `no-empty` accepts).
    selector: 'CatchClause > BlockStatement[body.length=0]',
    message: 'An empty catch swallows the error: handle it, log it, or rethrow.',
  },
];

const asNeverRule = {
  // `x as never` silences the type checker instead of typing the seam.
  selector: "TSAsExpression > TSNeverKeyword.typeAnnotation",
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
      'no-restricted-syntax': ['error', ...swallowedErrorRules, asNeverRule],
      // Named explicitly, though strictTypeChecked has them, because they are house rules.
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-misused-promises': 'error',
      // Kebab-case files and plain modules (STYLE.md 13): no `export default class`, no namespaces.
      '@typescript-eslint/no-namespace': 'error',
      // `string[]` for simple element types, `Array<{ ... }>` where the element is a written-out shape: the code's style.
      '@typescript-eslint/array-type': ['error', { default: 'array-simple' }],
      // `(x) => res.end(x)` and `return void write(...)` are deliberate shorthands here, not mistakes.
      '@typescript-eslint/no-confusing-void-expression': ['error', { ignoreArrowShorthand: true, ignoreVoidOperator: true }],
      // Mongoose's types call a schema field's options a class (SchemaTypeOptions); its documented form is a
      // plain object literal (`{ type: String, required: true }`), which this rule would flag on every field.
      '@typescript-eslint/no-unsafe-class-instance-assignment': 'off',
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
    // each, and hand fixtures to functions that take unions: the unsafe-any family and
    // non-null assertions would turn every assertion into a cast without proving more.
    // Promises, swallowed errors, `as never` and process.env stay strict.
    files: ['**/*.test.ts', 'test/**/*.ts', '**/test-support/**/*.ts', 'bench/**/*.ts'],
    rules: {
      '@typescript-eslint/no-unsafe-member-access': 'off',
      '@typescript-eslint/no-unsafe-assignment': 'off',
      '@typescript-eslint/no-unsafe-argument': 'off',
      '@typescript-eslint/no-unsafe-call': 'off',
      '@typescript-eslint/no-unsafe-return': 'off',
      '@typescript-eslint/no-non-null-assertion': 'off',
      // Fakes implement async interfaces with `async () => value`.
      '@typescript-eslint/require-await': 'off',
    },
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
