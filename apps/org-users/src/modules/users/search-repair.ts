import type { OrganizationRepository } from '../organizations/organization-repository.js';
import type { UserRepository } from './user-repository.js';
import type { SearchIndex } from './search-index.js';

/** Organizations listed per read: each batch is a bounded read. */
const ORGANIZATION_BATCH = 100;

/**
 * `usergraph repair`, org-users' part: verifies every organization's search
 * lists against its profiles and rewrites what disagrees (a crash between
 * a bucket and its head, or between a profile and its entries).
 */
export async function repairSearchIndex(deps: { organizations: OrganizationRepository; users: UserRepository; searchIndex: SearchIndex }) {
  const changed: Array<{ organizationId: string; buckets: number; heads: number }> = [];
  const report = { organizations: 0, bucketsRewritten: 0, headsRecounted: 0, skipped: 0, changed };
  for (let after = ''; ;) {
    const ids = await deps.organizations.pageIds(after, ORGANIZATION_BATCH);
    for (const organizationId of ids) {
      report.organizations++;
      const r = await deps.searchIndex.verify(organizationId, () => deps.users.streamOrganization(organizationId));
      report.bucketsRewritten += r.buckets;
      report.headsRecounted += r.heads;
      report.skipped += r.skipped;
      if (r.buckets + r.heads > 0) report.changed.push({ organizationId, buckets: r.buckets, heads: r.heads });
    }
    if (ids.length < ORGANIZATION_BATCH) return report;
    after = ids[ids.length - 1]!;
  }
}
