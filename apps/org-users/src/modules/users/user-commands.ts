import { z } from 'zod';
import { defineCommand } from '@usergraph/service-kit';
import {
  addressInputSchema,
  emailSchema,
  isoDateStringSchema,
  organisationNameSchema,
  personNameSchema,
  phoneSchema,
  taxNumberSchema,
  usernameSchema,
} from '@usergraph/validation';
import { withoutNulls } from './user-repository.js';
import type { UserService } from './user-service.js';

const id = z.string().min(1).max(64);
const text = z.string().max(500);

/**
 * A profile another service asks org-users to store (identity's creation
 * saga: B, C, bootstrap), checked with org-users' own field rules whoever
 * asks: the caller's checks are its dialect's, these are the owner's.
 */
export const newProfileSchema = z.strictObject({
  userId: id,
  organizationId: id,
  email: emailSchema,
  phoneNumber: phoneSchema().optional(),
  firstName: personNameSchema,
  lastName: personNameSchema,
  status: z.enum(['ACTIVE', 'PENDING_VERIFICATION']),
  organisation: organisationNameSchema.optional(),
  taxNumber: taxNumberSchema.optional(),
  dateOfBirth: isoDateStringSchema.optional(),
  username: usernameSchema.optional(),
  addresses: z.array(addressInputSchema).max(10).optional(),
  /** The creation saga's marker (see @usergraph/user-lifecycle): set when later steps follow. */
  provisioning: z.boolean().optional(),
  sagaId: z.uuid().optional(),
});

export function createUserCommands(users: UserService) {
  return {
    /** Identity's creation saga (B, C, bootstrap): the user id doubles as the command id. */
    createProfile: defineCommand(
      newProfileSchema,
      ({ addresses, ...input }) => users.createProfile({ ...input, addresses: addresses?.map(withoutNulls) }),
      { callers: ['identity'] },
    ),
    /** The creation saga's last step: clears the provisioning marker. Idempotent. */
    activateProfile: defineCommand(z.object({ organizationId: id, userId: id }), async (input) => {
      await users.finishProvisioning(input.organizationId, input.userId);
      return { activated: true };
    }, { callers: ['identity'] }),
    deleteProfile: defineCommand(z.object({ organizationId: id, userId: id }), (input) =>
      users.deleteProfile(input.organizationId, input.userId),
      { callers: ['identity'] },
    ),
    getProfile: defineCommand(z.object({ organizationId: id, userId: id }), (input) =>
      users.getProfile(input.organizationId, input.userId),
      // identity: a user's status before a session is issued; licensing: its access policy reads the caller's status.
      { callers: ['identity', 'licensing'] },
    ),
    setUserStatus: defineCommand(
      z.object({ organizationId: id, userId: id, status: z.enum(['ACTIVE', 'PENDING_VERIFICATION', 'SUSPENDED', 'CLOSED']) }),
      (input) => users.setStatus(input.organizationId, input.userId, input.status),
      { callers: ['identity'] },
    ),
    /** Identity's verifyEmail: the user verified this address (a no-op if the email changed since). */
    markEmailVerified: defineCommand(z.object({ organizationId: id, userId: id, email: text }), (input) =>
      users.markEmailVerified(input.organizationId, input.userId, input.email),
      { callers: ['identity'] },
    ),
    /** Which of these ids are users of the organization: for licensing's group membership. */
    existingUserIds: defineCommand(z.object({ organizationId: id, userIds: z.array(id).max(500) }), async (input) => ({
      userIds: await users.existingUserIds(input.organizationId, input.userIds),
    }), { callers: ['identity', 'licensing'] }),
    findUserIdByIdentifier: defineCommand(
      z.object({ organizationId: id, kind: z.enum(['email', 'phone']), value: text }),
      async (input) => ({ userId: await users.findUserIdByIdentifier(input.organizationId, input.kind, input.value) }),
      { callers: ['identity'] },
    ),
  };
}
