import type { LivenessSubject, LivenessVerdict } from '@usergraph/service-kit';
import type { ApplicationRepository } from '../applications/application-repository.js';
import type { SessionRepository } from './session-repository.js';

/**
 * Whether the session behind a user token, or the application behind an
 * application token, still stands. Every subgraph asks this (cached briefly)
 * before it honours a token: logout, sign-out everywhere, a password change,
 * closing or deleting the account, and deactivating an application take
 * effect at once, not when the access token expires. For an application it
 * also returns the permissions it holds now, to which its token's scope is
 * narrowed.
 */
export function createCallerLiveness(deps: { sessions: SessionRepository; applications: ApplicationRepository }) {
  return async function isLive(caller: LivenessSubject): Promise<LivenessVerdict> {
    if (caller.kind === 'user') {
      const session = await deps.sessions.findById(caller.sessionId);
      return {
        live: session !== null && session.userId === caller.userId && session.organizationId === caller.organizationId && !session.revokedAt,
      };
    }
    const application = await deps.applications.findByClientId(caller.clientId);
    const live = application !== null && application.organizationId === caller.organizationId && application.status === 'ACTIVE';
    return live ? { live, permissions: application.permissions } : { live };
  };
}

export type CallerLiveness = ReturnType<typeof createCallerLiveness>;
