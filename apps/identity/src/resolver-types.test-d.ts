// Type-level tests of the resolver types generated from this subgraph's SDL
// (codegen.ts). `vitest run` typechecks this file (vitest.config.ts): every
// expected error below must happen, or the test fails.
import { describe, expectTypeOf, it } from 'vitest';
import type { RequestContext } from '@usergraph/service-kit';
import type { Resolvers, UserResolvers } from './generated/resolvers-types.js';
import type { IdentityUser, createRegistrationResolvers } from './modules/registration/registration-resolvers.js';
import type { createSessionResolvers } from './modules/sessions/session-resolvers.js';
import type { createApplicationResolvers } from './modules/applications/application-resolvers.js';
import type { createPasswordResolvers } from './modules/credentials/password-resolvers.js';
import type { createVerificationResolvers } from './modules/verification/verification-resolvers.js';

type UserField = Extract<NonNullable<UserResolvers['telephone']>, (...args: never[]) => unknown>;

describe('identity resolver types', () => {
  it('type every resolver map of the service with the generated Resolvers', () => {
    expectTypeOf<ReturnType<typeof createRegistrationResolvers>>().toEqualTypeOf<Resolvers>();
    expectTypeOf<ReturnType<typeof createSessionResolvers>>().toEqualTypeOf<Resolvers>();
    expectTypeOf<ReturnType<typeof createApplicationResolvers>>().toEqualTypeOf<Resolvers>();
    expectTypeOf<ReturnType<typeof createPasswordResolvers>>().toEqualTypeOf<Resolvers>();
    expectTypeOf<ReturnType<typeof createVerificationResolvers>>().toEqualTypeOf<Resolvers>();
  });

  it('give a User field its parent as the mapper and the request context', () => {
    expectTypeOf<Parameters<UserField>[0]>().toEqualTypeOf<IdentityUser>();
    expectTypeOf<Parameters<UserField>[2]>().toEqualTypeOf<RequestContext>();
  });

  it('refuse a resolver that returns the wrong shape', () => {
    const resolvers: Resolvers = {
      Mutation: {
        // @ts-expect-error a Session (SessionDto) has _id, jwt, expires, refreshToken and refreshTokenExpires
        login: () => ({ jwt: 'token' }),
        // @ts-expect-error C's success is a Boolean
        registerUser: () => ({ success: 'yes', error: null }),
        // @ts-expect-error revokeAllSessions counts the sessions (Int!)
        revokeAllSessions: () => true,
      },
    };
    expectTypeOf(resolvers).toEqualTypeOf<Resolvers>();
  });

  it('refuse reading an argument the field does not declare, and a field the schema does not have', () => {
    const resolvers: Resolvers = {
      Mutation: {
        // @ts-expect-error refreshSession takes refreshToken, not token
        refreshSession: (_, args) => ({ _id: args.token, jwt: '', expires: 0, refreshToken: '', refreshTokenExpires: 0 }),
        // @ts-expect-error no such mutation in this subgraph
        signUp: () => true,
      },
    };
    expectTypeOf(resolvers).toEqualTypeOf<Resolvers>();
  });
});
