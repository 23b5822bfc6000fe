import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { Types } from 'mongoose';
import { unauthenticated } from '@usergraph/service-kit';
import type { AuditEvent } from '@usergraph/audit';
import type { SigningKeys } from '../keys/signing-keys.js';
import { sessionStands, type CredentialDoc } from '../credentials/credential-repository.js';
import type { SessionDoc, SessionRepository } from './session-repository.js';

/** What clients get back: B's `session { _id jwt expires }` plus the refresh token. */
export interface SessionDto {
  _id: string;
  jwt: string;
  /** Access-token expiry, in milliseconds since the epoch (B's Float). */
  expires: number;
  refreshToken: string;
  refreshTokenExpires: number;
}

/** A login's one message for every failure, so a caller cannot tell which part was wrong. */
export const INVALID_CREDENTIALS = 'Invalid organization, identifier or password';

const sha256 = (s: string) => createHash('sha256').update(s).digest('base64url');
const reuseDetected = () => unauthenticated('Refresh token reuse detected: all sessions of this login were revoked');

/** Refresh tokens read "<sessionId>.<secret>": the id finds the session, the secret proves possession. */
function parseRefreshToken(token: string): { sessionId: string; secret: string } | undefined {
  const match = /^([a-f0-9]{24})\.([A-Za-z0-9_-]{43})$/.exec(token);
  return match ? { sessionId: match[1]!, secret: match[2]! } : undefined;
}

export function createSessionService(deps: {
  sessions: SessionRepository;
  keys: SigningKeys;
  accessTtlSeconds: number;
  refreshTtlDays: number;
  /** A login (a family of rotated sessions) ends this many days after its sign-in, however often it is refreshed. */
  maxSessionDays: number;
  /**
   * The account's credentials, if it may hold a session: they exist here and org-users
   * does not hold it CLOSED (else null). Asked before every new login's session and every
   * refresh, whichever path issues it (login, register and its replays, refresh).
   */
  openAccountCredential: (organizationId: string, userId: string) => Promise<CredentialDoc | null>;
  /** Counts one refresh of the user's sessions; RATE_LIMITED past REFRESH_LIMIT (AccountLimits.perRefresh). */
  limitRefresh: (organizationId: string, userId: string) => Promise<void>;
}) {
  const { sessions, keys } = deps;

  /** When a login ends whatever its refreshes: the family's id is its first session's ObjectId, which holds the sign-in time. */
  const loginEndsAt = (familyId: string | undefined, now: Date) =>
    (familyId ? new Types.ObjectId(familyId).getTimestamp().getTime() : now.getTime()) + deps.maxSessionDays * 86_400_000;

  /** A new session for a login, or, with `previous` (already marked rotated), the one that replaces it. */
  async function issue(
    user: { userId: string; organizationId: string },
    clientIp: string,
    opts: {
      previous?: SessionDoc;
      /**
       * A login: the credentials whose password was just verified. The session is issued under their
       * `sessionsGeneration`, so a login that raced a password change is born cut off.
       */
      verified?: Pick<CredentialDoc, 'sessionsGeneration'>;
      /** A login's audit event, stored in the session's own insert. */
      event?: (sessionId: string) => AuditEvent;
    } = {},
  ): Promise<SessionDto> {
    const { previous } = opts;
    let credentialsGeneration = previous?.credentialsGeneration;
    // A refresh (`previous`) has checked the account already, and revokes the family when it is not open.
    if (!previous) {
      const credential = await deps.openAccountCredential(user.organizationId, user.userId);
      if (!credential) throw unauthenticated('This account is closed or no longer exists');
      const current = credential.sessionsGeneration ?? 0;
      // The password verified is no longer the account's: changed or reset meanwhile.
      if (opts.verified && (opts.verified.sessionsGeneration ?? 0) < current) throw unauthenticated(INVALID_CREDENTIALS);
      credentialsGeneration = opts.verified ? (opts.verified.sessionsGeneration ?? 0) : current;
    }
    const sessionId = new Types.ObjectId().toHexString();
    const secret = randomBytes(32).toString('base64url');
    const { token, expiresAt } = await keys.sign(
      { sub: user.userId, org: user.organizationId, typ: 'user', sid: sessionId },
      deps.accessTtlSeconds,
    );
    const now = new Date();
    const refreshExpiresAt = new Date(Math.min(now.getTime() + deps.refreshTtlDays * 86_400_000, loginEndsAt(previous?.familyId, now)));
    const session = {
      _id: sessionId,
      organizationId: user.organizationId,
      userId: user.userId,
      familyId: previous?.familyId ?? sessionId,
      refreshTokenHash: sha256(secret),
      refreshExpiresAt,
      accessExpiresAt: new Date(expiresAt),
      clientIp,
      ...(credentialsGeneration ? { credentialsGeneration } : {}),
    };
    if (!previous) await sessions.insertLogin({ ...session, ...(opts.event ? { auditOutbox: [opts.event(sessionId)] } : {}) }, now);
    // A concurrent reuse revoked the family before the new session took its place: it goes with the family.
    else if (!(await sessions.insertRotated(previous, session, now))) throw reuseDetected();
    return {
      _id: sessionId,
      jwt: token,
      expires: expiresAt,
      refreshToken: `${sessionId}.${secret}`,
      refreshTokenExpires: refreshExpiresAt.getTime(),
    };
  }

  /**
   * Exchanges a refresh token for a new session. Presenting a token that was
   * already rotated means it leaked: the whole family is revoked.
   */
  async function refresh(refreshToken: string, clientIp: string): Promise<SessionDto> {
    const invalid = () => unauthenticated('Invalid or expired refresh token');
    const parsed = parseRefreshToken(refreshToken);
    if (!parsed) throw invalid();
    const session = await sessions.findById(parsed.sessionId);
    if (!session) throw invalid();
    const expected = Buffer.from(session.refreshTokenHash);
    const given = Buffer.from(sha256(parsed.secret));
    if (expected.length !== given.length || !timingSafeEqual(expected, given)) throw invalid();
    const now = new Date();
    if (session.revokedAt || session.refreshExpiresAt <= now || loginEndsAt(session.familyId, now) <= now.getTime()) throw invalid();
    // The account must still exist and be open, and the session must not be cut off by a password change,
    // a reset or a sign-out everywhere (see sessionStands). Closing or deleting the account revokes its
    // sessions; this also ends a login or a refresh that raced the close, the deletion or the change.
    const credential = await deps.openAccountCredential(session.organizationId, session.userId);
    if (!credential || !sessionStands(session, credential)) {
      await sessions.revokeFamily(session, now);
      throw invalid();
    }
    if (session.rotatedAt) {
      await sessions.revokeFamily(session, now);
      throw reuseDetected();
    }
    // Only a refresh that would rotate counts, before anything is written: a refused one leaves the token valid.
    await deps.limitRefresh(session.organizationId, session.userId);
    // A concurrent refresh with the same token won the race: reuse.
    if (!(await sessions.markRotated(session._id, now))) {
      await sessions.revokeFamily(session, now);
      throw reuseDetected();
    }
    return issue({ userId: session.userId, organizationId: session.organizationId }, clientIp, { previous: session });
  }

  return { issue, refresh };
}

export type SessionService = ReturnType<typeof createSessionService>;
