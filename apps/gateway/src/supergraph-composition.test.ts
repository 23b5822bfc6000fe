import { buildSchema, isObjectType, Kind, parse, type ObjectTypeDefinitionNode } from 'graphql';
import { describe, expect, it } from 'vitest';
import { composeSupergraph } from './test-support/compose-supergraph.js';

/** The subgraphs (by join__Graph enum value) that contribute each field of `typeName`. */
function fieldOwners(supergraphSdl: string, typeName: string): Map<string, Set<string>> {
  const def = parse(supergraphSdl).definitions.find(
    (d): d is ObjectTypeDefinitionNode => d.kind === Kind.OBJECT_TYPE_DEFINITION && d.name.value === typeName,
  );
  if (!def) throw new Error(`no type ${typeName}`);
  const typeGraphs = (def.directives ?? [])
    .filter((d) => d.name.value === 'join__type')
    .map((d) => d.arguments?.find((a) => a.name.value === 'graph')?.value)
    .map((v) => (v?.kind === Kind.ENUM ? v.value : ''));
  const owners = new Map<string, Set<string>>();
  for (const field of def.fields ?? []) {
    const joins = (field.directives ?? []).filter((d) => d.name.value === 'join__field');
    const graphs = joins.length
      ? joins
          .filter((d) => !d.arguments?.some((a) => a.name.value === 'external' && a.value.kind === Kind.BOOLEAN && a.value.value))
          .map((d) => d.arguments?.find((a) => a.name.value === 'graph')?.value)
          .map((v) => (v?.kind === Kind.ENUM ? v.value : ''))
      : typeGraphs;
    owners.set(field.name.value, new Set(graphs));
  }
  return owners;
}

describe('composeSupergraph', () => {
  const result = composeSupergraph();

  it('composes without errors', () => {
    expect(result.errors?.map((e) => e.message)).toBeUndefined();
    expect(result.supergraphSdl).toBeTruthy();
  });

  it('has the User entity with fields from all three subgraphs', () => {
    const sdl = result.supergraphSdl!;
    const owners = fieldOwners(sdl, 'User');
    expect(owners.get('id')).toEqual(new Set(['IDENTITY', 'ORG_USERS', 'LICENSING']));
    expect(owners.get('email')?.has('ORG_USERS')).toBe(true);
    expect(owners.get('username')).toEqual(new Set(['IDENTITY']));
    expect(owners.get('licenses')).toEqual(new Set(['LICENSING']));
    expect(owners.get('groups')).toEqual(new Set(['LICENSING']));
    expect(owners.get('organization')).toEqual(new Set(['ORG_USERS']));
    // Every subgraph can resolve a User by id.
    expect(sdl).toMatch(/type User[^{]*@join__type\(graph: IDENTITY, key: "id"\)/);
    expect(sdl).toMatch(/type User[^{]*@join__type\(graph: ORG_USERS, key: "id"\)/);
    expect(sdl).toMatch(/type User[^{]*@join__type\(graph: LICENSING, key: "id"\)/);
  });

  it('exposes register and login from identity, and me from org-users', () => {
    const sdl = result.supergraphSdl!;
    const mutation = fieldOwners(sdl, 'Mutation');
    expect(mutation.get('register')).toEqual(new Set(['IDENTITY']));
    expect(mutation.get('login')).toEqual(new Set(['IDENTITY']));
    expect(mutation.get('refreshSession')).toEqual(new Set(['IDENTITY']));
    expect(fieldOwners(sdl, 'Query').get('me')).toEqual(new Set(['ORG_USERS']));
  });

  it('yields a valid API schema where the fields meet on one User type', () => {
    const api = result.schema!.toAPISchema().toGraphQLJSSchema();
    const user = api.getType('User');
    expect(isObjectType(user)).toBe(true);
    if (!isObjectType(user)) return;
    expect(Object.keys(user.getFields())).toEqual(
      expect.arrayContaining(['id', 'email', 'username', 'licenses', 'groups', 'organization']),
    );
    expect(api.getMutationType()?.getFields().register?.type.toString()).toBe('RegisterResponse!');
    expect(api.getMutationType()?.getFields().login?.type.toString()).toBe('Session!');
    // Federation internals never reach clients.
    expect(api.getQueryType()?.getFields()._entities).toBeUndefined();
    expect(() => buildSchema(result.supergraphSdl!)).not.toThrow();
  });
});
