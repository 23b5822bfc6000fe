import { DomainError, forbidden, requireAuthenticated, type Caller } from '@usergraph/service-kit';
import type { LicensingClient } from '../../clients.js';
import { parseInput, userIdSchema } from './consumer-inputs.js';

/** The user a mutation acts on, always inside the caller's organization. */
export interface UserScope {
  organizationId: string;
  userId: string;
}

const ORG_SCOPED = 'Needs an application with organization-users:write or an organization admin (ADMIN license)';

/**
 * Who may do what with consumer data. "Organization-scoped" (A's term) means an
 * application with organization-users:write, or a user holding the ADMIN
 * license, which licensing knows. The answer is kept per request (callers are
 * per-request objects), so a query touching many users asks licensing once.
 */
export function createConsumerAccess(deps: { licensing: Pick<LicensingClient, 'licensesOf'> }) {
  const adminAnswers = new WeakMap<Caller, Promise<boolean>>();

  function isAdmin(caller: Extract<Caller, { kind: 'user' }>): Promise<boolean> {
    let answer = adminAnswers.get(caller);
    if (!answer) {
      answer = deps.licensing.licensesOf(caller.organizationId, caller.userId).then((held) => held.licenses.includes('ADMIN'));
      adminAnswers.set(caller, answer);
    }
    return answer;
  }

  /** The caller's organization, if the caller may act for the whole organization; else FORBIDDEN. */
  async function requireOrganizationScope(caller: Caller): Promise<string> {
    const c = requireAuthenticated(caller);
    if (c.kind === 'application') {
      if (!c.permissions.has('organization-users:write')) throw forbidden(`The application lacks organization-users:write. ${ORG_SCOPED}`);
      return c.organizationId;
    }
    if (!(await isAdmin(c))) throw forbidden(ORG_SCOPED);
    return c.organizationId;
  }

  /** The signed-in user, or, for an organization-scoped caller, `userId` in its organization. */
  async function accountTarget(caller: Caller, userId: unknown): Promise<UserScope> {
    const c = requireAuthenticated(caller);
    if (c.kind === 'user' && (userId == null || userId === c.userId)) return { organizationId: c.organizationId, userId: c.userId };
    const organizationId = await requireOrganizationScope(c);
    if (userId == null) {
      throw new DomainError('BAD_USER_INPUT', 'Invalid input: userId is required when an application acts on an account', [
        { path: ['userId'], message: 'is required when an application acts on an account' },
      ]);
    }
    return { organizationId, userId: parseInput(userIdSchema, userId, ['userId']) };
  }

  /** Financial data and the national ID's last digits: the user, an admin, or an application that reads users. */
  async function requireConsumerDataReader(caller: Caller, user: UserScope): Promise<void> {
    const c = requireAuthenticated(caller);
    if (c.organizationId !== user.organizationId) throw forbidden('This user is not visible to you');
    if (c.kind === 'application') {
      if (c.permissions.has('organization-users:read') || c.permissions.has('organization-users:write')) return;
      throw forbidden('The application lacks the organization-users:read permission');
    }
    if (c.userId === user.userId || (await isAdmin(c))) return;
    throw forbidden("Only the user and the organization's admins may read this");
  }

  return { requireOrganizationScope, accountTarget, requireConsumerDataReader };
}

export type ConsumerAccess = ReturnType<typeof createConsumerAccess>;
