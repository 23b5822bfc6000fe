import type { IdentityAudit } from '../audit/identity-audit.js';
import { auditEvent, originOf } from '@usergraph/audit';
import { callerSessionStands, sessionStands, type CredentialRepository } from '../credentials/credential-repository.js';
import type { RequestContext } from '@usergraph/service-kit';
import { DomainError, unauthenticated } from '@usergraph/service-kit';
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
  credentials: Pick<CredentialRepository, 'findById' | 'endAllSessions'>;
  audit: Pick<IdentityAudit, 'kickSession' | 'kickCredentials'>;
}): Resolvers {
  /**
   * In the write that revokes (the session's, or the credentials' cut-off for all of them). Its id is fresh,
   * never the request's: X-Request-Id is the client's, and a reused one would make a later revocation a
   * "duplicate" and hide it.
   */
  const revoked = (ctx: RequestContext, caller: { organizationId: string; userId: string }, target: { type: string; id: string }) =>
    auditEvent(originOf(ctx), {
      action: 'session.revoked',
      organizationId: caller.organizationId,
      target,
      outcome: 'success',
      subjectUserId: caller.userId,
    });
  /**
   * Revokes one session of the caller's, its event in the same write (none when nothing was revoked: not the
   * caller's, not current, or already cut off by a password change, a reset or a sign-out everywhere).
   */
  async function revokeOne(ctx: RequestContext, caller: { organizationId: string; userId: string }, sessionId: string) {
    const credential = await deps.credentials.findById(caller.organizationId, caller.userId);
    if (!credential) return false;
    const done = await deps.sessionRepository.revokeOne(
      caller.organizationId,
      caller.userId,
      sessionId,
      new Date(),
      revoked(ctx, caller, { type: 'session', id: sessionId }),
      credential,
    );
    if (done) deps.audit.kickSession(sessionId);
    return done;
  }
  return {
    Query: {
      async mySessions(_, __, ctx) {
        const caller = signedInUser(ctx);
        const [listed, credential] = await Promise.all([
          deps.sessionRepository.listActiveForUser(caller.organizationId, caller.userId, new Date()),
          deps.credentials.findById(caller.organizationId, caller.userId),
        ]);
        // Not those a password change, a reset or a sign-out everywhere cut off (their sweep may not have run).
        const live = credential ? listed.filter((session) => sessionStands(session, credential)) : [];
        return live.map((s) => ({ id: s._id, createdAt: s.createdAt, expiresAt: s.refreshExpiresAt, current: s._id === caller.sessionId }));
      },
    },
    Mutation: {
      login: (_, args, ctx) => deps.login.login(args, { clientIp: ctx.clientIp, origin: originOf(ctx) }),
      refreshSession: (_, args, ctx) => deps.sessions.refresh(args.refreshToken, ctx.clientIp),
      logout: async (_, __, ctx) => {
        const caller = signedInUser(ctx);
        // The access token may name a session its client has since refreshed: logout ends the login, i.e. its current session.
        const own = await deps.sessionRepository.findById(caller.sessionId);
        const current = own?.rotatedAt
          ? await deps.sessionRepository.currentOfFamily(caller.organizationId, caller.userId, own.familyId)
          : caller.sessionId;
        if (current) await revokeOne(ctx, caller, current);
        return true;
      },
      revokeSession: async (_, args, ctx) => {
        const caller = signedInUser(ctx);
        // revokeOne revokes (and records) only a live session of the caller's.
        return /^[a-f0-9]{24}$/.test(args.id) ? revokeOne(ctx, caller, args.id) : false;
      },
      revokeAllSessions: async (_, __, ctx) => {
        const caller = signedInUser(ctx);
        const ended = () => unauthenticated('This session has ended; sign in again');
        // Only a session that still stands signs out everywhere (issue 17): the token's cached liveness let one
        // login repeat it, each time a session.revoked event and a webhook delivery.
        const standing = async () => {
          const [own, credential] = await Promise.all([
            deps.sessionRepository.findById(caller.sessionId),
            deps.credentials.findById(caller.organizationId, caller.userId),
          ]);
          return callerSessionStands(own, caller, credential) ? credential : null;
        };
        const credential = await standing();
        if (!credential) throw ended();
        // One write ends every session (the credentials' cut-off) with its event, if no other cut-off came first.
        const event = revoked(ctx, caller, { type: 'user', id: caller.userId });
        if (!(await deps.credentials.endAllSessions(caller.organizationId, caller.userId, credential, event))) {
          // Another cut-off came first. A password change from this very login keeps it: the caller still stands
          // and may retry; any other ended the caller's session.
          if (await standing())
            throw new DomainError('CONFLICT', 'The sessions were changed concurrently; try again', [], { reason: 'CONCURRENT_CHANGE' });
          throw ended();
        }
        deps.audit.kickCredentials(caller.userId);
        // Cleanup: the cut-off already refuses them.
        return deps.sessionRepository.revokeForUser(caller.organizationId, caller.userId, new Date());
      },
    },
  };
}
