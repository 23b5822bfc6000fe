import { z } from 'zod';
import { emailSchema, normalizeUsername, parsePhone, validate } from '@usergraph/validation';
import { DomainError, unauthenticated } from '@usergraph/service-kit';
import type { OrgUsersClient } from '../../clients.js';
import type { CredentialRepository } from '../credentials/credential-repository.js';
import type { PasswordHasher } from '../passwords/password-hasher.js';
import type { SessionDto, SessionService } from './session-service.js';
import type { LoginThrottle } from './login-throttle.js';

const loginArgsSchema = z.object({
  organizationSlug: z.string().trim().min(1).max(63),
  identifier: z.string().trim().min(1).max(254),
  password: z.string().min(1).max(1024),
});

/** One message for every failure, so a caller cannot tell which part was wrong. */
const INVALID_CREDENTIALS = 'Invalid organization, identifier or password';

export function createLoginService(deps: {
  orgUsers: OrgUsersClient;
  credentials: CredentialRepository;
  findUserIdByUsername: (organizationId: string, username: string) => Promise<string | null>;
  hasher: PasswordHasher;
  sessions: SessionService;
  throttle: LoginThrottle;
}) {
  /** The identifier is an email, a phone number (E.164, or with +country code) or a username. */
  async function resolveUserId(organizationId: string, identifier: string): Promise<string | null> {
    if (emailSchema.safeParse(identifier).success && identifier.includes('@')) {
      return deps.orgUsers.findUserIdByIdentifier(organizationId, 'email', identifier);
    }
    const phone = parsePhone(identifier);
    if (phone.ok) return deps.orgUsers.findUserIdByIdentifier(organizationId, 'phone', phone.e164);
    return deps.findUserIdByUsername(organizationId, normalizeUsername(identifier));
  }

  async function login(rawArgs: unknown, ctx: { clientIp: string }): Promise<SessionDto> {
    const checked = validate(loginArgsSchema, rawArgs);
    if (!checked.ok) {
      throw new DomainError('BAD_USER_INPUT', 'Invalid input', checked.errors);
    }
    const { organizationSlug, identifier, password } = checked.value;
    const organization = await deps.orgUsers.getOrganizationBySlug(organizationSlug).catch((err: unknown) => {
      if (err instanceof DomainError && err.code === 'NOT_FOUND') return undefined;
      throw err;
    });
    const throttleOrg = organization?.id ?? `unknown:${organizationSlug}`;
    await deps.throttle.assertNotLocked(throttleOrg, identifier, ctx.clientIp);
    const userId = organization ? await resolveUserId(organization.id, identifier) : null;
    const credential = organization && userId ? await deps.credentials.findById(organization.id, userId) : null;
    // Unknown organization or identifier: verify against a dummy hash so that
    // every failure costs the same time as a wrong password.
    const valid = credential ? await deps.hasher.verify(credential.passwordHash, password) : await deps.hasher.verifyDummy(password);
    if (!organization || !credential || !valid) {
      await deps.throttle.recordFailure(throttleOrg, identifier, ctx.clientIp);
      throw unauthenticated(INVALID_CREDENTIALS);
    }
    await deps.throttle.recordSuccess(throttleOrg, identifier, ctx.clientIp);
    return deps.sessions.issue({ userId: credential._id, organizationId: organization.id }, ctx.clientIp);
  }

  return { login };
}

export type LoginService = ReturnType<typeof createLoginService>;
