import { Types, type Connection } from 'mongoose';
import { z } from 'zod';
import {
  addressInputSchema,
  emailSchema,
  organisationNameSchema,
  passwordSchema,
  personNameSchema,
  phoneSchema,
  slugSchema,
  taxNumberSchema,
  validate,
} from '@usergraph/validation';
import { DomainError, isNotFound, type Caller, type Logger } from '@usergraph/service-kit';
import { createUser, type SagaOptions } from '@usergraph/user-lifecycle';
import type { AuditOrigin } from '@usergraph/audit';
import { remoteProfile, type OrgUsersClient, type ProfileRef } from '../../clients.js';
import type { CredentialDoc, CredentialRepository } from '../credentials/credential-repository.js';
import type { PasswordHasher } from '../passwords/password-hasher.js';
import type { SessionDto, SessionService } from '../sessions/session-service.js';
import type { VerificationService } from '../verification/verification-service.js';
import { idempotencyCallerOf, keyedFingerprint, withIdempotencyKey } from '@usergraph/mongo';
import { emailAccountKey, type AccountLimits } from '../limits/account-limits.js';

/** B's `register` arguments. */
export const registerArgsSchema = z.object({
  email: emailSchema,
  password: passwordSchema,
  firstName: personNameSchema,
  lastName: personNameSchema,
  telephone: phoneSchema().nullish(),
  organisation: organisationNameSchema.nullish(),
  taxNumber: taxNumberSchema.nullish(),
  withVerificationCode: z.boolean().nullish(),
  addresses: z.array(addressInputSchema).max(10).nullish(),
});

export interface RegisterResult {
  user: ProfileRef;
  session: SessionDto;
  message: string;
}

export function createRegistrationService(deps: {
  conn: Connection;
  /** Keys Idempotency-Key fingerprints. */
  fingerprintKey: Buffer;
  orgUsers: OrgUsersClient;
  credentials: CredentialRepository;
  hasher: PasswordHasher;
  sessions: SessionService;
  verification: VerificationService;
  publicOrganizationSlug: string;
  limits: AccountLimits;
  logger: Pick<Logger, 'error'>;
  /** Test-only fault injection (never in production): crashes the process at a saga step. */
  faults?: SagaOptions['faults'];
}) {
  async function resolveSignupOrganization(slugHeader: string | undefined) {
    const slug = slugHeader ?? deps.publicOrganizationSlug;
    // The header is the client's input: named, never repeated back. An unknown organization and one
    // closed to self-signup get this one answer, so anonymous callers cannot probe which exist.
    const noSuchOrganization = () =>
      new DomainError('BAD_USER_INPUT', 'The x-organization-slug header names no organization open to self-signup', [
        { path: ['x-organization-slug'], message: 'names no organization open to self-signup' },
      ]);
    if (!slugSchema.safeParse(slug).success) throw noSuchOrganization();
    const organization = await deps.orgUsers.getOrganizationBySlug(slug).catch((err: unknown) => {
      if (isNotFound(err)) throw noSuchOrganization();
      throw err;
    });
    if (!organization.selfSignup || organization.status !== 'ACTIVE') throw noSuchOrganization();
    return organization;
  }

  /**
   * B's register: validate everything, hash, then the creation saga (profile
   * in org-users, credentials here, activate). With an Idempotency-Key, a retry returns the same user and message
   * (with a fresh session: tokens are never stored in the idempotency log).
   */
  async function register(
    rawArgs: unknown,
    ctx: { caller: Caller; organizationSlug?: string; clientIp: string; idempotencyKey?: string; audit: AuditOrigin },
  ): Promise<RegisterResult> {
    const checked = validate(registerArgsSchema, rawArgs);
    if (!checked.ok) {
      throw new DomainError(
        'BAD_USER_INPUT',
        `Invalid input: ${checked.errors.map((e) => `${e.path.join('.')} ${e.message}`).join('; ')}`,
        checked.errors,
      );
    }
    const args = checked.value;
    await deps.limits.perIp(ctx.clientIp);
    const organization = await resolveSignupOrganization(ctx.organizationSlug);
    await deps.limits.perAccount(emailAccountKey(organization.slug, args.email));
    // The password is never in the fingerprint (a fast keyed hash of it could be
    // guessed offline): a replay issues a session only once the password it
    // carries is verified against the stored credential.
    const { password: _secret, ...fingerprintOf } = args;
    /** The credentials a replay's password was checked against. */
    let verified: CredentialDoc | undefined;
    const { result: account, replayed } = await withIdempotencyKey(
      deps.conn,
      {
        key: ctx.idempotencyKey,
        scope: `register:${organization.id}`,
        caller: idempotencyCallerOf(ctx.caller),
        logger: deps.logger,
        fingerprint: () => keyedFingerprint(deps.fingerprintKey, fingerprintOf),
        verifyReplay: async (replayed) => {
          const credential = await deps.credentials.findById(organization.id, replayed.user.id);
          if (!credential) return deps.hasher.verifyDummy(args.password);
          verified = credential;
          return deps.hasher.verify(credential.passwordHash, args.password);
        },
      },
      () => createAccount(args, organization.id, ctx.audit),
    );
    // Like a login, the session is issued under the credentials whose password was checked: a replay that
    // raced a password change is born cut off. A new account's credentials were just created, at generation 0.
    const session = await deps.sessions.issue({ userId: account.user.id, organizationId: organization.id }, ctx.clientIp, {
      verified: replayed ? verified : { sessionsGeneration: 0 },
    });
    return { ...account, session };
  }

  async function createAccount(
    args: z.output<typeof registerArgsSchema>,
    organizationId: string,
    audit: AuditOrigin,
  ): Promise<Omit<RegisterResult, 'session'>> {
    const passwordHash = await deps.hasher.hash(args.password);
    const ids = { organizationId, userId: new Types.ObjectId().toHexString() };
    const { profile } = await createUser(
      ids,
      {
        ...remoteProfile(deps.orgUsers, {
          organizationId,
          email: args.email,
          phoneNumber: args.telephone ?? undefined,
          firstName: args.firstName,
          lastName: args.lastName,
          status: args.withVerificationCode ? 'PENDING_VERIFICATION' : 'ACTIVE',
          organisation: args.organisation ?? undefined,
          taxNumber: args.taxNumber ?? undefined,
          addresses: args.addresses ?? undefined,
          audit,
        }),
        // The password stays here: only its hash is written, by identity, which owns it.
        credentials: {
          do: async ({ userId }) => {
            await deps.credentials.insertOnce({ _id: userId, organizationId, passwordHash });
            if (args.withVerificationCode)
              await deps.verification.issue('email-verification', { organizationId, userId, email: args.email });
          },
          undo: ({ userId }) => deps.credentials.deleteById(organizationId, userId),
        },
      },
      { logger: deps.logger, faults: deps.faults },
    );
    if (args.withVerificationCode) {
      return {
        user: profile,
        message:
          `Account created. A 6-digit verification code was sent to ${args.email}; ` +
          'the account stays pending verification until it is entered with verifyEmail (the code expires in 10 minutes).',
      };
    }
    return { user: profile, message: 'Account created.' };
  }

  return { register };
}

export type RegistrationService = ReturnType<typeof createRegistrationService>;
