import { z } from 'zod';
import { emailSchema, normalizeEmail, normalizeUsername, parsePhone, validate } from '@usergraph/validation';
import { DomainError, isNotFound, unauthenticated } from '@usergraph/service-kit';
import type { OrgUsersClient } from '../../clients.js';
import type { CredentialRepository } from '../credentials/credential-repository.js';
import type { PasswordHasher } from '../passwords/password-hasher.js';
import { userAccountKey, type AccountLimits } from '../limits/account-limits.js';
import { INVALID_CREDENTIALS, type SessionDto, type SessionService } from './session-service.js';
import { NO_ID } from '../verification/account-lookup.js';
import { auditEvent, type AuditOrigin } from '@usergraph/audit';
import type { IdentityAudit } from '../audit/identity-audit.js';

const loginArgsSchema = z.object({
  organizationSlug: z.string().trim().min(1).max(63),
  identifier: z.string().trim().min(1).max(254),
  password: z.string().min(1).max(1024),
});

/** The identifier as the store keys it: a normalized email, an E.164 phone number or a normalized username. */
export function canonicalIdentifier(identifier: string): { kind: 'email' | 'phone' | 'username'; value: string } {
  if (emailSchema.safeParse(identifier).success && identifier.includes('@')) return { kind: 'email', value: normalizeEmail(identifier) };
  const phone = parsePhone(identifier);
  if (phone.ok) return { kind: 'phone', value: phone.e164 };
  return { kind: 'username', value: normalizeUsername(identifier) };
}

export function createLoginService(deps: {
  orgUsers: OrgUsersClient;
  credentials: CredentialRepository;
  findUserIdByUsername: (organizationId: string, username: string) => Promise<string | null>;
  hasher: PasswordHasher;
  sessions: SessionService;
  limits: AccountLimits;
  audit: Pick<IdentityAudit, 'record' | 'kickSession'>;
  /** The failed-login window: failures for identifiers that name no account make one event per organization and window. */
  failureWindowSeconds: number;
}) {
  /** The identifier is an email, a phone number (E.164, or with +country code) or a username. */
  async function resolveUserId(organizationId: string, id: ReturnType<typeof canonicalIdentifier>): Promise<string | null> {
    if (id.kind === 'username') return deps.findUserIdByUsername(organizationId, id.value);
    return deps.orgUsers.findUserIdByIdentifier(organizationId, id.kind, id.value);
  }

  async function login(rawArgs: unknown, ctx: { clientIp: string; origin: AuditOrigin }): Promise<SessionDto> {
    const checked = validate(loginArgsSchema, rawArgs);
    if (!checked.ok) {
      throw new DomainError('BAD_USER_INPUT', 'Invalid input', checked.errors);
    }
    const { organizationSlug, identifier, password } = checked.value;
    await deps.limits.perIp(ctx.clientIp);
    const organization = await deps.orgUsers.getOrganizationBySlug(organizationSlug).catch((err: unknown) => {
      if (isNotFound(err)) return undefined;
      throw err;
    });
    const id = canonicalIdentifier(identifier);
    // An unknown organization takes the same lookups as a known one (NO_ID finds nothing).
    const userId = await resolveUserId(organization?.id ?? NO_ID, id);
    // Failures count against the account, whichever identifier names it; an
    // identifier that names no account counts in its canonical form.
    const accountKey =
      organization && userId
        ? userAccountKey(organization.id, userId)
        : `${organization?.id ?? `unknown-org:${organizationSlug}`}:${id.kind}:${id.value}`;
    await deps.limits.perAccount(accountKey);
    // The request is anonymous: a failure or a lockout is the anonymous caller's, against the account (the target).
    const target = userId ? { type: 'user', id: userId } : { type: 'account', id: 'unknown' };
    const lockedOut =
      organization && userId
        ? (lockout: { until: Date }) =>
            deps.audit.record(ctx.origin, {
              action: 'user.locked_out',
              organizationId: organization.id,
              target,
              outcome: 'refused',
              subjectUserId: userId,
              // One event per lockout, however many attempts it refuses: the limiter's own block, named by its end.
              key: [organization.id, userId, 'user.locked_out', String(lockout.until.getTime())],
            })
        : undefined;
    // Reserved before the slow hash: a concurrent burst gets no more checks than the limit.
    await deps.limits.reserveLogin(ctx.clientIp, accountKey, lockedOut);
    const credential = await deps.credentials.findById(organization?.id ?? NO_ID, userId ?? NO_ID);
    // Unknown organization or identifier: verify against a dummy hash so that
    // every failure costs the same time as a wrong password.
    const valid = await (credential ? deps.hasher.verify(credential.passwordHash, password) : deps.hasher.verifyDummy(password)).catch(
      async (err: unknown) => {
        await deps.limits.loginAborted(ctx.clientIp, accountKey);
        throw err;
      },
    );
    if (!organization || !credential || !valid) {
      // An unknown organization has no trail to write to. An identifier that names no account is never
      // recorded (it may be a mistyped personal value): its failures make one "unknown account" event per
      // organization and failure window, so a spray of guesses cannot flood the trail.
      if (organization)
        await deps.audit.record(ctx.origin, {
          action: 'user.login_failed',
          organizationId: organization.id,
          target,
          outcome: 'failure',
          ...(userId
            ? { subjectUserId: userId }
            : {
                key: [organization.id, 'user.login_failed', 'unknown', String(Math.floor(Date.now() / (deps.failureWindowSeconds * 1000)))],
              }),
        });
      throw unauthenticated(INVALID_CREDENTIALS);
    }
    await deps.limits.loginSucceeded(ctx.clientIp, accountKey);
    // The user proved the password: the login is theirs. issue() refuses a CLOSED account: checked only once the
    // password is right, so failures cost the same whatever the status. The event rides in the session's insert.
    const origin: AuditOrigin = { ...ctx.origin, actor: { type: 'user', id: credential._id } };
    const session = await deps.sessions.issue({ userId: credential._id, organizationId: organization.id }, ctx.clientIp, {
      verified: credential,
      event: (sessionId) =>
        auditEvent(origin, {
          action: 'user.login',
          organizationId: organization.id,
          target: { type: 'user', id: credential._id },
          outcome: 'success',
          subjectUserId: credential._id,
          key: [sessionId, 'user.login'],
        }),
    });
    deps.audit.kickSession(session._id);
    return session;
  }

  return { login };
}

export type LoginService = ReturnType<typeof createLoginService>;
