import { LICENSE_TYPES, type LicenseType } from '@usergraph/validation';
import type { GroupRepository } from '../groups/group-repository.js';
import type { AssignmentRepository } from './assignment-repository.js';
import type { LicenseStateRepository } from './license-state-repository.js';

/** Groups, and organizations' seat states, read per batch: memory and each read stay bounded. */
export const REPAIR_BATCH = 200;

export interface CountFix {
  organizationId: string;
  from: number;
  to: number;
}
export interface RepairReport {
  groups: Array<CountFix & { name: string }>;
  seats: Array<CountFix & { license: LicenseType }>;
  /** Counts that moved while being checked (a live change): left to the next run. */
  skipped: number;
  checked: { groups: number; organizations: number };
}

/**
 * `usergraph repair`: recounts group members and seats from the
 * assignments, which decide (counters are written around them, so a crash
 * leaves a count off, never an assignment). No lock: each fix is a
 * conditional write on the value read before counting, so a live change in
 * between makes the fix a no-op instead of being lost. A change in flight
 * across the whole check (a seat taken before the read, its assignment
 * written after the count) can still be miscounted; the next run fixes it.
 */
export function createCounterRepair(deps: { groups: GroupRepository; assignments: AssignmentRepository; state: LicenseStateRepository }) {
  const { groups, assignments, state } = deps;

  async function repairGroups(report: RepairReport): Promise<void> {
    for (let after = ''; ;) {
      const batch = await groups.pageAll(after, REPAIR_BATCH);
      for (const g of batch) {
        report.checked.groups++;
        const members = await assignments.countInGroup(g.organizationId, g._id);
        const from = g.memberCount ?? 0; // absent: no member yet
        if (members === from) continue;
        if (await groups.setMemberCountIf(g.organizationId, g._id, g.memberCount, members)) {
          report.groups.push({ organizationId: g.organizationId, name: g.name, from, to: members });
        } else report.skipped++;
      }
      if (batch.length < REPAIR_BATCH) return;
      after = batch[batch.length - 1]!._id;
    }
  }

  async function repairSeats(report: RepairReport): Promise<void> {
    for (let after = ''; ;) {
      const batch = await state.pageAll(after, REPAIR_BATCH);
      for (const read of batch) {
        report.checked.organizations++;
        const held = new Map<LicenseType, number>(LICENSE_TYPES.map((l) => [l, 0]));
        for await (const a of assignments.streamLicensesOf(read._id)) {
          // A support admin's ADMIN is not a company seat (license-service.ts `counted`).
          for (const l of a.licenses) if (!(a.supportAdmin && l === 'ADMIN')) held.set(l, (held.get(l) ?? 0) + 1);
        }
        for (const [license, to] of held) {
          const from = read.used[license];
          if (from === to) continue;
          if (await state.setUsedIf(read._id, license, read, to))
            report.seats.push({ organizationId: read._id, license, from: from ?? 0, to });
          else report.skipped++;
        }
      }
      if (batch.length < REPAIR_BATCH) return;
      after = batch[batch.length - 1]!._id;
    }
  }

  return {
    async repair(): Promise<RepairReport> {
      const report: RepairReport = { groups: [], seats: [], skipped: 0, checked: { groups: 0, organizations: 0 } };
      await repairGroups(report);
      await repairSeats(report);
      return report;
    },
  };
}
