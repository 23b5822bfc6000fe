import { isNotFound } from '@usergraph/service-kit';
import type { OrgUsersClient, ProfileRef } from '../../clients.js';

/**
 * An id never assigned (an ObjectId of 1970): a lookup by it finds nothing,
 * at the cost of a real lookup. Anonymous paths use it where an organization
 * or account is missing, so an unknown one takes the same steps as a known
 * one (issue 12, second pass, finding 2: verifyEmail answered ~5 ms sooner
 * for an unknown email).
 */
export const NO_ID = '000000000000000000000000';

const undefinedIfNotFound = (err: unknown) => {
  if (isNotFound(err)) return undefined;
  throw err;
};

/**
 * The account an email names in an organization, by its slug. Always the same
 * three lookups (organization, email, profile), whether or not the
 * organization or the account exists.
 */
export async function findAccountByEmail(
  orgUsers: OrgUsersClient,
  organizationSlug: string,
  email: string,
): Promise<{ organizationId: string; userId: string; profile: ProfileRef } | undefined> {
  const organization = await orgUsers.getOrganizationBySlug(organizationSlug).catch(undefinedIfNotFound);
  const userId = await orgUsers.findUserIdByIdentifier(organization?.id ?? NO_ID, 'email', email);
  const profile = await orgUsers.getProfile(organization?.id ?? NO_ID, userId ?? NO_ID).catch(undefinedIfNotFound);
  return organization && userId && profile ? { organizationId: organization.id, userId, profile } : undefined;
}
