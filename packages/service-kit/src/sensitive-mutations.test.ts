import { buildSchema, parse, validate } from 'graphql';
import { describe, expect, it } from 'vitest';
import { sensitiveMutationLimitRule } from './sensitive-mutations.js';

const schema = buildSchema(`
  type Query { me: String }
  type Mutation { login(id: String): String logout: Boolean requestPasswordReset(email: String): Boolean }
`);
const errorsOf = (doc: string) => validate(schema, parse(doc), [sensitiveMutationLimitRule()]);

describe('sensitiveMutationLimitRule (issue 12, second pass, finding 1: aliases)', () => {
  it('allows one sensitive root field, with any number of others', () => {
    expect(errorsOf('mutation { login(id: "a") logout b: logout }')).toEqual([]);
    expect(errorsOf('query { me a: me }')).toEqual([]);
  });

  it('refuses two, whether aliased, mixed, in inline fragments or in named fragments (spread twice counts once)', () => {
    for (const doc of [
      'mutation { a: login(id: "a") b: login(id: "b") }',
      'mutation { login(id: "a") requestPasswordReset(email: "x") }',
      'mutation { ... on Mutation { a: login } ... @include(if: true) { b: login } }',
      'mutation { ...F ...G } fragment F on Mutation { a: login } fragment G on Mutation { b: requestPasswordReset }',
      'mutation { a: login @skip(if: true) b: login }',
    ]) {
      const errors = errorsOf(doc);
      expect(errors, doc).toHaveLength(1);
      expect(errors[0]!.extensions).toEqual({ code: 'GRAPHQL_VALIDATION_FAILED', limit: 'sensitive-mutations' });
    }
    expect(errorsOf('mutation { ...F ...F } fragment F on Mutation { a: login }')).toEqual([]);
  });

  // Walking each spread again would be 2^200 visits: the test would never end (vitest's timeout fails it).
  it('stays linear for a chain of 200 fragment pairs (each fragment walked once)', () => {
    const levels = 200;
    const frags = Array.from({ length: levels }, (_, i) =>
      i + 1 < levels
        ? `fragment A${i} on Mutation { logout ...A${i + 1} ...B${i + 1} } fragment B${i} on Mutation { logout ...A${i + 1} ...B${i + 1} }`
        : `fragment A${i} on Mutation { logout } fragment B${i} on Mutation { logout }`,
    ).join(' ');
    const doc = parse(`mutation { ...A0 ...B0 } ${frags}`);
    expect(validate(schema, doc, [sensitiveMutationLimitRule()])).toEqual([]);
  });
});
