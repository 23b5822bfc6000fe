import type { RequestContext } from '@usergraph/service-kit';
import { unauthenticated } from '@usergraph/service-kit';
import type { LoginService } from './login-service.js';
import type { SessionRepository } from './session-repository.js';
import type { SessionService } from './session-service.js';

export function createSessionResolvers(deps: { login: LoginService; sessions: SessionService; sessionRepository: SessionRepository }) {
  return {
    Query: {
      async mySessions(_: unknown, __: unknown, ctx: RequestContext) {
        if (ctx.caller.kind !== 'user') throw unauthenticated('Sign in as a user to list sessions');
        const caller = ctx.caller;
        const live = await deps.sessionRepository.listActiveForUser(caller.organizationId, caller.userId, new Date());
        return live.map((s) => ({ id: s._id, createdAt: s.createdAt, expiresAt: s.refreshExpiresAt, current: s._id === caller.sessionId }));
      },
    },
    Mutation: {
      login: (_: unknown, args: unknown, ctx: RequestContext) => deps.login.login(args, { clientIp: ctx.clientIp }),
      refreshSession: (_: unknown, args: { refreshToken: string }, ctx: RequestContext) =>
        deps.sessions.refresh(args.refreshToken, ctx.clientIp),
    },
  };
}
