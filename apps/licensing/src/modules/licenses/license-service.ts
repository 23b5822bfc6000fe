import { licenseSetSchema, groupNameSchema, validate, type LicenseType } from '@usergraph/validation';
import { DomainError, unauthenticated, type Caller } from '@usergraph/service-kit';
import { z } from 'zod';
import type { AssignmentRepository } from './assignment-repository.js';

export interface UserLicensesDto {
  id: string;
  licenses: LicenseType[];
  groups: string[];
  originGroup: string | null;
}

export const assignmentInputSchema = z.object({
  licenses: licenseSetSchema,
  groups: z.array(groupNameSchema).max(100),
  originGroup: groupNameSchema.nullish(),
});

export function createLicenseService(deps: { assignments: AssignmentRepository }) {
  /** Licenses and groups of users in the caller's organization; other tenants' ids are not found. */
  async function forUsers(caller: Caller, userIds: readonly string[]): Promise<Map<string, UserLicensesDto>> {
    if (caller.kind === 'anonymous') throw unauthenticated();
    const docs = await deps.assignments.findForUsers(caller.organizationId, userIds);
    const found = new Map(docs.map((d) => [d.userId, { id: d.userId, licenses: d.licenses, groups: d.groups, originGroup: d.originGroup ?? null }]));
    // A user of the organization with no assignment yet simply holds nothing.
    return new Map(userIds.map((id) => [id, found.get(id) ?? { id, licenses: [], groups: [], originGroup: null }]));
  }

  async function assign(organizationId: string, userId: string, raw: unknown): Promise<UserLicensesDto> {
    const checked = validate(assignmentInputSchema, raw);
    if (!checked.ok) throw new DomainError('BAD_USER_INPUT', 'Invalid license assignment', checked.errors);
    const { licenses, groups, originGroup } = checked.value;
    const doc = await deps.assignments.upsert(organizationId, userId, { licenses, groups, originGroup });
    return { id: userId, licenses: doc.licenses, groups: doc.groups, originGroup: doc.originGroup ?? null };
  }

  async function licensesOf(organizationId: string, userId: string): Promise<UserLicensesDto> {
    const [doc] = await deps.assignments.findForUsers(organizationId, [userId]);
    return { id: userId, licenses: doc?.licenses ?? [], groups: doc?.groups ?? [], originGroup: doc?.originGroup ?? null };
  }

  return { forUsers, assign, licensesOf };
}

export type LicenseService = ReturnType<typeof createLicenseService>;
