import { originOf } from '@usergraph/audit';
import type { RequestContext } from '@usergraph/service-kit';
import { unauthenticated } from '@usergraph/service-kit';
import type { LoginService } from './login-service.js';
import type { SessionRepository } from './session-repository.js';
import type { SessionService } from './session-service.js';
import type { Resolvers } from '../../generated/resolvers-types.js';

function signedInUser(ctx: RequestContext) {
  if (ctx.caller.kind !== 'user') throw unauthenticated('Sign in as a user to manage sessions');
  return ctx.caller;
}

export function createSessionResolvers(deps: {
  login: LoginService;
  sessions: SessionService;
  sessionRepository: SessionRepository;
}): Resolvers {
  return {
    Query: {
      async mySessions(_, __, ctx) {
        const caller = signedInUser(ctx);
        const live = await deps.sessionRepository.listActiveForUser(caller.organizationId, caller.userId, new Date());
        return live.map((s) => ({ id: s._id, createdAt: s.createdAt, expiresAt: s.refreshExpiresAt, current: s._id === caller.sessionId }));
      },
    },
    Mutation: {
      login: (_, args, ctx) => deps.login.login(args, { clientIp: ctx.clientIp, origin: originOf(ctx) }),
      refreshSession: (_, args, ctx) => deps.sessions.refresh(args.refreshToken, ctx.clientIp),
      logout: async (_, __, ctx) => {
        const caller = signedInUser(ctx);
        await deps.sessionRepository.revokeOne(caller.organizationId, caller.userId, caller.sessionId, new Date());
        return true;
      },
      revokeSession: (_, args, ctx) => {
        const caller = signedInUser(ctx);
        return deps.sessionRepository.revokeOne(caller.organizationId, caller.userId, args.id, new Date());
      },
      revokeAllSessions: (_, __, ctx) => {
        const caller = signedInUser(ctx);
        return deps.sessionRepository.revokeForUser(caller.organizationId, caller.userId, new Date());
      },
    },
  };
}
