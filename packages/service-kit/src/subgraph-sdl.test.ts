import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { GraphQLScalarType, Kind, print } from 'graphql';
import { describe, expect, it } from 'vitest';
import { loadSubgraphTypeDefs, mergeResolvers } from './subgraph-sdl.js';

describe('mergeResolvers', () => {
  it('merges the field resolvers of each type across modules', () => {
    const me = () => 'me';
    const org = () => 'org';
    const ref = () => 'ref';
    const merged = mergeResolvers([{ Query: { me }, User: { __resolveReference: ref } }, { Query: { currentOrganization: org } }]);
    expect(merged).toEqual({ Query: { me, currentOrganization: org }, User: { __resolveReference: ref } });
  });

  it('does not mutate the input maps', () => {
    const a = { Query: { a: () => 1 } };
    mergeResolvers([a, { Query: { b: () => 2 } }]);
    expect(Object.keys(a.Query)).toEqual(['a']);
  });

  it('refuses two resolvers for one field', () => {
    expect(() => mergeResolvers([{ Query: { me: () => 1 } }, { Query: { me: () => 2 } }])).toThrow('Two modules resolve Query.me');
  });

  it('accepts one scalar shared by modules, refuses two different ones', () => {
    const dateTime = new GraphQLScalarType({ name: 'DateTime' });
    expect(mergeResolvers([{ DateTime: dateTime }, { DateTime: dateTime }]).DateTime).toBe(dateTime);
    expect(() => mergeResolvers([{ DateTime: dateTime }, { DateTime: new GraphQLScalarType({ name: 'DateTime' }) }])).toThrow(
      'Two modules define the scalar DateTime differently',
    );
  });
});

describe('loadSubgraphTypeDefs', () => {
  it('joins the federation link, root types and module files', () => {
    const dir = mkdtempSync(join(tmpdir(), 'sdl-'));
    writeFileSync(join(dir, 'a.graphql'), 'type A { id: ID! }\nextend type Query { a: A }');
    const doc = loadSubgraphTypeDefs(pathToFileURL(join(dir, 'schema.ts')), ['a.graphql'], ['type Query']);
    expect(doc.definitions[0]?.kind).toBe(Kind.SCHEMA_EXTENSION);
    expect(print(doc)).toContain('https://specs.apollo.dev/federation/v2.7');
    expect(print(doc)).toContain('extend type Query');
  });
});
