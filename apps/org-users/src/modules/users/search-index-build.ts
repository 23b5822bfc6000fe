import type { OrganizationRepository } from '../organizations/organization-repository.js';
import type { UserRepository } from './user-repository.js';
import type { IndexedUser, SearchIndex } from './search-index.js';

/** Profiles indexed per `addMany`: memory stays bounded. */
const ADD_BATCH = 1000;
/** Organizations listed per read: each batch is a bounded read. */
const ORGANIZATION_BATCH = 100;
/**
 * Passes at most (about 5 s of settling); after the first, only over the
 * organizations the pass before rewrote or found moving.
 */
const MAX_PASSES = 50;
/** Lets a change in flight during a pass (its profile written, its entries not yet) land before the next. */
const SETTLE_MS = 100;

export interface SearchIndexBuildReport {
  /** Organizations whose lists were written. */
  organizations: number;
  passes: number;
  /** Still moving after the last pass: the marker must not be written, so the next start (or `usergraph repair`) finishes. */
  unsettled: number;
}

/**
 * The one-time start-up build of the search index (profiles from before it
 * existed), run under a lease (startup-build.ts). An organization without
 * any list is indexed in one pass (`addMany`), then checked; any other is
 * checked at once. The check is `usergraph repair`'s `verify`: each bucket is
 * rewritten only if it still holds what was read, so an entry a live write
 * adds meanwhile is never dropped, and running it again (after a crash
 * midway, or over lists already right) is harmless. A live write during the
 * one-pass indexing, or in flight across a check (profile read, its entries
 * written after the rewrite), can enter a user twice; such an organization
 * was written in that pass, so it is checked again in the next, until a pass
 * changes nothing. The marker (`markBuilt`, once nothing is unsettled) is
 * written by runStartupBuild while it still holds the lease.
 */
export async function buildSearchIndex(deps: {
  organizations: OrganizationRepository;
  users: UserRepository;
  searchIndex: SearchIndex;
}): Promise<SearchIndexBuildReport> {
  const { organizations, users, searchIndex } = deps;
  const report: SearchIndexBuildReport = { organizations: 0, passes: 1, unsettled: 0 };
  const check = async (organizationId: string): Promise<boolean> => {
    const r = await searchIndex.verify(organizationId, () => users.streamOrganization(organizationId));
    if (r.buckets + r.heads > 0) report.organizations++;
    return r.buckets + r.heads + r.skipped === 0;
  };

  /** An organization with no list yet is indexed in one pass (`verify` costs several); the next pass checks it. */
  const indexAll = async (organizationId: string): Promise<void> => {
    let batch: IndexedUser[] = [];
    for await (const user of users.streamOrganization(organizationId)) {
      batch.push(user);
      if (batch.length === ADD_BATCH) {
        await searchIndex.addMany(batch);
        batch = [];
      }
    }
    await searchIndex.addMany(batch);
    report.organizations++;
  };

  let recheck: string[] = [];
  for (let after = ''; ;) {
    const ids = await organizations.pageIds(after, ORGANIZATION_BATCH);
    for (const id of ids) {
      if (await searchIndex.unindexed(id)) {
        await indexAll(id);
        recheck.push(id);
      } else if (!(await check(id))) recheck.push(id);
    }
    if (ids.length < ORGANIZATION_BATCH) break;
    after = ids[ids.length - 1]!;
  }
  for (; report.passes < MAX_PASSES && recheck.length > 0; report.passes++) {
    await new Promise((resolve) => setTimeout(resolve, SETTLE_MS));
    const next: string[] = [];
    for (const id of recheck) if (!(await check(id))) next.push(id);
    recheck = next;
  }
  report.unsettled = recheck.length;
  return report;
}
