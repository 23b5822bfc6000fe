// Type-level tests of the resolver types generated from this subgraph's SDL
// (codegen.ts). `vitest run` typechecks this file (vitest.config.ts): every
// expected error below must happen, or the test fails.
import { describe, expectTypeOf, it } from 'vitest';
import type { RequestContext } from '@usergraph/service-kit';
import type { Resolvers, UserResolvers } from './generated/resolvers-types.js';
import type { UserLicensesDto } from './modules/licenses/license-service.js';
import type { createGroupResolvers } from './modules/groups/group-resolvers.js';
import type { createLicenseResolvers } from './modules/licenses/license-resolvers.js';

type UserField = Extract<NonNullable<UserResolvers['groups']>, (...args: never[]) => unknown>;

describe('licensing resolver types', () => {
  it('type every resolver map of the service with the generated Resolvers', () => {
    expectTypeOf<ReturnType<typeof createGroupResolvers>>().toEqualTypeOf<Resolvers>();
    expectTypeOf<ReturnType<typeof createLicenseResolvers>>().toEqualTypeOf<Resolvers>();
  });

  it('give a User field its parent as the service DTO (the mapper) and the request context', () => {
    expectTypeOf<Parameters<UserField>[0]>().toEqualTypeOf<UserLicensesDto>();
    expectTypeOf<Parameters<UserField>[2]>().toEqualTypeOf<RequestContext>();
  });

  it('refuse a resolver that returns the wrong shape', () => {
    const resolvers: Resolvers = {
      Mutation: {
        // @ts-expect-error Group needs memberCount: Int!
        createGroup: (_, args) => ({ name: args.name }),
        // @ts-expect-error deleteGroup returns Boolean!, not a Group
        deleteGroup: () => ({ name: 'A', memberCount: 0 }),
      },
      User: {
        // @ts-expect-error licenses are LicenseType values, not any string
        licenses: () => ['OWNER'],
      },
    };
    expectTypeOf(resolvers).toEqualTypeOf<Resolvers>();
  });

  it('refuse reading an argument the field does not declare, and a field the schema does not have', () => {
    const resolvers: Resolvers = {
      Mutation: {
        // @ts-expect-error renameGroup takes name and newName, not newname
        renameGroup: (_, args) => ({ name: args.newname, memberCount: 0 }),
        // @ts-expect-error no such mutation in this subgraph
        createGroups: () => [],
      },
    };
    expectTypeOf(resolvers).toEqualTypeOf<Resolvers>();
  });
});
