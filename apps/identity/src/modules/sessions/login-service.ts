import { z } from 'zod';
import { emailSchema, normalizeEmail, normalizeUsername, parsePhone, validate } from '@usergraph/validation';
import { DomainError, isNotFound, unauthenticated } from '@usergraph/service-kit';
import type { OrgUsersClient } from '../../clients.js';
import type { CredentialRepository } from '../credentials/credential-repository.js';
import type { PasswordHasher } from '../passwords/password-hasher.js';
import { userAccountKey, type AccountLimits } from '../limits/account-limits.js';
import type { SessionDto, SessionService } from './session-service.js';
import { NO_ID } from '../verification/account-lookup.js';
import type { AuditOrigin } from '@usergraph/audit';
import type { IdentityAudit } from '../audit/identity-audit.js';

const loginArgsSchema = z.object({
  organizationSlug: z.string().trim().min(1).max(63),
  identifier: z.string().trim().min(1).max(254),
  password: z.string().min(1).max(1024),
});

/** One message for every failure, so a caller cannot tell which part was wrong. */
const INVALID_CREDENTIALS = 'Invalid organization, identifier or password';

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
  audit: Pick<IdentityAudit, 'record'>;
  /** How long a lockout lasts: one `user.locked_out` event per account and lockout window. */
  lockoutSeconds: number;
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
    // Who signs in (the request is anonymous): the user the identifier names, when it names one. Ids only, never the identifier.
    const origin: AuditOrigin = userId ? { ...ctx.origin, actor: { type: 'user', id: userId } } : ctx.origin;
    const target = userId ? { type: 'user', id: userId } : { type: 'account', id: 'unknown' };
    const lockedOut =
      organization && userId
        ? () =>
            deps.audit.record(origin, {
              action: 'user.locked_out',
              organizationId: organization.id,
              target,
              outcome: 'refused',
              subjectUserId: userId,
              // One event per lockout window, however many attempts it refuses.
              key: [organization.id, userId, 'user.locked_out', String(Math.floor(Date.now() / (deps.lockoutSeconds * 1000)))],
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
      // An unknown organization has no trail to write to.
      if (organization)
        await deps.audit.record(origin, {
          action: 'user.login_failed',
          organizationId: organization.id,
          target,
          outcome: 'failure',
          ...(userId ? { subjectUserId: userId } : {}),
        });
      throw unauthenticated(INVALID_CREDENTIALS);
    }
    await deps.limits.loginSucceeded(ctx.clientIp, accountKey);
    // issue() refuses a CLOSED account: checked only once the password is right, so failures cost the same whatever the status.
    // The event is written once every check passed, just before the session (its id in the event's key).
    return deps.sessions.issue({ userId: credential._id, organizationId: organization.id }, ctx.clientIp, undefined, (sessionId) =>
      deps.audit.record(origin, {
        action: 'user.login',
        organizationId: organization.id,
        target: { type: 'user', id: credential._id },
        outcome: 'success',
        subjectUserId: credential._id,
        key: [sessionId, 'user.login'],
      }),
    );
  }

  return { login };
}

export type LoginService = ReturnType<typeof createLoginService>;
