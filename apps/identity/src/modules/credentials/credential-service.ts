import { Types, type Connection } from 'mongoose';
import { z } from 'zod';
import { claim, releaseClaim } from '@usergraph/mongo';
import { emailSchema, normalizeUsername, passwordSchema, personNameSchema, phoneSchema, usernameSchema, validate } from '@usergraph/validation';
import { DomainError } from '@usergraph/service-kit';
import type { OrgUsersClient } from '../../clients.js';
import type { PasswordHasher } from '../passwords/password-hasher.js';
import type { CredentialRepository } from './credential-repository.js';

export const provisionUserSchema = z.object({
  email: emailSchema,
  username: usernameSchema,
  password: passwordSchema,
  firstName: personNameSchema,
  lastName: personNameSchema,
  phoneNumber: phoneSchema().optional(),
});

/**
 * Creates a user with a username: the username claim and credentials here,
 * the profile in org-users. Used by the bootstrap CLI; undone on failure.
 */
export function createCredentialService(deps: {
  conn: Connection;
  credentials: CredentialRepository;
  hasher: PasswordHasher;
  orgUsers: OrgUsersClient;
}) {
  async function provisionUser(organizationId: string, raw: unknown): Promise<{ userId: string }> {
    const checked = validate(provisionUserSchema, raw);
    if (!checked.ok) throw new DomainError('BAD_USER_INPUT', 'Invalid user', checked.errors);
    const input = checked.value;
    const userId = new Types.ObjectId().toHexString();
    const usernameClaim = { kind: 'username', organizationId, value: normalizeUsername(input.username), ownerId: userId };
    if ((await claim(deps.conn, usernameClaim)) === 'taken') {
      throw new DomainError('CONFLICT', 'The username is already in use', [{ path: ['username'], message: 'is already in use' }]);
    }
    try {
      const passwordHash = await deps.hasher.hash(input.password);
      await deps.orgUsers.createProfile({
        userId,
        organizationId,
        email: input.email,
        phoneNumber: input.phoneNumber,
        firstName: input.firstName,
        lastName: input.lastName,
        status: 'ACTIVE',
      });
      await deps.credentials.insertOnce({ _id: userId, organizationId, passwordHash, username: input.username });
      return { userId };
    } catch (err) {
      await deps.orgUsers.deleteProfile(organizationId, userId).catch(() => undefined);
      await releaseClaim(deps.conn, usernameClaim).catch(() => undefined);
      throw err;
    }
  }

  return { provisionUser };
}

export type CredentialService = ReturnType<typeof createCredentialService>;
