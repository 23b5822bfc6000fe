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
 * relates two fields is judged whenever both could be read. `licenses` and
 * `groupEntries` (each well-formed group name with its index) come back even
 * when other rules failed, so the service still checks which groups exist and
 * which seats are free.
 */
export function checkAssignmentRequest(raw: RawAssignmentRequest): {
  errors: FieldIssue[];
  value?: AssignmentRequest;
  licenses?: LicenseType[];
  groupEntries: Array<{ index: number; name: string }>;
} {
  const licenses = validate(licenseSetSchema, raw.requestedLicenses, ['requestedLicenses']);
  const groups = validate(groupListSchema, raw.requestedGroups, ['requestedGroups']);
  const origin = validate(groupNameSchema.nullish(), raw.requestedOriginGroup, ['requestedOriginGroup']);
  const errors: FieldIssue[] = [
    ...(licenses.ok ? [] : licenses.errors),
    ...(groups.ok ? [] : groups.errors),
    ...(origin.ok ? [] : origin.errors),
  ];
  // A list with a malformed name still names groups in its other entries (not a list past the bound: that is one error).
  const readable = groups.ok || (Array.isArray(raw.requestedGroups) && raw.requestedGroups.length <= 100);
  const listed: unknown[] = groups.ok ? groups.value : readable ? (raw.requestedGroups as unknown[]) : [];
  const groupEntries = listed.flatMap((entry, index) => {
    const name = groupNameSchema.safeParse(entry);
    return name.success ? [{ index, name: name.data }] : [];
  });
  const originGroup = origin.ok ? (origin.value ?? null) : null;
  if (originGroup !== null) {
    // A set broken by another rule (AUTHOR with VIEWER) still says whether it holds ADMIN or AUTHOR.
    const named = licenses.ok ? licenses.value : licenseTypeSchema.array().safeParse(raw.requestedLicenses).data;
    if (named && !named.includes('ADMIN') && !named.includes('AUTHOR')) {
      errors.push({ path: ['requestedOriginGroup'], message: 'is only allowed with an ADMIN or AUTHOR license' });
    }
    if (readable && !groupEntries.some((g) => g.name === originGroup)) {
      errors.push({ path: ['requestedOriginGroup'], message: 'must be one of the requested groups' });
    }
  }
  const parsed = { licenses: licenses.ok ? licenses.value : undefined, groupEntries };
  if (errors.length > 0 || !parsed.licenses || !groups.ok) return { errors, ...parsed };
  return { errors, ...parsed, value: { licenses: parsed.licenses, groups: groups.value, originGroup } };
}
