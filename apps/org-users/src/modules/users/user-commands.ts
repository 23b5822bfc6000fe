import { z } from 'zod';
import { defineCommand } from '@usergraph/service-kit';
import type { UserService } from './user-service.js';

const id = z.string().min(1).max(64);
const text = z.string().max(500);
const address = z.record(z.string(), text.optional());

export function createUserCommands(users: UserService) {
  return {
    /** Identity calls this during registration; the user id doubles as the command id. */
    createProfile: defineCommand(
      z.object({
        userId: id,
        organizationId: id,
        email: text,
        phoneNumber: text.optional(),
        firstName: text,
        lastName: text,
        status: z.enum(['ACTIVE', 'PENDING_VERIFICATION', 'SUSPENDED', 'CLOSED']),
        organisation: text.optional(),
        taxNumber: text.optional(),
        dateOfBirth: z.string().regex(/^\d{4}-\d{2}-\d{2}$/).optional(),
        username: text.optional(),
        addresses: z.array(address).max(20).optional(),
      }),
      (input) => users.createProfile(input),
      { callers: ['identity'] },
    ),
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
