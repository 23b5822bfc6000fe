import type { RefusalRule } from '@usergraph/audit';

/**
 * licensing's administrative mutations whose authorization refusals are recorded (docs/audit-log.md,
 * "Refused actions"), with the action a success records. Groups are named, not identified by an id:
 * their refusals name the organization.
 */
export const LICENSING_REFUSALS: Record<string, RefusalRule> = {
  setSeatCap: { action: 'license.seat_cap_changed' },
  createGroup: { action: 'group.created' },
  renameGroup: { action: 'group.renamed' },
  deleteGroup: { action: 'group.deleted' },
  addGroupMembers: { action: 'user.groups_changed' },
  removeGroupMembers: { action: 'user.groups_changed' },
};
