import { Types, type Connection } from 'mongoose';
import { z } from 'zod';
import { claim, findClaimOwner, releaseClaim, releaseStaleClaims } from '@usergraph/mongo';
import {
  emailSchema,
  licenseTypeSchema,
  normalizeUsername,
  passwordSchema,
  personNameSchema,
  phoneSchema,
  usernameSchema,
  validate,
} from '@usergraph/validation';
import { DomainError, logUndoFailure, type Logger } from '@usergraph/service-kit';
import { createUser, type SagaOptions } from '@usergraph/user-lifecycle';
import { remoteProfile, type LicensingClient, type OrgUsersClient } from '../../clients.js';
import type { PasswordHasher } from '../passwords/password-hasher.js';
import type { CredentialRepository } from './credential-repository.js';

export const provisionUserSchema = z.object({
  email: emailSchema,
  username: usernameSchema,
  password: passwordSchema,
  firstName: personNameSchema,
  lastName: personNameSchema,
  phoneNumber: phoneSchema().optional(),
  /** Bootstrap's first admin: passed to licensing, which validates it. */
  licenses: z
    .object({
      requestedLicenses: z.array(licenseTypeSchema).max(10),
      requestedGroups: z.array(z.string().max(100)).max(100),
      requestedOriginGroup: z.string().max(100).nullable().default(null),
      supportAdmin: z.boolean().default(false),
    })
    .optional(),
});

const credentialsSchema = z.object({ username: usernameSchema, password: passwordSchema });

/**
 * Credentials (username and password hash) are identity's: every user saga
 * stores them through here, whichever service hosts the saga.
 */
export function createCredentialService(deps: {
  conn: Connection;
  credentials: CredentialRepository;
  hasher: PasswordHasher;
  orgUsers: OrgUsersClient;
  licensing: LicensingClient;
  revokeSessions: (organizationId: string, userId: string) => Promise<unknown>;
  logger: Pick<Logger, 'error'>;
  /** Test-only fault injection (never in production): crashes the process at a saga step. */
  faults?: SagaOptions['faults'];
}) {
  /** Claims the username, hashes, stores; a taken username is a CONFLICT at `path`. Idempotent per user id. */
  async function storeCredentials(
    organizationId: string,
    userId: string,
    input: z.output<typeof credentialsSchema>,
    path: string[],
  ): Promise<{ userId: string }> {
    const usernameClaim = { kind: 'username', organizationId, value: normalizeUsername(input.username), ownerId: userId };
    if ((await claim(deps.conn, usernameClaim)) === 'taken') {
      throw new DomainError('CONFLICT', 'The username is already in use', [{ path, message: 'is already in use' }], {
        reason: 'ALREADY_IN_USE',
      });
    }
    try {
      const passwordHash = await deps.hasher.hash(input.password);
      await deps.credentials.insertOnce({ _id: userId, organizationId, passwordHash, username: input.username });
      return { userId };
    } catch (err) {
      await releaseClaim(deps.conn, usernameClaim).catch((undoErr: unknown) =>
        logUndoFailure(deps.logger, undoErr, 'release username claim', { organizationId, userId }),
      );
      throw err;
    }
  }

  /**
   * Bootstrap's first admin: the creation saga hosted here, so the password
   * never leaves identity — profile in org-users, credentials here, licenses
   * in licensing, activate; one undo for the whole.
   */
  async function provisionUser(organizationId: string, raw: unknown): Promise<{ userId: string }> {
    const checked = validate(provisionUserSchema, raw);
    if (!checked.ok) throw new DomainError('BAD_USER_INPUT', 'Invalid user', checked.errors);
    const input = checked.value;
    const licenses = input.licenses;
    const ids = { organizationId, userId: new Types.ObjectId().toHexString() };
    await createUser(
      ids,
      {
        ...remoteProfile(deps.orgUsers, {
          organizationId,
          email: input.email,
          phoneNumber: input.phoneNumber,
          firstName: input.firstName,
          lastName: input.lastName,
          status: 'ACTIVE',
          username: input.username,
          // The operator's bootstrap CLI: no request, no client.
          audit: { actor: { type: 'system', id: 'bootstrap' } },
        }),
        credentials: {
          do: ({ userId }) => storeCredentials(organizationId, userId, input, ['username']),
          undo: ({ userId }) => deleteCredentials(organizationId, userId),
        },
        licenses: licenses && {
          do: ({ userId }) => deps.licensing.assignLicenses(organizationId, userId, licenses),
          undo: ({ userId }) => deps.licensing.forgetUser(organizationId, userId),
        },
      },
      { logger: deps.logger, faults: deps.faults },
    );
    return { userId: ids.userId };
  }

  /**
   * D's createUser (hosted in org-users): username and password for a profile
   * org-users already wrote. Idempotent per user id; a username taken by
   * someone else is a CONFLICT at D's path user.credentials.username.
   */
  async function createCredentials(organizationId: string, userId: string, raw: unknown): Promise<{ userId: string }> {
    const checked = validate(credentialsSchema, raw, ['user', 'credentials']);
    if (!checked.ok) throw new DomainError('BAD_USER_INPUT', 'Invalid credentials', checked.errors);
    return storeCredentials(organizationId, userId, checked.value, ['user', 'credentials', 'username']);
  }

  /** Removes a user's credentials, frees the username and revokes every session. Idempotent. */
  async function deleteCredentials(organizationId: string, userId: string): Promise<{ deleted: boolean }> {
    const credential = await deps.credentials.findById(organizationId, userId);
    await deps.revokeSessions(organizationId, userId);
    if (!credential) return { deleted: false };
    await deps.credentials.deleteById(organizationId, userId);
    if (credential.username) {
      await releaseClaim(deps.conn, { kind: 'username', organizationId, value: normalizeUsername(credential.username), ownerId: userId });
    }
    return { deleted: true };
  }

  /** The reconciliation job: credentials older than `minAgeMs` whose user org-users does not know are deleted. */
  async function reconcile(minAgeMs: number): Promise<{ removedCredentials: number; releasedClaims: number }> {
    const cutoff = new Date(Date.now() - minAgeMs);
    const byOrganization = new Map<string, string[]>();
    for (const c of await deps.credentials.createdBefore(cutoff)) {
      byOrganization.set(c.organizationId, [...(byOrganization.get(c.organizationId) ?? []), c._id]);
    }
    let removed = 0;
    for (const [organizationId, userIds] of byOrganization) {
      for (let i = 0; i < userIds.length; i += 500) {
        const batch = userIds.slice(i, i + 500);
        const existing = new Set(await deps.orgUsers.existingUserIds(organizationId, batch));
        for (const userId of batch.filter((u) => !existing.has(u)))
          if ((await deleteCredentials(organizationId, userId)).deleted) removed++;
      }
    }
    // Username claims a failed undo left behind (logged as it failed).
    const releasedClaims = await releaseStaleClaims(deps.conn, ['username'], cutoff, async (organizationId, claims) => {
      const held = new Map(
        (
          await deps.credentials.findByIds(
            organizationId,
            claims.map((c) => c.ownerId),
          )
        ).map((c) => [c._id, c]),
      );
      return new Set(
        claims.filter((c) => {
          const username = held.get(c.ownerId)?.username;
          return username !== undefined && normalizeUsername(username) === c.value;
        }),
      );
    });
    return { removedCredentials: removed, releasedClaims };
  }

  /** D's createUser reports a taken username with its other errors before writing: a read, the claim still decides. */
  const usernameOwner = async (organizationId: string, username: string) => ({
    ownerId: await findClaimOwner(deps.conn, 'username', organizationId, normalizeUsername(username)),
  });

  return { provisionUser, createCredentials, deleteCredentials, usernameOwner, reconcile };
}

export type CredentialService = ReturnType<typeof createCredentialService>;
