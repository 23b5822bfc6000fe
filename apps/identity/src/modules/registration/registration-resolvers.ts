import { originOf } from '@usergraph/audit';
import DataLoader from 'dataloader';
import { DateTimeResolver } from 'graphql-scalars';
import { forbidden, requireAuthenticated, type RequestContext } from '@usergraph/service-kit';
import type { CredentialRepository } from '../credentials/credential-repository.js';
import type { RegistrationService } from './registration-service.js';
import type { DirectoryAccess } from './directory-access.js';
import type { RegisterUserArgs, RegisterUserResult } from './register-user-service.js';
import type { Resolvers } from '../../generated/resolvers-types.js';

/**
 * identity's User (the GraphQL type's mapper): what `__resolveReference` finds,
 * or the profile `register` just wrote (its @provides fields come from it).
 */
export interface IdentityUser {
  id: string;
  username?: string | null;
  phoneNumber?: string | null;
}

const usernameLoaders = new WeakMap<RequestContext, DataLoader<string, { username: string | null } | undefined>>();

export function createRegistrationResolvers(deps: {
  registration: RegistrationService;
  credentials: CredentialRepository;
  /** org-users' rule for directory fields (username), also on a direct call here. */
  requireDirectoryReader: DirectoryAccess;
  registerUser: (ctx: RequestContext, args: RegisterUserArgs) => Promise<RegisterUserResult>;
}): Resolvers {
  /** Batches `User.username` for every user of one request into one query, inside the caller's organization. */
  function loaderFor(ctx: RequestContext) {
    let loader = usernameLoaders.get(ctx);
    if (!loader) {
      const organizationId = requireAuthenticated(ctx.caller).organizationId;
      loader = new DataLoader(async (ids) => {
        const found = new Map((await deps.credentials.findByIds(organizationId, ids)).map((c) => [c._id, c]));
        return ids.map((id) => {
          const c = found.get(id);
          return c ? { username: c.username ?? null } : undefined;
        });
      });
      usernameLoaders.set(ctx, loader);
    }
    return loader;
  }

  return {
    DateTime: DateTimeResolver,
    Mutation: {
      register: (_, args, ctx) =>
        deps.registration.register(args, {
          caller: ctx.caller,
          organizationSlug: ctx.headers.organizationSlug,
          clientIp: ctx.clientIp,
          idempotencyKey: ctx.headers.idempotencyKey,
          audit: originOf(ctx),
        }),
      registerUser: (_, args, ctx) => deps.registerUser(ctx, args),
    },
    User: {
      async __resolveReference(ref, ctx) {
        const found = await loaderFor(ctx).load(ref.id);
        if (!found) throw forbidden('This user is not visible to you');
        // Same words as above: to a self-only caller, a colleague is as invisible as a stranger.
        await deps.requireDirectoryReader(ctx.caller, ref.id);
        return { id: ref.id, ...found };
      },
      _id: (u) => u.id,
      telephone: (u) => u.phoneNumber ?? null,
    },
  };
}
