import { randomUUID } from 'node:crypto';
import type { Connection } from 'mongoose';
import { claim, findClaimOwner, releaseClaim } from '@usergraph/mongo';
import { groupNameSchema, validate } from '@usergraph/validation';
import { DomainError } from '@usergraph/service-kit';
import { auditEvent, type AuditOrigin, type NewAuditEvent, type ServiceAudit } from '@usergraph/audit';
import type { AssignmentRepository } from '../licenses/assignment-repository.js';
import type { GroupDoc, GroupRepository } from './group-repository.js';

export const DEFAULT_GROUP = 'DEFAULT';

export interface GroupDto {
  id: string;
  name: string;
}

const NAME_CLAIM = 'group-name';
const nameClaim = (organizationId: string, name: string, ownerId: string) => ({ kind: NAME_CLAIM, organizationId, value: name, ownerId });

/** Groups of an organization. Names are UPPERCASE and unique; DEFAULT always exists and cannot be renamed or deleted. */
export function createGroupService(deps: {
  conn: Connection;
  groups: GroupRepository;
  assignments: AssignmentRepository;
  /** Group events: in the group's own write (kickGroup relays them), or in the outbox before a deletion (record). */
  audit: Pick<ServiceAudit, 'record'> & { kickGroup: (groupId: string) => void };
}) {
  const groupEvent = (
    origin: AuditOrigin,
    organizationId: string,
    groupId: string,
    e: Pick<NewAuditEvent, 'action' | 'changedFields' | 'key'>,
  ) => auditEvent(origin, { organizationId, target: { type: 'group', id: groupId }, outcome: 'success', ...e });
  const defaultGroupId = (organizationId: string) => `${organizationId}-default`;

  /** Idempotent: every organization gets DEFAULT the first time anything asks for its groups. */
  async function ensureDefault(organizationId: string): Promise<void> {
    const id = defaultGroupId(organizationId);
    await claim(deps.conn, nameClaim(organizationId, DEFAULT_GROUP, id));
    await deps.groups.insertOnce({ _id: id, organizationId, name: DEFAULT_GROUP });
  }

  async function list(organizationId: string): Promise<GroupDoc[]> {
    await ensureDefault(organizationId);
    return deps.groups.list(organizationId);
  }

  /**
   * A group by name: its name's claim gives the id, read by `_id` (a query on
   * the name would read all of the organization's groups through the
   * `organizationId` index on the embedded store). The
   * document's own name decides, as a query on it would: during a rename the
   * new name's claim exists before the document carries it.
   */
  async function findByName(organizationId: string, name: string): Promise<GroupDoc | null> {
    const id = await findClaimOwner(deps.conn, NAME_CLAIM, organizationId, name);
    const group = id ? await deps.groups.findById(organizationId, id) : null;
    return group?.name === name ? group : null;
  }

  function checkName(raw: unknown, path: string): string {
    const checked = validate(groupNameSchema, raw, [path]);
    if (!checked.ok) throw new DomainError('BAD_USER_INPUT', `Invalid group name: ${checked.errors[0]!.message}`, checked.errors);
    return checked.value;
  }

  /** The group named `rawName` (validated first); messages never repeat the name given. */
  async function byName(organizationId: string, rawName: unknown, path = 'name'): Promise<GroupDoc> {
    const name = checkName(rawName, path);
    await ensureDefault(organizationId);
    const found = await findByName(organizationId, name);
    if (!found)
      throw new DomainError('NOT_FOUND', 'No such group in your organization', [
        { path: [path], message: 'does not name a group of your organization' },
      ]);
    return found;
  }

  async function create(organizationId: string, rawName: unknown, origin: AuditOrigin): Promise<GroupDoc> {
    const name = checkName(rawName, 'name');
    await ensureDefault(organizationId);
    const id = randomUUID();
    if ((await claim(deps.conn, nameClaim(organizationId, name, id))) === 'taken') {
      throw new DomainError('CONFLICT', 'A group with this name already exists', [{ path: ['name'], message: 'is already taken' }], {
        reason: 'ALREADY_IN_USE',
      });
    }
    await deps.groups.insertOnce({
      _id: id,
      organizationId,
      name,
      auditOutbox: [groupEvent(origin, organizationId, id, { action: 'group.created' })],
    });
    deps.audit.kickGroup(id);
    return (await deps.groups.findById(organizationId, id))!;
  }

  async function rename(organizationId: string, rawName: unknown, rawNewName: unknown, origin: AuditOrigin): Promise<GroupDoc> {
    const name = checkName(rawName, 'name');
    const newName = checkName(rawNewName, 'newName');
    if (name === DEFAULT_GROUP)
      throw new DomainError('BAD_USER_INPUT', 'DEFAULT cannot be renamed', [{ path: ['name'], message: 'DEFAULT cannot be renamed' }]);
    const group = await byName(organizationId, name);
    // Renaming to the same name changes nothing; going on would release the name's claim below.
    if (newName === name) return group;
    if ((await claim(deps.conn, nameClaim(organizationId, newName, group._id))) === 'taken') {
      throw new DomainError('CONFLICT', 'A group with this name already exists', [{ path: ['newName'], message: 'is already taken' }], {
        reason: 'ALREADY_IN_USE',
      });
    }
    const renamed = await deps.groups.rename(
      organizationId,
      group._id,
      newName,
      groupEvent(origin, organizationId, group._id, { action: 'group.renamed', changedFields: ['name'] }),
    );
    deps.audit.kickGroup(group._id);
    await releaseClaim(deps.conn, nameClaim(organizationId, name, group._id));
    return renamed!;
  }

  /** Deletes a group that is nobody's origin group, removing it from its members. */
  async function remove(
    organizationId: string,
    rawName: unknown,
    removeFromMembers: (userIds: string[], groupId: string) => Promise<void>,
    origin: AuditOrigin,
  ): Promise<void> {
    const name = checkName(rawName, 'name');
    if (name === DEFAULT_GROUP)
      throw new DomainError('BAD_USER_INPUT', 'DEFAULT cannot be deleted', [{ path: ['name'], message: 'DEFAULT cannot be deleted' }]);
    const group = await byName(organizationId, name);
    const members = await deps.assignments.membersOf(organizationId, group._id);
    const origins = members.filter((m) => m.originGroupId === group._id).length;
    if (origins > 0) {
      throw new DomainError('CONFLICT', `The group is the origin group of ${origins} user(s): change theirs first`, [
        { path: ['name'], message: `is the origin group of ${origins} user(s)` },
      ]);
    }
    await removeFromMembers(
      members.map((m) => m.userId),
      group._id,
    );
    // The deletion's event goes to the outbox just before the group does (its id is the group's: a retry writes it once).
    await deps.audit.record(origin, {
      action: 'group.deleted',
      organizationId,
      target: { type: 'group', id: group._id },
      outcome: 'success',
      key: [group._id, 'group.deleted'],
    });
    await deps.groups.remove(organizationId, group._id);
    await releaseClaim(deps.conn, nameClaim(organizationId, name, group._id));
  }

  /** Maps names to ids; unknown names come back as field errors at `path.<index>`. */
  async function resolveNames(organizationId: string, names: string[], path: string) {
    await ensureDefault(organizationId);
    const groups = await Promise.all([...new Set(names)].map((name) => findByName(organizationId, name)));
    const found = new Map(groups.filter((g): g is GroupDoc => g !== null).map((g) => [g.name, g._id]));
    const errors = names.flatMap((n, i) =>
      found.has(n) ? [] : [{ path: [path, String(i)], message: 'names no group of your organization' }],
    );
    return { ids: names.map((n) => found.get(n)!).filter(Boolean), errors };
  }

  async function namesOf(organizationId: string, ids: readonly string[]): Promise<Map<string, string>> {
    if (ids.length === 0) return new Map();
    return new Map((await deps.groups.findByIds(organizationId, ids)).map((g) => [g._id, g.name]));
  }

  /** Member-count changes from one user's groups going from `before` to `after`. */
  async function countMembershipChange(organizationId: string, before: readonly string[], after: readonly string[]): Promise<void> {
    const deltas = new Map<string, number>();
    for (const id of after) if (!before.includes(id)) deltas.set(id, 1);
    for (const id of before) if (!after.includes(id)) deltas.set(id, -1);
    if (deltas.size > 0) await deps.groups.adjustMemberCounts(organizationId, deltas);
  }

  return { ensureDefault, list, create, rename, remove, byName, resolveNames, namesOf, countMembershipChange };
}

export type GroupService = ReturnType<typeof createGroupService>;
