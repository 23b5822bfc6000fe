import { z } from 'zod';
import { groupNameSchema, licenseSetSchema, validate, type LicenseType } from '@usergraph/validation';
import type { FieldIssue } from '@usergraph/service-kit';

/** A requested assignment, in D's argument names (they become the error paths). */
export const assignmentRequestSchema = z.object({
  requestedLicenses: licenseSetSchema,
  requestedGroups: z.array(groupNameSchema).max(100),
  requestedOriginGroup: groupNameSchema.nullish(),
});

export interface AssignmentRequest {
  licenses: LicenseType[];
  groups: string[];
  originGroup: string | null;
}

/**
 * D's rules that need no database: license combinations (via the shared
 * schema), and the origin group's two rules. Group existence is checked
 * against the database by the service.
 */
export function checkAssignmentRequest(raw: unknown): { ok: true; value: AssignmentRequest } | { ok: false; errors: FieldIssue[] } {
  const checked = validate(assignmentRequestSchema, raw);
  if (!checked.ok) return { ok: false, errors: checked.errors };
  const { requestedLicenses: licenses, requestedOriginGroup } = checked.value;
  const groups = [...new Set(checked.value.requestedGroups)];
  const originGroup = requestedOriginGroup ?? null;
  const errors: FieldIssue[] = [];
  if (originGroup !== null) {
    if (!licenses.includes('ADMIN') && !licenses.includes('AUTHOR')) {
      errors.push({ path: ['requestedOriginGroup'], message: 'is only allowed with an ADMIN or AUTHOR license' });
    } else if (!groups.includes(originGroup)) {
      errors.push({ path: ['requestedOriginGroup'], message: 'must be one of the requested groups' });
    }
  }
  return errors.length > 0 ? { ok: false, errors } : { ok: true, value: { licenses, groups, originGroup } };
}
