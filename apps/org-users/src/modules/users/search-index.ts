import type { Connection, mongo } from 'mongoose';
import { INDEXED_PREFIX_LENGTH, indexTokensOf, matchesQuery, normalizeQuery, searchValuesOf, type SearchFields } from './search-tokens.js';

/**
 * D's search index: posting lists stored as documents that are only ever
 * read and written by `_id`.
 *
 * Why not a query on the users collection: the embedded store (FerretDB v1,
 * SQLite backend, with tools/ferretdb/patches/) answers by key only `_id`
 * (equal, or `$in` of up to 1,000 ids; not a range) and a string equality on a field that leads a declared
 * index; a prefix match on several fields decodes every document of the
 * collection (46 s for one search at 100k users). Here a page costs a handful of `_id` reads, whatever the
 * size of the organization, on the embedded store and on MongoDB alike.
 *
 * - A list head `<org>:<token>` counts the users the token matches (`n`) and
 *   how many sit in each bucket (`c.b<k>`), and counts each bucket's changes
 *   (`v.b<k>`, its version).
 * - A bucket `<org>:<k>:<token>` holds entries: `<userId>\n<the four
 *   searched values>` in the lists of INDEXED_PREFIX_LENGTH-character tokens,
 *   bare user ids in the shorter ones (the org-wide list, token "", too). A
 *   user's bucket k is a hash of the id, so no document grows past ~1/16 of
 *   the organization.
 *
 * Pages are in (bucket, id) order: stable while users are added, and a cursor
 * (a user id) says where to resume. Counts are kept by the same writes that
 * add and remove entries; a crash between two writes can leave an entry
 * whose user is gone (pages skip it) or a count off by one, until
 * `usergraph repair` (`verify` below) rebuilds them.
 *
 * Each process keeps the buckets it has read, with their version: a page
 * reads the head, and re-reads a bucket only when its version moved. A
 * bucket is written before its head, so a reader that sees the new version
 * reads the new content. (A crash between the two can leave a process with a
 * bucket as it was before the lost change, until that bucket next changes.)
 */
export const SEARCH_BUCKETS = 16;
/** In the heads collection; it cannot clash with a head's `<org>:<token>`. */
const BUILT_MARKER = 'built';

export interface HeadDoc {
  _id: string;
  n: number;
  c?: Record<string, number>;
  v?: Record<string, number>;
}
interface BucketDoc {
  _id: string;
  e: string[];
}

export interface IndexedUser extends SearchFields {
  _id: string;
  organizationId: string;
}

/** FNV-1a: spreads ids evenly, whatever their format. */
export function bucketOf(userId: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < userId.length; i++) h = Math.imul(h ^ userId.charCodeAt(i), 0x01000193);
  return (h >>> 0) % SEARCH_BUCKETS;
}

const headId = (organizationId: string, token: string) => `${organizationId}:${token}`;
const bucketId = (organizationId: string, token: string, bucket: number) => `${organizationId}:${bucket}:${token}`;
const idOfEntry = (entry: string) => entry.split('\n', 1)[0]!;
const valuesOfEntry = (entry: string) => entry.split('\n').slice(1);

/**
 * token → the entry the user has in that token's list. Only the longest
 * lists' entries carry the searched values (a longer query reads them to
 * check each user); shorter lists are exact, so a bare id is enough, which
 * keeps their documents small and spares them the writes of a rename.
 */
function entriesOf(user: IndexedUser): Map<string, string> {
  const values = searchValuesOf(user);
  const entry = [user._id, ...values].join('\n');
  const entries = new Map<string, string>([['', user._id]]);
  for (const token of indexTokensOf(values)) entries.set(token, token.length === INDEXED_PREFIX_LENGTH ? entry : user._id);
  return entries;
}

interface Write<D extends mongo.Document> {
  filter: { _id: string };
  update: mongo.UpdateFilter<D>;
  upsert: boolean;
}
interface Writes {
  buckets: Array<Write<BucketDoc>>;
  heads: Array<Write<HeadDoc>>;
}
const noWrites = (): Writes => ({ buckets: [], heads: [] });

/** The writes that add (sign 1) or remove (sign -1) entries of one bucket, and keep its list's counts. */
function entryOps(ops: Writes, organizationId: string, token: string, bucket: number, entries: string[], sign: 1 | -1) {
  const filter = { _id: bucketId(organizationId, token, bucket) };
  ops.buckets.push(
    sign > 0
      ? { filter, update: { $push: { e: { $each: entries } } }, upsert: true }
      : { filter, update: { $pullAll: { e: entries } }, upsert: false },
  );
  const count = { $inc: { n: sign * entries.length, [`c.b${bucket}`]: sign * entries.length, [`v.b${bucket}`]: 1 } };
  ops.heads.push({ filter: { _id: headId(organizationId, token) }, update: count, upsert: true });
}

export interface SearchPage {
  /** The page's user ids, in order. */
  ids: string[];
  hasNextPage: boolean;
  totalCount: number;
}

/** Runs the writes at most a connection pool's worth at a time (a bulk build has thousands). */
async function inParallel(sends: Array<() => Promise<unknown>>): Promise<void> {
  for (let i = 0; i < sends.length; i += 100) await Promise.all(sends.slice(i, i + 100).map((send) => send()));
}

interface WriteFailure {
  code?: number;
  index: number;
}

/** Inserts the documents that do not exist yet (unordered: one duplicate stops nothing) and returns the others. */
async function insertNew<D extends { _id: string }>(collection: mongo.Collection<D>, docs: D[]): Promise<D[]> {
  if (docs.length === 0) return [];
  try {
    await collection.insertMany(docs as Array<mongo.OptionalUnlessRequiredId<D>>, { ordered: false });
    return [];
  } catch (err) {
    // The driver reports one failed document as an object, several as an array.
    const failed = (err as { writeErrors?: WriteFailure | WriteFailure[] }).writeErrors;
    const failures = failed === undefined ? [] : ([] as WriteFailure[]).concat(failed);
    if (failures.length === 0 || failures.some((w) => w.code !== 11000)) throw err;
    return failures.map((w) => docs[w.index]!);
  }
}

/** Entries of buckets kept in memory, at most (about 20 MB): the least recently read go first. */
const CACHED_ENTRIES = 200_000;

/** Bucket contents by bucket id, each with the version it was read at. */
function createBucketCache(maxEntries: number) {
  const cache = new Map<string, { version: number; entries: string[] }>();
  let size = 0;
  const drop = (id: string) => {
    const old = cache.get(id);
    if (old) size -= old.entries.length;
    cache.delete(id);
  };
  return {
    get(id: string, version: number): string[] | undefined {
      const hit = cache.get(id);
      if (hit?.version !== version) return undefined;
      cache.delete(id); // Maps keep insertion order: this makes it the most recent
      cache.set(id, hit);
      return hit.entries;
    },
    set(id: string, version: number, entries: string[]): void {
      drop(id);
      cache.set(id, { version, entries });
      size += entries.length;
      while (size > maxEntries && cache.size > 1) drop(cache.keys().next().value!);
    },
  };
}

/** Buckets rewritten, and heads recounted, by `verify`; `skipped`: moved while checked (a live change), left to the next run. */
export interface VerifyReport {
  buckets: number;
  heads: number;
  skipped: number;
}

/** `faults`: test-only fault injection (never in production), crashes the process at a named point. */
export function createSearchIndex(conn: Connection, faults?: (point: string) => void) {
  const heads = conn.collection<HeadDoc>('user_search_heads');
  const buckets = conn.collection<BucketDoc>('user_search_buckets');
  const cached = createBucketCache(CACHED_ENTRIES);

  /**
   * One command per write, sent in parallel, the buckets before their heads
   * (see the cache above). FerretDB v1 runs a multi-update command statement
   * by statement with a fresh SQLite connection each, which costs twice the
   * CPU of single updates and deadlocks near 100 statements.
   */
  async function write(ops: Writes): Promise<void> {
    await inParallel(ops.buckets.map((w) => () => buckets.updateOne(w.filter, w.update, { upsert: w.upsert })));
    faults?.('search:after-buckets');
    await inParallel(ops.heads.map((w) => () => heads.updateOne(w.filter, w.update, { upsert: w.upsert })));
  }

  /** Moves the user from the lists of `before` to those of `after` (either may be absent). */
  async function change(before: IndexedUser | null, after: IndexedUser | null): Promise<void> {
    const user = (after ?? before)!;
    const bucket = bucketOf(user._id);
    const old = before ? entriesOf(before) : new Map<string, string>();
    const next = after ? entriesOf(after) : new Map<string, string>();
    const ops = noWrites();
    for (const [token, entry] of old) if (next.get(token) !== entry) entryOps(ops, user.organizationId, token, bucket, [entry], -1);
    for (const [token, entry] of next) if (old.get(token) !== entry) entryOps(ops, user.organizationId, token, bucket, [entry], 1);
    await write(ops);
  }

  /**
   * Indexes users that are in no list yet: for the migration and bulk seeding.
   * Every touched bucket and head is written once, whatever the number of
   * users: inserted whole when it is new (one command for many documents),
   * else appended to and counted, one update each.
   */
  async function addMany(users: readonly IndexedUser[]): Promise<void> {
    const bucketEntries = new Map<string, string[]>();
    const headCounts = new Map<string, Record<string, number>>();
    for (const user of users) {
      const bucket = bucketOf(user._id);
      for (const [token, entry] of entriesOf(user)) {
        const key = bucketId(user.organizationId, token, bucket);
        const entries = bucketEntries.get(key);
        if (entries) entries.push(entry);
        else bucketEntries.set(key, [entry]);
        const counts = headCounts.get(headId(user.organizationId, token)) ?? {};
        counts[`b${bucket}`] = (counts[`b${bucket}`] ?? 0) + 1;
        headCounts.set(headId(user.organizationId, token), counts);
      }
    }
    const existingBuckets = await insertNew(
      buckets,
      [...bucketEntries].map(([_id, e]) => ({ _id, e })),
    );
    await inParallel(existingBuckets.map((doc) => () => buckets.updateOne({ _id: doc._id }, { $push: { e: { $each: doc.e } } })));
    // Heads after every bucket they count (see the cache above).
    const versions = (c: Record<string, number>) => Object.fromEntries(Object.keys(c).map((k) => [k, 1]));
    const existingHeads = await insertNew(
      heads,
      [...headCounts].map(([_id, c]) => ({ _id, n: Object.values(c).reduce((a, b) => a + b, 0), c, v: versions(c) })),
    );
    await inParallel(
      existingHeads.map((doc) => () => {
        const inc: Record<string, number> = { n: doc.n };
        for (const [k, n] of Object.entries(doc.c ?? {})) Object.assign(inc, { [`c.${k}`]: n, [`v.${k}`]: 1 });
        return heads.updateOne({ _id: doc._id }, { $inc: inc }, { upsert: true });
      }),
    );
  }

  /**
   * One page of the users matching `fullText` (all users when empty). A query
   * of up to INDEXED_PREFIX_LENGTH characters is its own list: the page reads
   * only the buckets it needs, and the head has the count. A longer query
   * reads its prefix's list and checks every entry.
   */
  async function page(
    organizationId: string,
    fullText: string,
    args: { first: number; after?: string | null | undefined },
  ): Promise<SearchPage> {
    const query = normalizeQuery(fullText);
    const token = query.slice(0, INDEXED_PREFIX_LENGTH);
    const exact = query.length <= INDEXED_PREFIX_LENGTH;
    const head = await heads.findOne({ _id: headId(organizationId, token) });
    if (!head || head.n <= 0) return { ids: [], hasNextPage: false, totalCount: 0 };
    const inBucket = (b: number) => head.c?.[`b${b}`] ?? 0;
    /** The buckets' entries: from this process's cache while the head says a bucket has not changed, the others in one read. */
    const entriesOfBuckets = async (ks: number[]): Promise<string[][]> => {
      const wanted = ks.map((k) => {
        const id = bucketId(organizationId, token, k);
        const version = head.v?.[`b${k}`] ?? 0;
        return { id, version, entries: cached.get(id, version) };
      });
      const missing = wanted.filter((b) => !b.entries);
      if (missing.length > 0) {
        const read = new Map((await buckets.find({ _id: { $in: missing.map((b) => b.id) } }).toArray()).map((doc) => [doc._id, doc.e]));
        for (const b of missing) {
          b.entries = read.get(b.id) ?? [];
          cached.set(b.id, b.version, b.entries);
        }
      }
      return wanted.map((b) => b.entries!);
    };

    const after = args.after ?? null;
    const startBucket = after === null ? 0 : bucketOf(after);
    const wanted = args.first + 1; // one more tells whether a next page exists
    const ids: string[] = [];
    let matched = 0;
    // An exact list reads from the cursor's bucket until the page is full; a checked query reads every bucket, for the count.
    for (let b = exact ? startBucket : 0; b < SEARCH_BUCKETS && (!exact || ids.length < wanted);) {
      const batch: number[] = [];
      for (let expected = 0; b < SEARCH_BUCKETS && (!exact || expected < wanted - ids.length); b++) {
        if (inBucket(b) > 0) {
          batch.push(b);
          expected += inBucket(b);
        }
      }
      const read = await entriesOfBuckets(batch);
      read.forEach((all, i) => {
        const k = batch[i]!;
        const entries = exact ? all : all.filter((e) => matchesQuery(valuesOfEntry(e), query));
        matched += entries.length;
        if (k < startBucket) return;
        const unique = [...new Set(entries.map(idOfEntry))];
        ids.push(...unique.filter((id) => k > startBucket || after === null || id > after).sort());
      });
    }
    return { ids: ids.slice(0, args.first), hasNextPage: ids.length > args.first, totalCount: exact ? head.n : matched };
  }

  /** The organization has no list at all yet (no org-wide head): the start-up build indexes it in one pass first. */
  const unindexed = async (organizationId: string): Promise<boolean> =>
    (await heads.findOne({ _id: headId(organizationId, '') }, { projection: { _id: 1 } })) === null;
  /** The start-up build (search-index-build.ts) has finished for this database. */
  const built = async (): Promise<boolean> => (await heads.findOne({ _id: BUILT_MARKER })) !== null;
  async function markBuilt(): Promise<void> {
    await heads.updateOne({ _id: BUILT_MARKER }, { $set: { n: 0 } }, { upsert: true });
  }

  const sameEntries = (a: readonly string[], b: readonly string[]) => a.length === b.length && [...a].sort().every((e, i) => e === b[i]);
  // ';' follows ':'. MongoDB answers this range from the `_id` index; the embedded store pushes
  // down no range, so there each repair pass reads the whole buckets collection.
  const inRange = (prefix: string) => ({ $gte: prefix, $lt: `${prefix.slice(0, -1)};` });

  /**
   * Repair: checks one organization's lists against its profiles and rewrites
   * what disagrees, one bucket number at a time (a sixteenth of the
   * organization in memory). No lock: a bucket is read before the profiles
   * and rewritten only if it still holds what was read, so an entry a live
   * change adds meanwhile is never dropped. Then each head is recounted from
   * its buckets, conditionally on the counts it was read with. A change in
   * flight across a check can still leave a count one off: the next run
   * fixes it.
   */
  async function verify(organizationId: string, profiles: () => AsyncIterable<IndexedUser>): Promise<VerifyReport> {
    const report: VerifyReport = { buckets: 0, heads: 0, skipped: 0 };
    const tokens = new Set<string>();
    for (let k = 0; k < SEARCH_BUCKETS; k++) {
      const prefix = `${organizationId}:${k}:`;
      const stored = new Map<string, string[]>();
      for await (const doc of buckets.find({ _id: inRange(prefix) }, { batchSize: 100 })) stored.set(doc._id.slice(prefix.length), doc.e);
      const expected = new Map<string, string[]>();
      for await (const user of profiles()) {
        if (bucketOf(user._id) !== k) continue;
        for (const [token, entry] of entriesOf(user)) {
          const entries = expected.get(token);
          if (entries) entries.push(entry);
          else expected.set(token, [entry]);
        }
      }
      for (const token of new Set([...stored.keys(), ...expected.keys()])) {
        tokens.add(token);
        const want = (expected.get(token) ?? []).sort();
        const had = stored.get(token);
        if (had && sameEntries(had, want)) continue;
        const _id = bucketId(organizationId, token, k);
        const fixed = had
          ? (await buckets.updateOne({ _id, e: had }, { $set: { e: want } })).modifiedCount === 1
          : (await insertNew(buckets, [{ _id, e: want }])).length === 0;
        if (!fixed) {
          report.skipped++;
          continue;
        }
        report.buckets++;
        // A new version: every process's cached copy of the bucket is stale.
        await heads.updateOne({ _id: headId(organizationId, token) }, { $inc: { [`v.b${k}`]: 1 } }, { upsert: true });
      }
    }
    for await (const head of heads.find({ _id: inRange(`${organizationId}:`) }, { batchSize: 100 }))
      tokens.add(head._id.slice(organizationId.length + 1));
    for (const token of tokens) {
      const head = await heads.findOne({ _id: headId(organizationId, token) });
      const ids = Array.from({ length: SEARCH_BUCKETS }, (_, k) => bucketId(organizationId, token, k));
      const lengths = new Map((await buckets.find({ _id: { $in: ids } }).toArray()).map((doc) => [doc._id, doc.e.length]));
      const c: Record<string, number> = {};
      ids.forEach((id, k) => {
        if (lengths.get(id)) c[`b${k}`] = lengths.get(id)!;
      });
      const n = Object.values(c).reduce((a, b) => a + b, 0);
      const same = (head?.n ?? 0) === n && ids.every((_, k) => (head?.c?.[`b${k}`] ?? 0) === (c[`b${k}`] ?? 0));
      if (same) continue;
      let fixed: boolean;
      if (head) {
        const filter: mongo.Filter<HeadDoc> = { _id: head._id, n: head.n };
        for (let k = 0; k < SEARCH_BUCKETS; k++) Object.assign(filter, { [`c.b${k}`]: head.c?.[`b${k}`] ?? { $exists: false } });
        fixed = (await heads.updateOne(filter, { $set: { n, c } })).modifiedCount === 1;
      } else fixed = (await insertNew(heads, [{ _id: headId(organizationId, token), n, c }])).length === 0;
      if (fixed) report.heads++;
      else report.skipped++;
    }
    return report;
  }

  return {
    verify,
    add: (user: IndexedUser) => change(null, user),
    remove: (user: IndexedUser) => change(user, null),
    replace: (before: IndexedUser, after: IndexedUser) => change(before, after),
    addMany,
    unindexed,
    built,
    markBuilt,
    page,
  };
}

export type SearchIndex = ReturnType<typeof createSearchIndex>;
