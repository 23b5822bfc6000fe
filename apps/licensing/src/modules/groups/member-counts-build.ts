import type { AssignmentRepository } from '../licenses/assignment-repository.js';
import type { GroupRepository } from './group-repository.js';

/** Groups read per page in the first pass: memory and each read stay bounded. */
const PAGE = 200;
/**
 * Passes at most (about 5 s of settling); after the first, only over the
 * groups the pass before set or found moving, which live writes keep doing
 * only to a group changing all the time.
 */
const MAX_PASSES = 50;
/** Lets a change in flight during a pass (its assignment written, its `$inc` not yet) land before the next. */
const SETTLE_MS = 100;

export interface MemberCountsBuildReport {
  /** Groups whose count was set. */
  set: number;
  passes: number;
  /** Groups still moving after the last pass: the marker must not be written, so the next start (or `usergraph repair`) finishes. */
  unsettled: number;
}

/**
 * The one-time start-up build of group member counts (groups from before
 * the counts existed), run under a lease (startup-build.ts). Safe against live writes
 * like `usergraph repair`: each count is set only while it is still the value
 * read before counting, so a live `$inc` in between is never overwritten.
 * A change in flight across a check (assignment written before the count,
 * its `$inc` after the set) would count twice; such a group was set in that
 * pass, so it is checked again in the next, until a pass changes nothing. The
 * marker (`markMemberCountsBuilt`, once nothing is unsettled) is written by
 * runStartupBuild while it still holds the lease; a crash midway leaves none:
 * the next holder runs it all again.
 */
export async function buildMemberCounts(deps: {
  groups: GroupRepository;
  assignments: AssignmentRepository;
}): Promise<MemberCountsBuildReport> {
  const { groups, assignments } = deps;
  const report: MemberCountsBuildReport = { set: 0, passes: 1, unsettled: 0 };
  /** 'same': the count agrees; 'set': fixed now; 'moved': changed while checked. */
  const check = async (organizationId: string, id: string, from: number | undefined) => {
    const members = await assignments.countInGroup(organizationId, id);
    if (members === (from ?? 0)) return 'same'; // absent: no member yet
    if (!(await groups.setMemberCountIf(organizationId, id, from, members))) return 'moved';
    report.set++;
    return 'set';
  };

  let recheck: Array<{ organizationId: string; id: string }> = [];
  for (let after = ''; ;) {
    const page = await groups.pageAll(after, PAGE);
    for (const g of page)
      if ((await check(g.organizationId, g._id, g.memberCount)) !== 'same') recheck.push({ organizationId: g.organizationId, id: g._id });
    if (page.length < PAGE) break;
    after = page[page.length - 1]!._id;
  }
  for (; report.passes < MAX_PASSES && recheck.length > 0; report.passes++) {
    await new Promise((resolve) => setTimeout(resolve, SETTLE_MS));
    const next: typeof recheck = [];
    for (const g of recheck) {
      const doc = await groups.findById(g.organizationId, g.id);
      if (doc && (await check(g.organizationId, g.id, doc.memberCount)) !== 'same') next.push(g);
    }
    recheck = next;
  }
  report.unsettled = recheck.length;
  return report;
}
