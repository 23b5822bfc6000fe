import { buildSchema, parse, specifiedRules, validate } from 'graphql';
import { describe, expect, it } from 'vitest';
import { aliasLimitRule, depthLimitRule, documentLimitRules } from './document-limits.js';

const schema = buildSchema(`
  type Node { name: String  child: Node }
  type Query { node: Node }
`);

const check = (query: string, rules: ReturnType<typeof depthLimitRule>[]) => validate(schema, parse(query), rules).map((e) => e.message);
const nested = (depth: number) => `{ ${'node { '.repeat(1)}${'child { '.repeat(depth - 2)}name${' }'.repeat(depth - 1)} }`;

describe('depthLimitRule', () => {
  it('counts nested fields', () => {
    expect(nested(4)).toBe('{ node { child { child { name } } } }');
    expect(check(nested(4), [depthLimitRule(4)])).toEqual([]);
    expect(check(nested(5), [depthLimitRule(4)])).toEqual(['Query is too deep: depth 5 exceeds the limit of 4']);
  });

  it('follows fragment spreads and inline fragments', () => {
    const query = `
      query { node { ...A } }
      fragment A on Node { child { ... on Node { child { ...B } } } }
      fragment B on Node { child { name } }`;
    // node(1) child(2) child(3) child(4) name(5)
    expect(check(query, [depthLimitRule(5)])).toEqual([]);
    expect(check(query, [depthLimitRule(4)])).toHaveLength(1);
  });

  it('terminates on fragment cycles', () => {
    const query = `query { node { ...A } } fragment A on Node { child { ...B } } fragment B on Node { child { ...A } }`;
    const errors = check(query, [...specifiedRules, depthLimitRule(10)]);
    expect(errors.some((m) => m.includes('Cannot spread fragment'))).toBe(true);
  });

  it('does not count introspection meta-fields', () => {
    const introspection = '{ __schema { types { fields { type { ofType { ofType { name } } } } } } }';
    expect(check(introspection, [depthLimitRule(2)])).toEqual([]);
    expect(check('{ node { __typename name } }', [depthLimitRule(2)])).toEqual([]);
  });

  it('reports each too-deep operation once, with its full depth', () => {
    const doc = `query A ${nested(6)} query B ${nested(6)} query C { node { name } }`;
    expect(check(doc, [depthLimitRule(3)])).toEqual([
      'Query is too deep: depth 6 exceeds the limit of 3',
      'Query is too deep: depth 6 exceeds the limit of 3',
    ]);
  });
});

describe('aliasLimitRule', () => {
  const aliased = (n: number) => `{ ${Array.from({ length: n }, (_, i) => `a${i}: node { name }`).join(' ')} }`;

  it('allows up to the limit', () => {
    expect(check(aliased(3), [aliasLimitRule(3)])).toEqual([]);
  });

  it('rejects more aliases, reporting once', () => {
    expect(check(aliased(50), [aliasLimitRule(3)])).toEqual(['Too many aliases: the limit is 3']);
  });

  it('counts nested aliases too', () => {
    expect(check('{ a: node { b: child { c: name } } }', [aliasLimitRule(2)])).toEqual(['Too many aliases: the limit is 2']);
  });

  it('documentLimitRules applies both, with GRAPHQL_VALIDATION_FAILED', () => {
    const errors = validate(schema, parse(`{ x: node { y: child { z: child { name } } } }`), documentLimitRules({ maxDepth: 2, maxAliases: 2, maxTokens: 1000 }));
    expect(errors.map((e) => e.extensions.code)).toEqual(['GRAPHQL_VALIDATION_FAILED', 'GRAPHQL_VALIDATION_FAILED']);
  });
});
