// Leases: one holder at a time for a job that several instances may start
// at once (the one-time start-up builds). Like claims.ts, a single document
// arbitrated by the always-unique _id index and atomic conditional updates:
// no transaction, no TTL index (the embedded store has neither), so an
// expired lease is taken over by a conditional update, not deleted by the
// server. Expiry compares this process's clock with the holder's: a clock
// running ahead by more than the lease takes over a live holder's lease, and
// a holder that confirmed its lease (confirm) trusts it for a lease duration
// by its own clock. Keep the lease well above the clock skew between
// instances (STARTUP_LEASE_SECONDS has a floor, MIN_STARTUP_LEASE_SECONDS).
//
// Why not a library: mongo-locks (the kept one on npm) expires a crashed
// holder's lock only through a TTL index, which the embedded store lacks, so
// a holder that died would block every later start; mongodb-lock is written
// for the callback API the current driver removed.
import { randomUUID } from 'node:crypto';
import type mongoose from 'mongoose';
import type { Logger } from '@usergraph/service-kit';
import { isDuplicateKeyError } from './claims.js';

export const LEASES_COLLECTION = 'leases';

export interface LeaseDoc {
  _id: string;
  holder: string;
  expiresAt: Date;
  acquiredAt: Date;
}

export interface Lease {
  readonly name: string;
  readonly holder: string;
  /** False once a renewal found the lease taken over (this holder stalled past its expiry). */
  held(): boolean;
  /**
   * Renews the lease now, only if it is still ours: true, it is ours for
   * another `ttlMs` (by this instance's clock); false, it was taken over.
   * `held()` only knows the last renewal's answer; ask this before a write
   * that only the holder may make.
   */
  confirm(): Promise<boolean>;
  /** Stops renewing and gives the lease up (only if still ours). */
  release(): Promise<void>;
}

function leases(conn: mongoose.Connection): mongoose.mongo.Collection<LeaseDoc> {
  if (!conn.db) throw new Error('The database connection is not open');
  return conn.db.collection<LeaseDoc>(LEASES_COLLECTION);
}

/**
 * Takes the lease `name` if free or expired, and renews it every third of
 * `ttlMs` until released; null while another live holder has it.
 */
export async function acquireLease(
  conn: mongoose.Connection,
  name: string,
  opts: { ttlMs: number; logger: Pick<Logger, 'error'>; holder?: string },
): Promise<Lease | null> {
  const col = leases(conn);
  const holder = opts.holder ?? randomUUID();
  const now = new Date();
  const expiresAt = new Date(now.getTime() + opts.ttlMs);
  const acquired = await col.insertOne({ _id: name, holder, expiresAt, acquiredAt: now }).then(
    () => true,
    async (err: unknown) => {
      if (!isDuplicateKeyError(err)) throw err;
      // Taken over only where it expired: of two instances racing here, one matches.
      const res = await col.updateOne({ _id: name, expiresAt: { $lte: now } }, { $set: { holder, expiresAt, acquiredAt: now } });
      return res.modifiedCount === 1;
    },
  );
  if (!acquired) return null;

  let held = true;
  const lost = () => {
    if (!held) return;
    held = false;
    opts.logger.error({ lease: name, holder }, 'lease lost: taken over after it expired');
  };
  /** True while the lease is ours (then extended by `ttlMs`). */
  const renew = async (): Promise<boolean> => {
    const res = await col.updateOne({ _id: name, holder }, { $set: { expiresAt: new Date(Date.now() + opts.ttlMs) } });
    if (res.matchedCount === 0) lost();
    return res.matchedCount === 1;
  };
  const timer = setInterval(
    () => {
      renew().catch((err: unknown) => opts.logger.error({ err, lease: name, holder }, 'lease renewal failed'));
    },
    Math.max(1, Math.floor(opts.ttlMs / 3)),
  );
  timer.unref();
  return {
    name,
    holder,
    held: () => held,
    async confirm() {
      // A takeover is one conditional update, like this renewal: whichever lands first wins.
      return held && (await renew());
    },
    async release() {
      clearInterval(timer);
      held = false;
      await col.deleteOne({ _id: name, holder });
    },
  };
}

export interface StartupBuildOptions<T> {
  /** The lease's name: one per build. */
  name: string;
  /** True once the build has finished (its marker is written), by any instance. */
  done: () => Promise<boolean>;
  /** Runs under the lease; must be safe to run again after a crash midway, and must not write the marker itself. */
  build: (lease: Lease) => Promise<T>;
  /** Whether the build finished, so that its marker may be written (default: always). */
  finished?: (result: T) => boolean;
  /**
   * Writes the marker: called only after the lease was confirmed still held, so
   * a holder that stalled past its expiry (another instance took over) never
   * marks a build done. The marker lives elsewhere (no transaction), so it is
   * one write right after the check: only a stall longer than the whole lease
   * between the two could still let it land late.
   */
  markDone: () => Promise<void>;
  ttlMs: number;
  /** How long a non-holder waits for the holder to finish (or die and let its lease expire). */
  waitMs: number;
  pollMs?: number;
  logger: Pick<Logger, 'error'>;
  holder?: string;
}

export type StartupBuildOutcome<T> = { outcome: 'built'; result: T } | { outcome: 'done' } | { outcome: 'timed-out' };

const LEASE_LOST = Symbol('lease lost');

/**
 * A one-time build that several instances may start at once: the first to
 * take the lease builds; the others wait until the marker says it finished,
 * and take over if the holder dies (its lease expires). 'timed-out': another
 * holder is still building after `waitMs`; the caller decides whether to
 * serve without the build.
 */
export async function runStartupBuild<T>(conn: mongoose.Connection, opts: StartupBuildOptions<T>): Promise<StartupBuildOutcome<T>> {
  const deadline = Date.now() + opts.waitMs;
  const pollMs = opts.pollMs ?? Math.min(1_000, Math.max(50, Math.floor(opts.ttlMs / 10)));
  for (;;) {
    if (await opts.done()) return { outcome: 'done' };
    const lease = await acquireLease(conn, opts.name, {
      ttlMs: opts.ttlMs,
      logger: opts.logger,
      ...(opts.holder ? { holder: opts.holder } : {}),
    });
    if (lease) {
      let outcome: StartupBuildOutcome<T> | typeof LEASE_LOST;
      try {
        // The previous holder may have finished between our check and our take.
        outcome = (await opts.done()) ? { outcome: 'done' } : await buildAndMark(lease);
      } catch (err) {
        // The build's error is the one to report; a lease left behind expires by itself.
        await lease
          .release()
          .catch((releaseErr: unknown) => opts.logger.error({ err: releaseErr, lease: opts.name }, 'lease release failed'));
        throw err;
      }
      await lease.release();
      // Lost while building: the new holder builds; wait for it like any other instance.
      if (outcome !== LEASE_LOST) return outcome;
    }
    if (Date.now() >= deadline) return { outcome: 'timed-out' };
    await new Promise((resolve) => setTimeout(resolve, pollMs));
  }

  async function buildAndMark(lease: Lease): Promise<StartupBuildOutcome<T> | typeof LEASE_LOST> {
    const result = await opts.build(lease);
    if (opts.finished && !opts.finished(result)) return { outcome: 'built', result };
    if (!(await lease.confirm())) {
      opts.logger.error({ lease: opts.name, holder: lease.holder }, 'start-up build: lease lost before its marker; marker not written');
      return LEASE_LOST;
    }
    await opts.markDone();
    return { outcome: 'built', result };
  }
}
