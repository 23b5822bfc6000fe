import { auditEvent, type AuditEvent, type AuditOrigin } from '@usergraph/audit';
import { DomainError, type FieldIssue } from '@usergraph/service-kit';
import { LICENSE_TYPES, licenseTypeSchema, type LicenseType } from '@usergraph/validation';
import type { GroupService } from '../groups/group-service.js';
import type { AssignmentDoc, AssignmentFields, AssignmentRepository } from './assignment-repository.js';
import type { LicenseStateRepository } from './license-state-repository.js';
import { checkAssignmentRequest, type RawAssignmentRequest } from './license-rules.js';

export interface UserLicensesDto {
  id: string;
  licenses: LicenseType[];
  groups: string[];
  originGroup: string | null;
  supportAdmin: boolean;
}

const MAX_ATTEMPTS = 20;

class WriteConflict extends Error {}

const lastAdminIssue: FieldIssue = { path: ['requestedLicenses'], message: 'would remove the last ADMIN of the organization' };
const lastAdminError = () =>
  new DomainError('CONFLICT', 'An organization must keep at least one company admin (ADMIN license)', [lastAdminIssue], {
    reason: 'LAST_COMPANY_ADMIN',
  });
const supportAdminIssue: FieldIssue = { path: ['requestedLicenses'], message: 'would remove the ADMIN license of a support admin' };
const noSeatIssue = (license: LicenseType, cap: number | undefined): FieldIssue => ({
  path: ['requestedLicenses'],
  message: `has no free ${license} seat (cap ${cap})`,
});

/** D's arguments in the order its inputs declare them, a list's entries by index; a stable sort keeps the rest. */
const ARGUMENT_ORDER = ['requestedLicenses', 'requestedGroups', 'requestedOriginGroup'];
const byArgument = (issues: FieldIssue[]) =>
  [...issues].sort(
    (a, b) =>
      ARGUMENT_ORDER.indexOf(String(a.path[0])) - ARGUMENT_ORDER.indexOf(String(b.path[0])) ||
      Number(a.path[1] ?? -1) - Number(b.path[1] ?? -1),
  );

const invalid = (errors: FieldIssue[]) =>
  new DomainError(
    'BAD_USER_INPUT',
    `Invalid license assignment: ${errors.map((e) => `${e.path.join('.')} ${e.message}`).join('; ')}`,
    errors,
  );

/**
 * Issue 12 review: who may act on a user holding ADMIN is decided again on the
 * assignment the write is conditioned on, so a promotion racing the caller's
 * own check changes the revision, and the retry sees the ADMIN and refuses.
 */
export type WriteGuard = (current: AssignmentDoc | null, next: AssignmentFields | null) => void;

const sameSet = <T>(a: readonly T[], b: readonly T[]) => a.length === b.length && a.every((x) => b.includes(x));
/** A write that changes nothing (a command retried after its answer was lost) acts on no one's account. */
const unchanged = (current: AssignmentDoc, next: AssignmentFields | null) =>
  next !== null &&
  sameSet(current.licenses, next.licenses) &&
  sameSet(current.groupIds, next.groupIds) &&
  current.originGroupId === next.originGroupId;

/** The guard for internal commands: org-users says whether its caller holds organization-users:admin (or acts on themselves). */
export const adminTargetGuard =
  (callerMayActOnAdmin: boolean): WriteGuard =>
  (current, next) => {
    if (!callerMayActOnAdmin && current?.licenses.includes('ADMIN') && !unchanged(current, next)) {
      throw new DomainError(
        'FORBIDDEN',
        "Acting on a company admin's account needs an organization admin or an application with organization-users:admin",
        [],
        { reason: 'COMPANY_ADMIN' },
      );
    }
  };

/** Licenses a holder counts against seats: a support admin's ADMIN is not a company seat. */
const counted = (licenses: readonly LicenseType[], supportAdmin: boolean) =>
  supportAdmin ? licenses.filter((l) => l !== 'ADMIN') : [...licenses];

export function createLicenseService(deps: {
  assignments: AssignmentRepository;
  state: LicenseStateRepository;
  groups: GroupService;
  /** Relays the audit events an assignment or seat-cap write carried (not awaited). */
  audit: { kickAssignment: (organizationId: string, userId: string) => void; kickState: (organizationId: string) => void };
  /** Test-only fault injection (never in production): crashes the process at a named point. */
  faults?: (point: string) => void;
}) {
  const { assignments, state, groups } = deps;

  /**
   * A live user's licenses or groups changed: `user.licenses_changed` and
   * `user.groups_changed` (the origin group counts as a group), naming what
   * changed, never holding a value about the user.
   */
  function changeEvents(
    origin: AuditOrigin,
    organizationId: string,
    userId: string,
    current: AssignmentDoc | null,
    next: AssignmentFields,
  ): AuditEvent[] {
    const same = (a: readonly string[], b: readonly string[]) => a.length === b.length && a.every((x) => b.includes(x));
    const event = (action: 'user.licenses_changed' | 'user.groups_changed', changedFields: string[]) =>
      auditEvent(origin, {
        action,
        organizationId,
        target: { type: 'user', id: userId },
        outcome: 'success',
        changedFields,
        subjectUserId: userId,
      });
    const events: AuditEvent[] = [];
    if (!same(current?.licenses ?? [], next.licenses)) events.push(event('user.licenses_changed', ['licenses']));
    const groupFields = [
      ...(same(current?.groupIds ?? [], next.groupIds) ? [] : ['groups']),
      ...((current?.originGroupId ?? null) === (next.originGroupId ?? null) ? [] : ['originGroup']),
    ];
    if (groupFields.length > 0) events.push(event('user.groups_changed', groupFields));
    return events;
  }

  async function toDto(organizationId: string, userId: string, doc: AssignmentDoc | null): Promise<UserLicensesDto> {
    if (!doc) return { id: userId, licenses: [], groups: [], originGroup: null, supportAdmin: false };
    const names = await groups.namesOf(organizationId, doc.groupIds);
    return {
      id: userId,
      licenses: LICENSE_TYPES.filter((l) => doc.licenses.includes(l)),
      groups: doc.groupIds.map((g) => names.get(g)).filter((n): n is string => n !== undefined),
      originGroup: doc.originGroupId ? (names.get(doc.originGroupId) ?? null) : null,
      supportAdmin: doc.supportAdmin,
    };
  }

  /** Licenses and groups of users of one organization, in one query per collection (the access policy chose the organization). */
  async function forUsers(org: string, userIds: readonly string[]): Promise<Map<string, UserLicensesDto>> {
    const docs = await assignments.findForUsers(org, userIds);
    const names = await groups.namesOf(org, [...new Set(docs.flatMap((d) => d.groupIds))]);
    const byUser = new Map(docs.map((d) => [d.userId, d]));
    return new Map(
      userIds.map((id) => {
        const d = byUser.get(id);
        const dto: UserLicensesDto = d
          ? {
              id,
              licenses: LICENSE_TYPES.filter((l) => d.licenses.includes(l)),
              groups: d.groupIds.map((g) => names.get(g)).filter((n): n is string => n !== undefined),
              originGroup: d.originGroupId ? (names.get(d.originGroupId) ?? null) : null,
              supportAdmin: d.supportAdmin,
            }
          : { id, licenses: [], groups: [], originGroup: null, supportAdmin: false };
        return [id, dto];
      }),
    );
  }

  /**
   * D's rules and group existence, without writing anything. Every broken
   * rule is reported (Rails-validations style), in the order of D's arguments.
   */
  async function validateRequest(organizationId: string, raw: RawAssignmentRequest) {
    const checked = checkAssignmentRequest(raw);
    const entries = checked.groupEntries;
    const resolved = await groups.resolveNames(
      organizationId,
      entries.map((g) => g.name),
      'requestedGroups',
    );
    // resolveNames counts in the well-formed names; D's path counts in the caller's list.
    const unknown = resolved.errors.map((e) => ({ ...e, path: ['requestedGroups', String(entries[Number(e.path[1])]?.index)] }));
    const errors = byArgument([...checked.errors, ...unknown]);
    if (!checked.value || errors.length > 0) return { ok: false as const, errors, licenses: checked.licenses };
    const { licenses, groups: names, originGroup } = checked.value;
    const originGroupId = originGroup ? resolved.ids[names.indexOf(originGroup)] : undefined;
    return { ok: true as const, errors, licenses, value: { licenses, groupIds: [...new Set(resolved.ids)], originGroupId } };
  }

  /**
   * validateRequest, plus the rules transition() decides at write time (a free
   * seat, the last ADMIN, a support admin's ADMIN) judged on a read, so D can
   * report them with the rest. The write still decides: a race between this
   * read and the write is refused there, alone.
   */
  async function checkAssignment(organizationId: string, userId: string | undefined, raw: RawAssignmentRequest): Promise<FieldIssue[]> {
    const checked = await validateRequest(organizationId, raw);
    if (!checked.licenses) return checked.errors;
    const current = userId ? await assignments.find(organizationId, userId) : null;
    const support = current?.supportAdmin ?? false;
    if (support && !checked.licenses.includes('ADMIN')) return byArgument([...checked.errors, supportAdminIssue]);
    const before = counted(current?.licenses ?? [], support);
    const after = counted(checked.licenses, support);
    const { used, caps } = await state.get(organizationId);
    const issues: FieldIssue[] = [];
    if (before.includes('ADMIN') && !after.includes('ADMIN') && (used.ADMIN ?? 0) <= 1) issues.push(lastAdminIssue);
    for (const license of after.filter((l) => !before.includes(l))) {
      const cap = caps[license];
      if (cap !== undefined && (used[license] ?? 0) >= cap) issues.push(noSeatIssue(license, cap));
    }
    return byArgument([...checked.errors, ...issues]);
  }

  /**
   * Moves one user's assignment from what it is to `next`. Counters change
   * first, each by a conditional single-document update (a seat must be free;
   * ADMIN only goes while another company admin remains); then the
   * assignment is written conditionally on the revision read. Anything that
   * fails undoes the counter steps already taken, and a lost race retries.
   */
  async function transition(
    organizationId: string,
    userId: string,
    nextOf: (current: AssignmentDoc | null) => AssignmentFields | null,
    guard: WriteGuard,
    /** Who makes the change (a live user's): its audit events ride on the assignment write. Absent in a user saga. */
    origin?: AuditOrigin,
  ): Promise<AssignmentDoc | null> {
    for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
      const current = await assignments.find(organizationId, userId);
      const next = nextOf(current);
      guard(current, next);
      const support = current?.supportAdmin ?? next?.supportAdmin ?? false;
      if (current?.supportAdmin && !next?.licenses.includes('ADMIN')) {
        throw new DomainError('CONFLICT', 'A support admin cannot be removed or lose the ADMIN license', [supportAdminIssue], {
          reason: 'SUPPORT_ADMIN',
        });
      }
      const before = counted(current?.licenses ?? [], support);
      const after = counted(next?.licenses ?? [], support);
      const added = after.filter((l) => !before.includes(l));
      const removed = before.filter((l) => !after.includes(l));
      const undo: Array<() => Promise<void>> = [];
      try {
        if (removed.includes('ADMIN')) {
          if (!(await state.give(organizationId, 'ADMIN'))) throw lastAdminError();
          undo.push(() => state.adjust(organizationId, 'ADMIN', 1));
        }
        for (const license of added) {
          if (!(await state.take(organizationId, license))) {
            const caps = (await state.get(organizationId)).caps;
            throw new DomainError(
              'CONFLICT',
              `No ${license} seat is free: the organization's cap is ${caps[license]}`,
              [noSeatIssue(license, caps[license])],
              {
                reason: 'NO_FREE_SEAT',
              },
            );
          }
          undo.push(() => state.adjust(organizationId, license, -1));
        }
        for (const license of removed.filter((l) => l !== 'ADMIN')) {
          await state.adjust(organizationId, license, -1);
          undo.push(() => state.adjust(organizationId, license, 1));
        }
        deps.faults?.('assign:after-seats');
        const events = origin && next ? changeEvents(origin, organizationId, userId, current, next) : [];
        const written = next
          ? await assignments.writeIfUnchanged(organizationId, userId, current?.rev ?? 0, next, events)
          : current
            ? await assignments.deleteIfUnchanged(organizationId, userId, current.rev)
            : true;
        if (!written) throw new WriteConflict();
        if (events.length > 0) deps.audit.kickAssignment(organizationId, userId);
        deps.faults?.('assign:after-assignment');
      } catch (err) {
        for (const step of undo.reverse()) await step();
        if (!(err instanceof WriteConflict)) throw err;
        continue;
      }
      // Outside the try: the write is done, and neither the member counts nor a failed read of it may undo its seats.
      // A crash or a store failure here leaves a count one off (`usergraph repair` recounts it), never a seat.
      await groups.countMembershipChange(organizationId, current?.groupIds ?? [], next?.groupIds ?? []);
      return next ? assignments.find(organizationId, userId) : null;
    }
    throw new DomainError('CONFLICT', 'The user is being changed concurrently, retry', [], { reason: 'CONCURRENT_CHANGE' });
  }

  /** Sets a user's licenses, groups and origin group (idempotent: the same request twice changes nothing). */
  async function assign(
    organizationId: string,
    userId: string,
    raw: RawAssignmentRequest,
    guard: WriteGuard,
    opts: { supportAdmin?: boolean; audit?: AuditOrigin } = {},
  ): Promise<UserLicensesDto> {
    const checked = await validateRequest(organizationId, raw);
    if (!checked.ok) throw invalid(checked.errors);
    const doc = await transition(
      organizationId,
      userId,
      (current) => ({
        ...checked.value,
        // Support status is set once, by the operator CLI, and never taken away.
        supportAdmin: current?.supportAdmin ?? opts.supportAdmin ?? false,
      }),
      guard,
      opts.audit,
    );
    return toDto(organizationId, userId, doc);
  }

  /** Removes some licenses (D's updateUser dropping a license goes through assign; this is the narrow form). */
  async function revoke(
    organizationId: string,
    userId: string,
    rawLicenses: unknown,
    guard: WriteGuard,
    origin?: AuditOrigin,
  ): Promise<UserLicensesDto> {
    const parsed = licenseTypeSchema.array().safeParse(rawLicenses);
    if (!parsed.success) throw invalid([{ path: ['licenses'], message: 'must be a list of license types' }]);
    const doc = await transition(
      organizationId,
      userId,
      (current) => {
        if (!current) return null;
        const licenses = current.licenses.filter((l) => !parsed.data.includes(l));
        // The origin group goes with the last ADMIN or AUTHOR license.
        const keepsOrigin = licenses.includes('ADMIN') || licenses.includes('AUTHOR');
        return {
          licenses,
          groupIds: current.groupIds,
          originGroupId: keepsOrigin ? current.originGroupId : undefined,
          supportAdmin: current.supportAdmin,
        };
      },
      guard,
      origin,
    );
    return toDto(organizationId, userId, doc);
  }

  /** Frees everything a deleted user held. Refused for the last company admin and for support admins. */
  async function release(organizationId: string, userId: string, guard: WriteGuard): Promise<{ released: boolean }> {
    await transition(organizationId, userId, () => null, guard);
    return { released: true };
  }

  /**
   * Reconciliation only: drops the assignment of a user that does not exist
   * (a crash left it behind) and gives its seats back, without the last-ADMIN
   * condition, since a user who never existed is nobody's admin.
   */
  async function forget(organizationId: string, userId: string): Promise<{ forgotten: boolean }> {
    for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
      const current = await assignments.find(organizationId, userId);
      if (!current) return { forgotten: false };
      if (!(await assignments.deleteIfUnchanged(organizationId, userId, current.rev))) continue;
      for (const license of counted(current.licenses, current.supportAdmin)) await state.adjust(organizationId, license, -1);
      await groups.countMembershipChange(organizationId, current.groupIds, []);
      return { forgotten: true };
    }
    throw new DomainError('CONFLICT', 'The user is being changed concurrently, retry', [], { reason: 'CONCURRENT_CHANGE' });
  }

  /** Assignments older than `minAgeMs` whose user org-users does not know: forgotten. */
  async function reconcile(minAgeMs: number, existingUserIds: (organizationId: string, userIds: string[]) => Promise<string[]>) {
    const byOrganization = new Map<string, string[]>();
    for (const a of await assignments.updatedBefore(new Date(Date.now() - minAgeMs))) {
      byOrganization.set(a.organizationId, [...(byOrganization.get(a.organizationId) ?? []), a.userId]);
    }
    let forgotten = 0;
    for (const [organizationId, userIds] of byOrganization) {
      for (let i = 0; i < userIds.length; i += 500) {
        const batch = userIds.slice(i, i + 500);
        const existing = new Set(await existingUserIds(organizationId, batch));
        for (const userId of batch.filter((u) => !existing.has(u))) if ((await forget(organizationId, userId)).forgotten) forgotten++;
      }
    }
    return { forgottenAssignments: forgotten };
  }

  async function licensesOf(organizationId: string, userId: string): Promise<UserLicensesDto> {
    return toDto(organizationId, userId, await assignments.find(organizationId, userId));
  }

  /** Applies a change of group membership to several users, each through the same guarded transition. */
  async function updateGroupMembership(
    organizationId: string,
    userIds: string[],
    change: (groupIds: string[]) => string[],
    guardOf: (userId: string) => WriteGuard,
    origin: AuditOrigin,
  ): Promise<void> {
    for (const userId of userIds) {
      await transition(
        organizationId,
        userId,
        (current) => {
          const base = current ?? { licenses: [], groupIds: [], originGroupId: undefined, supportAdmin: false };
          const groupIds = change(base.groupIds);
          const originGroupId = base.originGroupId && groupIds.includes(base.originGroupId) ? base.originGroupId : undefined;
          return { licenses: base.licenses, groupIds, originGroupId, supportAdmin: base.supportAdmin };
        },
        guardOf(userId),
        origin,
      );
    }
  }

  async function seatUsage(organizationId: string) {
    const s = await state.get(organizationId);
    return LICENSE_TYPES.map((license) => ({ license, used: s.used[license] ?? 0, cap: s.caps[license] ?? null }));
  }

  async function setSeatCap(organizationId: string, rawLicense: unknown, cap: number | null, origin: AuditOrigin) {
    const license = licenseTypeSchema.safeParse(rawLicense);
    if (!license.success) throw invalid([{ path: ['license'], message: 'is not a license type' }]);
    if (cap !== null && (!Number.isInteger(cap) || cap < 0 || cap > 1_000_000))
      throw invalid([{ path: ['cap'], message: 'must be a whole number from 0 to 1000000, or null for no cap' }]);
    const event = auditEvent(origin, {
      action: 'license.seat_cap_changed',
      organizationId,
      target: { type: 'license', id: license.data },
      outcome: 'success',
      changedFields: ['cap'],
    });
    const updated = await state.setCap(organizationId, license.data, cap, event);
    if (updated) deps.audit.kickState(organizationId);
    if (!updated) {
      throw new DomainError('CONFLICT', `More ${license.data} seats are in use than ${cap}`, [
        { path: ['cap'], message: 'is below the seats in use' },
      ]);
    }
    return seatUsage(organizationId);
  }

  return {
    forUsers,
    validateRequest,
    checkAssignment,
    assign,
    revoke,
    release,
    forget,
    reconcile,
    licensesOf,
    updateGroupMembership,
    seatUsage,
    setSeatCap,
  };
}

export type LicenseService = ReturnType<typeof createLicenseService>;
