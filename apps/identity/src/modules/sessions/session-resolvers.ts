import type { IdentityAudit } from '../audit/identity-audit.js';
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
  audit: Pick<IdentityAudit, 'record'>;
}): Resolvers {
  /**
   * Recorded before the sessions go (a revocation may span sessions). Its id is fresh, never the
   * request's: X-Request-Id is the client's, and a reused one (or two aliased revocations in one
   * request) would make a later revocation a "duplicate" and hide it. A retry may record twice.
   */
  const revoked = (ctx: RequestContext, caller: { organizationId: string; userId: string }, target: { type: string; id: string }) =>
    deps.audit.record(originOf(ctx), {
      action: 'session.revoked',
      organizationId: caller.organizationId,
      target,
      outcome: 'success',
      subjectUserId: caller.userId,
    });
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
        await revoked(ctx, caller, { type: 'session', id: caller.sessionId });
        await deps.sessionRepository.revokeOne(caller.organizationId, caller.userId, caller.sessionId, new Date());
        return true;
      },
      revokeSession: async (_, args, ctx) => {
        const caller = signedInUser(ctx);
        // Recorded only for a live session of the caller's (revokeOne revokes nothing else).
        const session = /^[a-f0-9]{24}$/.test(args.id) ? await deps.sessionRepository.findById(args.id) : null;
        if (session && !session.revokedAt && session.userId === caller.userId && session.organizationId === caller.organizationId)
          await revoked(ctx, caller, { type: 'session', id: session._id });
        return deps.sessionRepository.revokeOne(caller.organizationId, caller.userId, args.id, new Date());
      },
      revokeAllSessions: async (_, __, ctx) => {
        const caller = signedInUser(ctx);
        await revoked(ctx, caller, { type: 'user', id: caller.userId });
        return deps.sessionRepository.revokeForUser(caller.organizationId, caller.userId, new Date());
      },
    },
  };
}
