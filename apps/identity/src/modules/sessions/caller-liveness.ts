import type { LivenessSubject, LivenessVerdict } from '@usergraph/service-kit';
import type { ApplicationRepository } from '../applications/application-repository.js';
import { callerSessionStands, type CredentialRepository } from '../credentials/credential-repository.js';
import type { SessionRepository } from './session-repository.js';

/**
 * Whether the session behind a user token, or the application behind an
 * application token, still stands. Every subgraph asks this (cached briefly)
 * before it honours a token: logout, sign-out everywhere, a password change,
 * closing or deleting the account, and deactivating an application take
 * effect at once, not when the access token expires. A session also needs its
 * user's credentials: a login that raced the user's deletion left a session
 * nobody revoked; and their cut-off (a password change or reset, sign-out
 * everywhere) ends it even where the sweep after it never ran. For an application it
 * also returns the permissions it holds now, to which its token's scope is
 * narrowed.
 */
export function createCallerLiveness(deps: {
  sessions: SessionRepository;
  credentials: CredentialRepository;
  applications: ApplicationRepository;
}) {
  return async function isLive(caller: LivenessSubject): Promise<LivenessVerdict> {
    if (caller.kind === 'user') {
      const [session, credential] = await Promise.all([
        deps.sessions.findById(caller.sessionId),
        deps.credentials.findById(caller.organizationId, caller.userId),
      ]);
      return { live: callerSessionStands(session, caller, credential) };
    }
    const application = await deps.applications.findByClientId(caller.clientId);
    const live = application !== null && application.organizationId === caller.organizationId && application.status === 'ACTIVE';
    return live ? { live, permissions: application.permissions } : { live };
  };
}

export type CallerLiveness = ReturnType<typeof createCallerLiveness>;
