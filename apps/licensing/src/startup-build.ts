import type { Connection } from 'mongoose';
import { runStartupBuild } from '@usergraph/mongo';
import type { Logger } from '@usergraph/service-kit';
import type { LicensingEnv } from './env.js';
import { createAssignmentRepository } from './modules/licenses/assignment-repository.js';
import { createGroupRepository } from './modules/groups/group-repository.js';
import { buildMemberCounts } from './modules/groups/member-counts-build.js';

/**
 * Groups from before the counts existed get theirs, once per database, by one
 * instance at a time (the lease). Others wait, so they do not list counts still
 * being built. Past the wait the holder is alive and still building: serve (a
 * count shown low for a while; this instance's own `$inc`s are kept by the
 * build's conditional writes).
 */
export async function buildMemberCountsAtStart(
  conn: Connection,
  env: Pick<LicensingEnv, 'STARTUP_LEASE_SECONDS' | 'STARTUP_BUILD_WAIT_SECONDS'>,
  logger: Logger,
) {
  const groups = createGroupRepository(conn);
  const counts = await runStartupBuild(conn, {
    name: 'licensing:member-counts',
    done: () => groups.memberCountsBuilt(),
    build: () => buildMemberCounts({ groups, assignments: createAssignmentRepository(conn) }),
    finished: (report) => report.unsettled === 0,
    markDone: () => groups.markMemberCountsBuilt(),
    ttlMs: env.STARTUP_LEASE_SECONDS * 1000,
    waitMs: env.STARTUP_BUILD_WAIT_SECONDS * 1000,
    logger,
  });
  if (counts.outcome === 'built')
    logger.info(
      { ...counts.result },
      counts.result.unsettled === 0
        ? 'member counts built for the existing groups'
        : 'member counts still moving: left to the next start or usergraph repair',
    );
  if (counts.outcome === 'timed-out') logger.warn('member counts: another instance is still building them; serving meanwhile');
  return counts;
}
