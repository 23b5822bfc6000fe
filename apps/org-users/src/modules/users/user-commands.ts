import { orgUsersCommands as c } from '@usergraph/contracts';
import { serve } from '@usergraph/service-kit';
import { withoutNulls } from './user-repository.js';
import type { UserService } from './user-service.js';

export function createUserCommands(users: UserService) {
  return [
    serve(c.createProfile, ({ addresses, ...input }) => users.createProfile({ ...input, addresses: addresses?.map(withoutNulls) })),
    serve(c.activateProfile, (input) => users.finishProvisioning(input.organizationId, input.userId, input.sagaId)),
    serve(c.deleteProfile, (input) => users.deleteProfile(input.organizationId, input.userId)),
    serve(c.getProfile, (input) => users.getProfile(input.organizationId, input.userId)),
    serve(c.setUserStatus, (input) => users.setStatus(input.organizationId, input.userId, input.status, input.audit)),
    serve(c.markEmailVerified, (input) => users.markEmailVerified(input.organizationId, input.userId, input.email, input.audit)),
    serve(c.existingUserIds, async (input) => ({ userIds: await users.existingUserIds(input.organizationId, input.userIds) })),
    serve(c.findUserIdByIdentifier, async (input) => ({
      userId: await users.findUserIdByIdentifier(input.organizationId, input.kind, input.value),
    })),
  ];
}
