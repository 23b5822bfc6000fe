// Type-level tests of the resolver types generated from this subgraph's SDL
// (codegen.ts). `vitest run` typechecks this file (vitest.config.ts): every
// expected error below must happen, or the test fails.
import { describe, expectTypeOf, it } from 'vitest';
import type { RequestContext } from '@usergraph/service-kit';
import type { Resolvers, UserResolvers, ViewerResolvers } from './generated/resolvers-types.js';
import type { ProfileDto } from './modules/users/user-service.js';
import type { ViewerModel, createUserAdminResolvers } from './modules/user-admin/user-admin-resolvers.js';
import type { createUserResolvers } from './modules/users/user-resolvers.js';
import type { createConsumerResolvers } from './modules/consumer/consumer-resolvers.js';
import type { createOrganizationResolvers } from './modules/organizations/organization-resolvers.js';

type FieldFn<R> = Extract<NonNullable<R>, (...args: never[]) => unknown>;

describe('org-users resolver types', () => {
  it('type every resolver map of the service with the generated Resolvers', () => {
    expectTypeOf<ReturnType<typeof createUserResolvers>>().toEqualTypeOf<Resolvers>();
    expectTypeOf<ReturnType<typeof createConsumerResolvers>>().toEqualTypeOf<Resolvers>();
    expectTypeOf<ReturnType<typeof createOrganizationResolvers>>().toEqualTypeOf<Resolvers>();
    expectTypeOf<ReturnType<typeof createUserAdminResolvers>>().toEqualTypeOf<Resolvers>();
  });

  it('give User and Viewer fields their parent as the service DTO (the mapper) and the request context', () => {
    expectTypeOf<Parameters<FieldFn<UserResolvers['address']>>[0]>().toEqualTypeOf<ProfileDto>();
    expectTypeOf<Parameters<FieldFn<UserResolvers['address']>>[2]>().toEqualTypeOf<RequestContext>();
    expectTypeOf<Parameters<FieldFn<ViewerResolvers['currentOrganization']>>[0]>().toEqualTypeOf<ViewerModel>();
  });

  it('refuse a resolver that returns the wrong shape', () => {
    const resolvers: Resolvers = {
      Query: {
        // @ts-expect-error a User is a whole ProfileDto, not just an id
        me: () => ({ id: 'u1' }),
      },
      Mutation: {
        // @ts-expect-error D's UserError needs path, message and fullMessage
        createUser: () => ({ errors: [{ message: 'is taken' }], user: null }),
      },
      User: {
        // @ts-expect-error a telephone is a String, not a number
        telephone: () => 4155552671,
      },
    };
    expectTypeOf(resolvers).toEqualTypeOf<Resolvers>();
  });

  it('refuse reading an argument the field does not declare, and a field the schema does not have', () => {
    const resolvers: Resolvers = {
      Query: {
        // @ts-expect-error organizationUser takes id, not userId
        organizationUser: (_, args) => (args.userId === '' ? null : null),
        // @ts-expect-error no such query in this subgraph
        user: () => null,
      },
    };
    expectTypeOf(resolvers).toEqualTypeOf<Resolvers>();
  });
});
