import { randomBytes } from 'node:crypto';
import type { Connection } from 'mongoose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectDatabase } from '@usergraph/mongo';
import { recordFilters, startTestStore, uniqueDatabaseName } from '@usergraph/mongo/testing';
import { bucketOf, createSearchIndex, SEARCH_BUCKETS, type IndexedUser, type SearchIndex } from './search-index.js';
import { matchesQuery, searchValuesOf } from './search-tokens.js';

const FIRST = ['Iris', 'Ada', 'Alan', 'Grace', 'Émile', 'Zoë', 'Bob', 'Andrea'];
const LAST = ['Haddad', 'Lovelace', 'Turing', 'Hopper', 'Zola', 'Ng', 'Abbott'];
const DOMAINS = ['example.com', 'acme.org', 'jedi.org'];
const newId = () => randomBytes(12).toString('hex');

function makeUsers(organizationId: string, count: number, seed: number): IndexedUser[] {
  return Array.from({ length: count }, (_, i) => {
    const k = i * 7 + seed;
    const firstName = FIRST[k % FIRST.length]!;
    const lastName = LAST[(k >> 1) % LAST.length]!;
    return {
      _id: newId(),
      organizationId,
      firstName,
      lastName,
      email: `${firstName}.${lastName}${i}@${DOMAINS[k % DOMAINS.length]}`.toLowerCase(),
      username: i % 3 === 0 ? `${firstName[0]}${lastName}${i}` : undefined,
    };
  });
}

/** Every page of a search, first = pageSize, following the cursors. */
async function allPages(index: SearchIndex, organizationId: string, fullText: string, pageSize: number) {
  const ids: string[] = [];
  const totals = new Set<number>();
  let after: string | undefined;
  for (let pages = 0; pages < 1000; pages++) {
    const page = await index.page(organizationId, fullText, { first: pageSize, after });
    ids.push(...page.ids);
    totals.add(page.totalCount);
    expect(page.ids.length).toBeLessThanOrEqual(pageSize);
    if (!page.hasNextPage) return { ids, totals };
    expect(page.ids).toHaveLength(pageSize);
    after = page.ids.at(-1);
  }
  throw new Error('pagination did not end');
}

const expected = (users: IndexedUser[], fullText: string) => {
  const q = fullText.trim().toLowerCase();
  return users.filter((u) => q === '' || matchesQuery(searchValuesOf(u), q));
};
const byPageOrder = (a: string, b: string) => bucketOf(a) - bucketOf(b) || (a < b ? -1 : a > b ? 1 : 0);

describe('search index (posting lists read by _id)', () => {
  let store: Awaited<ReturnType<typeof startTestStore>>;
  let conn: Connection;
  let index: SearchIndex;
  const org = newId();
  const otherOrg = newId();
  let users: IndexedUser[];

  beforeAll(async () => {
    store = await startTestStore();
    conn = await connectDatabase({ uri: store.uri, dbName: uniqueDatabaseName('orgusers_search'), appName: 'search-index-test' });
    index = createSearchIndex(conn);
    users = makeUsers(org, 240, 1);
    // Both write paths: one user at a time, and in bulk.
    for (const u of users.slice(0, 40)) await index.add(u);
    await index.addMany(users.slice(40));
    await index.addMany(makeUsers(otherOrg, 60, 3));
  }, 120_000);

  afterAll(async () => {
    await conn?.close();
    await store?.stop();
  });

  it.each(['', 'a', 'AD', 'iris', 'iris.h', 'iris.haddad', 'haddad', 'example.com', 'jedi', 'émile', 'zo', 'nobody'])(
    'pages through every match of %j exactly once, in a stable order, with the right count',
    async (fullText) => {
      const want = expected(users, fullText).map((u) => u._id);
      const { ids, totals } = await allPages(index, org, fullText, 7);
      expect(new Set(ids).size).toBe(ids.length);
      expect(ids).toEqual([...want].sort(byPageOrder));
      expect([...totals]).toEqual([want.length]);
    },
  );

  it('spreads a large list over every bucket', () => {
    const used = new Set(users.map((u) => bucketOf(u._id)));
    expect(used.size).toBe(SEARCH_BUCKETS);
  });

  it('follows a rename and a removal, counts included', async () => {
    const [renamed, removed] = users.filter((u) => u.firstName === 'Iris');
    const after = { ...renamed!, firstName: 'Quentin', email: `quentin.${newId()}@example.com` };
    const irisBefore = (await index.page(org, 'iris', { first: 100 })).totalCount;
    await index.replace(renamed!, after);
    await index.remove(removed!);
    users = users.filter((u) => u !== renamed && u !== removed).concat(after);

    const iris = await index.page(org, 'iris', { first: 100 });
    expect(iris.ids).not.toContain(renamed!._id);
    expect(iris.ids).not.toContain(removed!._id);
    expect(iris.totalCount).toBe(irisBefore - 2);
    expect((await index.page(org, 'quentin', { first: 5 })).ids).toEqual([renamed!._id]);
    for (const q of ['', 'iris', 'q', 'quentin.', 'haddad']) {
      const { ids, totals } = await allPages(index, org, q, 9);
      expect(ids).toEqual(
        expected(users, q)
          .map((u) => u._id)
          .sort(byPageOrder),
      );
      expect([...totals]).toEqual([ids.length]);
    }
  });

  it('reads an unchanged bucket once per process, and sees every change another process makes', async () => {
    const reader = createSearchIndex(conn); // another process: its own cache
    const writer = createSearchIndex(conn);
    const recorder = recordFilters(conn, ['user_search_buckets']);
    try {
      await reader.page(org, 'a', { first: 20 });
      const readsBefore = recorder.operations.length;
      await reader.page(org, 'a', { first: 20 });
      expect(recorder.operations.length).toBe(readsBefore); // the head only: no bucket read
    } finally {
      recorder.stop();
    }

    // Warm every bucket of these lists in the reader, then change them through the writer.
    const queries = ['', 'a', 'iris', 'ad', 'adaline'];
    for (const q of queries) await allPages(reader, org, q, 9);
    const [added] = makeUsers(org, 1, 1).map((u) => ({ ...u, firstName: 'Adaline', lastName: 'Iris' }));
    const [renamed, removed] = users.filter((u) => u.firstName === 'Ada');
    const after = { ...renamed!, firstName: 'Bob' };
    await writer.add(added!);
    await writer.replace(renamed!, after);
    await writer.remove(removed!);
    users = users.filter((u) => u !== renamed && u !== removed).concat(added!, after);

    for (const q of queries) {
      const { ids, totals } = await allPages(reader, org, q, 9);
      expect(ids).toEqual(
        expected(users, q)
          .map((u) => u._id)
          .sort(byPageOrder),
      );
      expect([...totals]).toEqual([ids.length]);
    }
  });

  it('never shows another organization', async () => {
    const { ids } = await allPages(index, otherOrg, 'a', 50);
    expect(ids.length).toBeGreaterThan(0);
    expect(ids.some((id) => users.some((u) => u._id === id))).toBe(false);
  });

  it('reads and writes with filters on _id alone (the only ones the embedded store answers without a scan)', async () => {
    const recorder = recordFilters(conn, ['user_search_heads', 'user_search_buckets']);
    try {
      const u = makeUsers(org, 1, 5)[0]!;
      await index.add(u);
      await index.page(org, 'a', { first: 20 });
      await index.page(org, 'iris.haddad', { first: 20 });
      await index.replace(u, { ...u, lastName: 'Renamed' });
      await index.remove({ ...u, lastName: 'Renamed' });
    } finally {
      recorder.stop();
    }
    expect(recorder.operations.length).toBeGreaterThan(10);
    expect(recorder.scans()).toEqual([]);
  });

  it('verify builds the lists of profiles from before the index, and marks it built only when asked', async () => {
    const fresh = createSearchIndex(conn.useDb(uniqueDatabaseName('orgusers_build')));
    const users = makeUsers(org, 30, 2);
    async function* profiles() {
      yield* users;
    }
    expect(await fresh.built()).toBe(false);
    expect((await fresh.verify(org, profiles)).buckets).toBeGreaterThan(0);
    expect(await fresh.verify(org, profiles)).toEqual({ buckets: 0, heads: 0, skipped: 0 });
    expect((await fresh.page(org, '', { first: 1 })).totalCount).toBe(30);
    await fresh.markBuilt();
    expect(await fresh.built()).toBe(true);
    expect((await fresh.page(org, '', { first: 1 })).totalCount).toBe(30);
  });
});
