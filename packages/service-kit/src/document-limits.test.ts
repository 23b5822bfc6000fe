import { buildSchema, getIntrospectionQuery, Kind, parse, specifiedRules, validate, type DocumentNode } from 'graphql';
import { describe, expect, it } from 'vitest';
import { checkDocumentBeforeValidation, documentLimitRules, MAX_MERGE_WORK, mergeWork } from './document-limits.js';
import { fragmentPairChain } from './testing.js';

const schema = buildSchema(`
  type Node { name: String  child: Node }
  type Query { node: Node }
`);

const limits = { maxDepth: 12, maxAliases: 30, maxDirectives: 20 };
const check = (query: string, l: Partial<typeof limits> = {}) =>
  validate(schema, parse(query), documentLimitRules({ ...limits, ...l })).map((e) => ({
    code: e.extensions.code,
    limit: e.extensions.limit,
    message: e.message,
  }));
const nested = (depth: number) => `{ ${'node { '.repeat(1)}${'child { '.repeat(depth - 2)}name${' }'.repeat(depth - 1)} }`;

/**
 * Counts how often the rules read a fragment's selection set, and stops the
 * walk (by throwing) once it passes `budget`: an exponential rule fails at
 * once instead of holding the test for seconds.
 */
function countFragmentWalks(document: DocumentNode, budget: number): { reads: () => number } {
  let reads = 0;
  for (const def of document.definitions) {
    if (def.kind !== Kind.FRAGMENT_DEFINITION) continue;
    const selectionSet = def.selectionSet;
    Object.defineProperty(def, 'selectionSet', {
      get() {
        if (++reads > budget) throw new Error(`work budget of ${budget} fragment walks exceeded`);
        return selectionSet;
      },
    });
  }
  return { reads: () => reads };
}

describe('finding 1: validation is linear in the document, whatever its shape', () => {
  it('reads each fragment of a 22-level chain of fragment pairs a bounded number of times (the old depth rule: 2^22)', () => {
    const query = fragmentPairChain(22, 'Node', '{ node { ...A0 ...B0 } }', 'name');
    expect(query.length).toBeLessThan(2048);
    const document = parse(query);
    const fragments = 44;
    const counter = countFragmentWalks(document, 10 * fragments);
    // Our rules only: graphql-js's own rules read selection sets through caches of their own
    // (apps/gateway/src/app.test.ts times the whole validation).
    const errors = validate(schema, document, documentLimitRules(limits));
    expect(errors).toEqual([]); // depth 2, no alias, no directive: within every limit
    expect(counter.reads()).toBeLessThanOrEqual(10 * fragments);
  });

  it('still counts a fragment at every spread for aliases (the work is memoised, the count is not)', () => {
    const query = fragmentPairChain(6, 'Node', '{ node { ...A0 ...B0 } }', 'x: name');
    // 2^6 spreads of the last pair reach the aliased field.
    expect(check(query, { maxAliases: 30 })).toMatchObject([{ code: 'GRAPHQL_VALIDATION_FAILED', limit: 'aliases' }]);
  });
});

describe('depth (graphql-armor max-depth)', () => {
  it('counts nested fields', () => {
    expect(nested(4)).toBe('{ node { child { child { name } } } }');
    expect(check(nested(4), { maxDepth: 4 })).toEqual([]);
    expect(check(nested(5), { maxDepth: 4 })).toMatchObject([{ code: 'GRAPHQL_VALIDATION_FAILED', limit: 'depth' }]);
    expect(check(nested(5), { maxDepth: 4 })[0]?.message).not.toMatch(/Syntax Error/);
  });

  it('follows fragment spreads and inline fragments, which add no level of their own', () => {
    const query = `
      query { node { ...A } }
      fragment A on Node { child { ... on Node { child { ...B } } } }
      fragment B on Node { child { name } }`;
    // node(1) child(2) child(3) child(4) name(5)
    expect(check(query, { maxDepth: 5 })).toEqual([]);
    expect(check(query, { maxDepth: 4 })).toMatchObject([{ limit: 'depth' }]);
  });

  it('terminates on fragment cycles (reported by graphql-js)', () => {
    const query = `query { node { ...A } } fragment A on Node { child { ...B } } fragment B on Node { child { ...A } }`;
    const errors = validate(schema, parse(query), [...specifiedRules, ...documentLimitRules(limits)]);
    expect(errors.some((e) => e.message.includes('Cannot spread fragment'))).toBe(true);
  });

  it('does not count __schema, whose nesting graphql-js bounds (MaxIntrospectionDepthRule)', () => {
    const introspection = '{ __schema { types { fields { type { ofType { ofType { name } } } } } } }';
    expect(check(introspection, { maxDepth: 2 })).toEqual([]);
    const bomb = '{ __schema { types { fields { type { fields { type { fields { type { fields { name } } } } } } } } } }';
    expect(validate(schema, parse(bomb), specifiedRules).map((e) => e.extensions.code ?? e.message)).not.toEqual([]);
  });

  it('reports each too-deep operation', () => {
    const doc = `query A ${nested(6)} query B ${nested(6)} query C { node { name } }`;
    expect(check(doc, { maxDepth: 3 })).toHaveLength(2);
  });
});

describe('aliases and directives (graphql-armor)', () => {
  const aliased = (n: number) => `{ ${Array.from({ length: n }, (_, i) => `a${i}: node { name }`).join(' ')} }`;

  it('allows aliases up to the limit and refuses more, nested ones too', () => {
    expect(check(aliased(3), { maxAliases: 3 })).toEqual([]);
    expect(check(aliased(50), { maxAliases: 3 })).toMatchObject([{ code: 'GRAPHQL_VALIDATION_FAILED', limit: 'aliases' }]);
    expect(check('{ a: node { b: child { c: name } } }', { maxAliases: 2 })).toMatchObject([{ limit: 'aliases' }]);
  });

  it('allows directives up to the limit and refuses more', () => {
    const directives = (n: number) => `{ node { name ${'@include(if: true) '.repeat(n)} } }`;
    expect(check(directives(2), { maxDirectives: 2 })).toEqual([]);
    expect(check(directives(3), { maxDirectives: 2 })).toMatchObject([{ code: 'GRAPHQL_VALIDATION_FAILED', limit: 'directives' }]);
  });

  it('reports every limit a document breaks, each with GRAPHQL_VALIDATION_FAILED', () => {
    const errors = check(`{ x: node { y: child { z: child { name @skip(if: false) @skip(if: false) } } } }`, {
      maxDepth: 2,
      maxAliases: 2,
      maxDirectives: 1,
    });
    expect(errors.map((e) => e.limit).sort()).toEqual(['aliases', 'depth', 'directives']);
    expect(new Set(errors.map((e) => e.code))).toEqual(new Set(['GRAPHQL_VALIDATION_FAILED']));
  });
});

describe('repeated selections, measured before graphql-js validates (its OverlappingFieldsCanBeMerged is quadratic in them)', () => {
  const repeated = (n: number) => `{ node { ${'child { name } '.repeat(n)} } }`;

  it('counts the pairs of same-named selections, weighted by their sizes', () => {
    expect(mergeWork(parse('{ node { name child { name } } }'))).toBe(0);
    expect(mergeWork(parse('{ node { name name } }'))).toBe(1);
    expect(mergeWork(parse(repeated(3)))).toBe(3 * 2 * 2); // 3 pairs of 2-field subtrees
    // Distinct aliases are not compared; a fragment spread twice at one level is compared once.
    expect(mergeWork(parse('{ node { a: name b: name } }'))).toBe(0);
    expect(mergeWork(parse('{ node { ...F ...F } } fragment F on Node { name }'))).toBe(0);
    expect(mergeWork(parse('{ node { name ...F } } fragment F on Node { name }'))).toBe(1);
  });

  it('passes usual documents, the introspection query included', () => {
    expect(mergeWork(parse(getIntrospectionQuery({ descriptions: true, inputValueDeprecation: true, directiveIsRepeatable: true })))).toBe(
      0,
    );
    expect(checkDocumentBeforeValidation(repeated(20), 3000)).toBeUndefined();
  });

  it('refuses 745 repeats of one field (15 KB, within the token limit), which graphql-js took 150-600 ms to validate', () => {
    const error = checkDocumentBeforeValidation(repeated(745), 3000);
    expect(error?.extensions).toEqual({ code: 'GRAPHQL_VALIDATION_FAILED', limit: 'repeats' });
    expect(error?.message).toContain(String(MAX_MERGE_WORK));
  });

  it('refuses the chain of fragment pairs, reading each fragment a bounded number of times', () => {
    const document = parse(fragmentPairChain(22, 'Node', '{ node { ...A0 ...B0 } }', 'name'));
    const counter = countFragmentWalks(document, 10 * 44);
    expect(mergeWork(document)).toBeGreaterThan(MAX_MERGE_WORK);
    expect(counter.reads()).toBeLessThanOrEqual(10 * 44);
  });

  it('leaves a document that does not parse, or has too many tokens, to Apollo', () => {
    expect(checkDocumentBeforeValidation('{ node { ', 3000)).toBeUndefined();
    expect(checkDocumentBeforeValidation(repeated(745), 100)).toBeUndefined();
  });
});
