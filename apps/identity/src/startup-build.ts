import type { Connection } from 'mongoose';
import { runStartupBuild } from '@usergraph/mongo';
import type { Logger } from '@usergraph/service-kit';
import type { IdentityEnv } from './env.js';
import type { SessionRepository } from './modules/sessions/session-repository.js';

/**
 * Sessions from before the per-user lists are entered once per database, by
 * one instance at a time (the lease). Others wait: serving before the lists
 * exist would let "sign out everywhere" miss those sessions and fail their
 * refreshes. Past the wait, refuse to start (the process manager restarts it,
 * and it waits again) rather than serve without them.
 */
export async function buildSessionListsAtStart(
  conn: Connection,
  sessions: SessionRepository,
  env: Pick<IdentityEnv, 'STARTUP_LEASE_SECONDS' | 'STARTUP_BUILD_WAIT_SECONDS'>,
  logger: Logger,
) {
  const lists = await runStartupBuild(conn, {
    name: 'identity:session-lists',
    done: () => sessions.listsBuilt(),
    build: () => sessions.buildLists(new Date()),
    markDone: () => sessions.markListsBuilt(),
    ttlMs: env.STARTUP_LEASE_SECONDS * 1000,
    waitMs: env.STARTUP_BUILD_WAIT_SECONDS * 1000,
    logger,
  });
  if (lists.outcome === 'timed-out')
    throw new Error("Another instance is still entering the existing sessions in their users' lists (STARTUP_BUILD_WAIT_SECONDS)");
  if (lists.outcome === 'built') logger.info({ entered: lists.result }, "existing sessions entered in their users' session lists");
  return lists;
}
