import { z } from 'zod';
import { groupNameSchema, licenseSetSchema, licenseTypeSchema, validate, type LicenseType } from '@usergraph/validation';
import type { FieldIssue } from '@usergraph/service-kit';

const groupListSchema = z.array(groupNameSchema).max(100);

/** A requested assignment, in D's argument names (they become the error paths). */
export interface RawAssignmentRequest {
  requestedLicenses?: unknown;
  requestedGroups?: unknown;
  requestedOriginGroup?: unknown;
}

export interface AssignmentRequest {
  licenses: LicenseType[];
  /** As requested (repeats kept, so existence errors name the caller's index). */
  groups: string[];
  originGroup: string | null;
}

/**
 * D's rules that need no database: license combinations (via the shared
 * schema), and the origin group's two rules. Every broken rule is reported,
 * Rails-validations style: each field is parsed on its own, and a rule that
 * relates two fields is judged whenever both could be read. `groups` is
 * (and `licenses`) are returned whenever they parsed, so the service can
 * still check which groups exist, and which seats are free, when other rules
 * failed.
 */
export function checkAssignmentRequest(raw: RawAssignmentRequest): {
  errors: FieldIssue[];
  value?: AssignmentRequest;
  licenses?: LicenseType[];
  groups?: string[];
} {
  const licenses = validate(licenseSetSchema, raw.requestedLicenses, ['requestedLicenses']);
  const groups = validate(groupListSchema, raw.requestedGroups, ['requestedGroups']);
  const origin = validate(groupNameSchema.nullish(), raw.requestedOriginGroup, ['requestedOriginGroup']);
  const errors: FieldIssue[] = [...(licenses.ok ? [] : licenses.errors), ...(groups.ok ? [] : groups.errors), ...(origin.ok ? [] : origin.errors)];
  const originGroup = origin.ok ? (origin.value ?? null) : null;
  if (originGroup !== null) {
    // A set broken by another rule (AUTHOR with VIEWER) still says whether it holds ADMIN or AUTHOR.
    const named = licenses.ok ? licenses.value : licenseTypeSchema.array().safeParse(raw.requestedLicenses).data;
    if (named && !named.includes('ADMIN') && !named.includes('AUTHOR')) {
      errors.push({ path: ['requestedOriginGroup'], message: 'is only allowed with an ADMIN or AUTHOR license' });
    }
    if (groups.ok && !groups.value.includes(originGroup)) errors.push({ path: ['requestedOriginGroup'], message: 'must be one of the requested groups' });
  }
  const parsed = { licenses: licenses.ok ? licenses.value : undefined, groups: groups.ok ? groups.value : undefined };
  if (errors.length > 0 || !parsed.licenses || !parsed.groups) return { errors, ...parsed };
  return { errors, ...parsed, value: { licenses: parsed.licenses, groups: parsed.groups, originGroup } };
}
