import type { Connection } from 'mongoose';
import { RateLimiterMongo, RateLimiterRes, type IRateLimiterMongoOptions } from 'rate-limiter-flexible';
import type { ExpiringCollection } from './expiry.js';
import { rateLimited } from '@usergraph/service-kit';

const COLLECTION = 'rate_limits';
/** rate-limiter-flexible sets `expire` to the end of the window (or block). */
export const RATE_LIMITS_EXPIRY: ExpiringCollection = { collection: COLLECTION, field: 'expire', afterSeconds: 0 };

/**
 * rate-limiter-flexible's Mongo store, with each key stored as the document's
 * `_id`. Measured on the embedded store (FerretDB on SQLite): RateLimiterMongo
 * as shipped cannot create its TTL index ("expireAfterSeconds is not
 * implemented"), so its unique `key` index is missing too; an expired key then
 * gets a second document, and every call scans the collection (12 ms per call
 * with 500 keys). Keyed by `_id`, the same upserts are unique by construction
 * and answered by key (1.2 ms with 500 keys, no scan), on MongoDB and the
 * embedded store alike. Expired documents go by RATE_LIMITS_EXPIRY (a TTL
 * index on MongoDB, the sweeper on the embedded store: see startExpiry).
 */
type StoreOptions = Record<string, unknown>;
/** The store hooks every RateLimiterStoreAbstract implements; its typings leave them out. */
interface StoreHooks {
  _upsert(key: string, points: number, msDuration: number, forceExpire?: boolean, options?: StoreOptions): Promise<unknown>;
  _get(key: string, options?: StoreOptions): Promise<unknown>;
  _delete(key: string, options?: StoreOptions): Promise<boolean>;
}
const MongoStore = RateLimiterMongo as unknown as new (opts: IRateLimiterMongoOptions) => RateLimiterMongo & StoreHooks;

class KeyedMongoLimiter extends MongoStore {
  override _upsert(key: string, points: number, msDuration: number, forceExpire = false, options: StoreOptions = {}) {
    return super._upsert(key, points, msDuration, forceExpire, { ...options, attrs: { _id: key } });
  }
  override _get(key: string, options: StoreOptions = {}) {
    return super._get(key, { ...options, attrs: { _id: key } });
  }
  override _delete(key: string, options: StoreOptions = {}) {
    return super._delete(key, { ...options, attrs: { _id: key } });
  }
}

export interface LimitSpec {
  /** Allowed within the window. */
  points: number;
  windowSeconds: number;
  /** Once over the limit, the key stays refused this long (default: the rest of the window). */
  blockSeconds?: number;
}

export interface Limiter {
  /** Counts `points` against the key; RATE_LIMITED (with retryAfterSeconds) once over the limit. */
  consume(key: string, message: string, points?: number): Promise<void>;
  /** Gives points back (a reserved attempt that turned out fine). */
  reward(key: string, points?: number): Promise<void>;
  /** Forgets the key (a success clears its failures). */
  reset(key: string): Promise<void>;
  /**
   * When the key's lockout (blockSeconds) ends, while it is locked out; else null. The end is stored
   * once, when the block begins, and stays the same for every refusal during it: it names the lockout.
   */
  blockedUntil(key: string): Promise<Date | null>;
}

/** What the limiters tell the metrics, by limiter name (this code's names, so a bounded set). */
export interface LimiterEvents {
  /** A limiter exists, and whether it locks keys out (blockSeconds). */
  declared(limiter: string, locksOut: boolean): void;
  /** A request was refused (over the limit, or locked out). */
  refused(limiter: string): void;
  /** A key just crossed a limit that blocks it: a lockout begins (the refusals while it lasts are not lockouts). */
  lockedOut(limiter: string): void;
}

const NO_EVENTS: LimiterEvents = { declared: () => undefined, refused: () => undefined, lockedOut: () => undefined };

/**
 * Limits shared by every instance of a service, kept in its database's
 * `rate_limits` collection. Store errors are thrown, not ignored: a limit
 * that cannot be checked refuses (fails closed).
 */
export function createRateLimiterFactory(conn: Connection, events: LimiterEvents = NO_EVENTS) {
  function limiter(name: string, spec: LimitSpec): Limiter {
    events.declared(name, spec.blockSeconds !== undefined);
    const store = new KeyedMongoLimiter({
      storeClient: conn,
      tableName: COLLECTION,
      keyPrefix: name,
      points: spec.points,
      duration: spec.windowSeconds,
      blockDuration: spec.blockSeconds ?? 0,
      disableIndexesCreation: true,
    });
    return {
      async consume(key, message, points = 1) {
        try {
          await store.consume(key, points);
        } catch (err) {
          if (!(err instanceof RateLimiterRes)) throw err;
          events.refused(name);
          // rate-limiter-flexible's own test for starting a block: this consume took the key past the limit.
          if (spec.blockSeconds !== undefined && err.consumedPoints > spec.points && err.consumedPoints - points <= spec.points)
            events.lockedOut(name);
          throw rateLimited(message, err.msBeforeNext / 1000);
        }
      },
      async reward(key, points = 1) {
        await store.reward(key, points);
      },
      async reset(key) {
        await store.delete(key);
      },
      async blockedUntil(key) {
        if (spec.blockSeconds === undefined) return null;
        const doc = await conn
          .collection<{ _id: string; points: number; expire: Date | null }>(COLLECTION)
          .findOne({ _id: store.getKey(key) }, { projection: { points: 1, expire: 1 } });
        return doc && doc.points > spec.points && doc.expire && doc.expire > new Date() ? doc.expire : null;
      },
    };
  }

  return { limiter };
}

export type RateLimiterFactory = ReturnType<typeof createRateLimiterFactory>;
