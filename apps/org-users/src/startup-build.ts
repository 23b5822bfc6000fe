import type { Connection } from 'mongoose';
import { runStartupBuild } from '@usergraph/mongo';
import type { Logger } from '@usergraph/service-kit';
import type { OrgUsersEnv } from './env.js';
import type { OrganizationRepository } from './modules/organizations/organization-repository.js';
import type { UserRepository } from './modules/users/user-repository.js';
import type { SearchIndex } from './modules/users/search-index.js';
import { buildSearchIndex } from './modules/users/search-index-build.js';

/**
 * Profiles from before the search index are indexed once per database, by one
 * instance at a time (the lease). Others wait, so D's search does not answer
 * from half-built lists. Past the wait the holder is alive and still building:
 * serve (a search may miss old profiles for a while; this instance's own index
 * writes are kept by the build's conditional rewrites).
 */
export async function buildSearchIndexAtStart(
  conn: Connection,
  deps: { organizations: OrganizationRepository; users: UserRepository; searchIndex: SearchIndex },
  env: Pick<OrgUsersEnv, 'STARTUP_LEASE_SECONDS' | 'STARTUP_BUILD_WAIT_SECONDS'>,
  logger: Logger,
) {
  const index = await runStartupBuild(conn, {
    name: 'org-users:search-index',
    done: () => deps.searchIndex.built(),
    build: () => buildSearchIndex(deps),
    finished: (report) => report.unsettled === 0,
    markDone: () => deps.searchIndex.markBuilt(),
    ttlMs: env.STARTUP_LEASE_SECONDS * 1000,
    waitMs: env.STARTUP_BUILD_WAIT_SECONDS * 1000,
    logger,
  });
  if (index.outcome === 'built')
    logger.info(
      { ...index.result },
      index.result.unsettled === 0
        ? 'search index built for the existing profiles'
        : 'search index still moving: left to the next start or usergraph repair',
    );
  if (index.outcome === 'timed-out') logger.warn('search index: another instance is still building it; serving meanwhile');
  return index;
}
