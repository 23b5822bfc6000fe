// Deleting what has expired: TTL indexes on MongoDB; on the embedded store
// (FerretDB, which answers "expireAfterSeconds is not implemented") a sweeper
// that deletes expired documents in bounded batches.
import type mongoose from 'mongoose';
import { errSummary, type Logger } from '@usergraph/service-kit';
import { IDEMPOTENCY_KEYS_COLLECTION } from './idempotency-key.js';

/** A collection whose documents expire once `field` (a Date) is `afterSeconds` in the past. */
export interface ExpiringCollection {
  collection: string;
  field: string;
  /** 0 when `field` holds the expiry itself (expiresAt); a retention when it holds a creation time. */
  afterSeconds: number;
}

/** Idempotency-Key records (withIdempotencyKey): done ones after 24 h, pending markers after their lease. */
export const IDEMPOTENCY_KEYS_EXPIRY: ExpiringCollection = { collection: IDEMPOTENCY_KEYS_COLLECTION, field: 'expiresAt', afterSeconds: 0 };

export interface ExpiryOptions {
  /** Base interval between sweeper passes; each wait is jittered by ±20 %. */
  intervalMs: number;
  /** Documents deleted per batch (one find with a limit, one delete by `_id`). */
  batchSize?: number;
  /** Batches per collection per pass: a backlog is worked off over several passes, never in one command. */
  maxBatchesPerPass?: number;
  logger: Pick<Logger, 'debug' | 'warn'>;
  /** The clock the sweeper compares with (tests). */
  now?: () => Date;
}

export interface Expiry {
  /** `ttl-index` on MongoDB, `sweeper` on the embedded store. */
  readonly mode: 'ttl-index' | 'sweeper';
  /** One sweeper pass over every collection now, idle or not (a no-op with TTL indexes): documents deleted per collection. Store errors are thrown. */
  sweepOnce(): Promise<Record<string, number>>;
  /** Stops the timer and waits for a running pass. */
  stop(): Promise<void>;
}

const DEFAULT_BATCH = 500;
const DEFAULT_MAX_BATCHES = 10;
/** At most this many passes skipped after passes that found nothing (16 min at the default interval). */
const MAX_IDLE_SKIPS = 16;
/** MongoDB's IndexOptionsConflict: the index exists with another expireAfterSeconds. */
const INDEX_OPTIONS_CONFLICT = 85;

/**
 * Whether the server builds TTL indexes. Asked once per connection: the
 * embedded store (FerretDB) names itself in `buildInfo`, MongoDB does not.
 */
export async function supportsTtlIndexes(conn: mongoose.Connection): Promise<boolean> {
  if (!conn.db) throw new Error('The database connection is not open');
  const info = await conn.db.admin().command({ buildInfo: 1 });
  return !Object.keys(info).some((key) => /ferretdb/i.test(key));
}

async function ensureTtlIndex(db: mongoose.mongo.Db, spec: ExpiringCollection): Promise<void> {
  const key = { [spec.field]: 1 };
  try {
    await db.collection(spec.collection).createIndex(key, { expireAfterSeconds: spec.afterSeconds });
  } catch (err) {
    if ((err as { code?: unknown }).code !== INDEX_OPTIONS_CONFLICT) throw err;
    // A retention changed since the index was built: change it in place.
    await db.command({ collMod: spec.collection, index: { keyPattern: key, expireAfterSeconds: spec.afterSeconds } });
  }
}

/**
 * Makes expired documents of `collections` go away: TTL indexes where the
 * store has them, else a sweeper. Each sweeper batch finds at most
 * `batchSize` expired `_id`s (a bounded read; the embedded store answers a
 * date range by scanning) and deletes them by `_id`, which it answers by key.
 * A failed pass is logged and retried at the next one: an outage never stops
 * the service or the sweeper.
 */
export async function startExpiry(
  conn: mongoose.Connection,
  collections: readonly ExpiringCollection[],
  opts: ExpiryOptions,
): Promise<Expiry> {
  const db = conn.db;
  if (!db) throw new Error('The database connection is not open');
  const now = opts.now ?? (() => new Date());
  const batchSize = opts.batchSize ?? DEFAULT_BATCH;
  const maxBatches = opts.maxBatchesPerPass ?? DEFAULT_MAX_BATCHES;

  if (await supportsTtlIndexes(conn)) {
    for (const spec of collections) await ensureTtlIndex(db, spec);
    return { mode: 'ttl-index', sweepOnce: () => Promise.resolve({}), stop: () => Promise.resolve() };
  }

  let stopped = false;
  async function sweepCollection(spec: ExpiringCollection): Promise<number> {
    const col = db!.collection<{ _id: unknown }>(spec.collection);
    let deleted = 0;
    // stop() ends a pass at the next batch rather than waiting for a backlog.
    for (let batch = 0; batch < maxBatches && !stopped; batch++) {
      const cutoff = new Date(now().getTime() - spec.afterSeconds * 1000);
      const expired = await col
        .find({ [spec.field]: { $lte: cutoff } }, { projection: { _id: 1 } })
        .limit(batchSize)
        .toArray();
      if (expired.length === 0) break;
      // Deleted only if still expired: a document refreshed since the find stays.
      const result = await col.deleteMany({ _id: { $in: expired.map((d) => d._id) }, [spec.field]: { $lte: cutoff } });
      deleted += result.deletedCount;
      if (expired.length < batchSize) break;
    }
    return deleted;
  }

  async function sweepOnce(): Promise<Record<string, number>> {
    const counts: Record<string, number> = {};
    for (const spec of collections) counts[spec.collection] = await sweepCollection(spec);
    return counts;
  }

  // A pass that finds nothing expired has read the whole collection: such a
  // collection is skipped for 1, 2, 4 … MAX_IDLE_SKIPS passes, until one finds something.
  const idle = new Map(collections.map((spec) => [spec.collection, { skips: 0, left: 0 }]));
  async function timedPass(): Promise<Record<string, number>> {
    const counts: Record<string, number> = {};
    for (const spec of collections) {
      const state = idle.get(spec.collection)!;
      if (state.left > 0) {
        state.left--;
        continue;
      }
      counts[spec.collection] = await sweepCollection(spec);
      state.skips = counts[spec.collection] === 0 ? Math.min(Math.max(1, state.skips * 2), MAX_IDLE_SKIPS) : 0;
      state.left = state.skips;
    }
    return counts;
  }

  let timer: NodeJS.Timeout | undefined;
  let running: Promise<void> | undefined;

  function schedule(): void {
    if (stopped) return;
    const wait = opts.intervalMs * (0.8 + Math.random() * 0.4);
    timer = setTimeout(() => {
      running = timedPass()
        .then((counts) => opts.logger.debug({ deleted: counts }, 'expiry sweep'))
        .catch((err: unknown) => opts.logger.warn({ err: errSummary(err) }, 'expiry sweep failed; retried at the next pass'))
        .finally(() => {
          running = undefined;
          schedule();
        });
    }, wait);
    timer.unref();
  }
  schedule();

  return {
    mode: 'sweeper',
    sweepOnce,
    async stop() {
      stopped = true;
      clearTimeout(timer);
      await running;
    },
  };
}
