import { createAuditOutbox } from '@usergraph/audit';
import { randomBytes } from 'node:crypto';
import type { ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { Writable } from 'node:stream';
import type { Connection } from 'mongoose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectDatabase } from '@usergraph/mongo';
import { spawnLeaseHolder, startTestStore, uniqueDatabaseName } from '@usergraph/mongo/testing';
import { createLogger } from '@usergraph/service-kit';
import { createOrganizationRepository } from './modules/organizations/organization-repository.js';
import { createUserRepository } from './modules/users/user-repository.js';
import { createSearchIndex } from './modules/users/search-index.js';
import { createUserService } from './modules/users/user-service.js';
import { buildSearchIndexAtStart } from './startup-build.js';

const newId = () => randomBytes(12).toString('hex');
const STARTUP = { STARTUP_LEASE_SECONDS: 1, STARTUP_BUILD_WAIT_SECONDS: 60 };
const BUILT = 'search index built for the existing profiles';

/** A logger whose messages the test reads: which instance built. */
function capturingLogger() {
  const messages: string[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _enc, done) {
      for (const line of chunk.toString().split('\n').filter(Boolean)) messages.push((JSON.parse(line) as { msg: string }).msg);
      done();
    },
  });
  return { logger: createLogger({ service: 'org-users', level: 'info', destination: sink }), messages };
}

/**
 * A rolling start over a database from before the search index: two new
 * instances run org-users' start-up build at once (the code startOrgUsers
 * runs before serving, each on its own connection) while a running instance
 * keeps creating, renaming and deleting users through the user service.
 */
describe('org-users start-up build of the search index (issue 13: rolling start)', () => {
  let store: Awaited<ReturnType<typeof startTestStore>>;
  let dbName: string;
  let conn: Connection;
  const orgs = [newId(), newId()];
  const conns: Connection[] = [];
  const children: ChildProcess[] = [];
  let users: ReturnType<typeof createUserService>;

  const profile = (organizationId: string, n: number) => ({
    userId: newId(),
    organizationId,
    email: `user${n}.${randomBytes(3).toString('hex')}@example.com`,
    firstName: `First${n}`,
    lastName: `Last${n}`,
    status: 'ACTIVE' as const,
  });
  /** Another instance's start: its own connection and repositories. */
  async function startInstance() {
    const own = await connectDatabase({ uri: store.uri, dbName, appName: 'org-users-instance' });
    conns.push(own);
    const { logger, messages } = capturingLogger();
    const deps = {
      organizations: createOrganizationRepository(own),
      users: createUserRepository(own),
      searchIndex: createSearchIndex(own),
    };
    const outcome = await buildSearchIndexAtStart(own, deps, STARTUP, logger);
    return { outcome, messages };
  }
  /** Back to a database from before the index. */
  async function forgetIndex() {
    for (const name of ['user_search_heads', 'user_search_buckets']) await conn.collection(name).deleteMany({});
  }
  /** Each organization's lists against its profiles (after the writes): what `verify` rewrites (nothing when exact), and the org-wide count. */
  async function check() {
    const index = createSearchIndex(conn);
    const repo = createUserRepository(conn);
    return Promise.all(
      orgs.map(async (org) => ({
        verify: await index.verify(org, () => repo.streamOrganization(org)),
        listed: (await index.page(org, '', { first: 1 })).totalCount,
        profiles: await conn.collection('users').countDocuments({ organizationId: org }),
      })),
    );
  }

  beforeAll(async () => {
    store = await startTestStore();
    dbName = uniqueDatabaseName('orgusers_startup');
    conn = await connectDatabase({ uri: store.uri, dbName, appName: 'org-users-test' });
    const organizations = createOrganizationRepository(conn);
    for (const [i, id] of orgs.entries())
      await organizations.insert({ _id: id, slug: `org-${i}-${id}`, name: `Org ${i}`, status: 'ACTIVE', selfSignup: false });
    users = createUserService({
      conn,
      users: createUserRepository(conn),
      searchIndex: createSearchIndex(conn),
      audit: { outbox: createAuditOutbox(conn), kick: () => undefined },
      logger: createLogger({ service: 'org-users', level: 'silent' }),
    });
    for (let n = 0; n < 30; n++) for (const org of orgs) await users.createProfile(profile(org, n));
  });

  afterAll(async () => {
    for (const child of children) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    for (const c of conns) await c.close();
    await conn?.close();
    await store?.stop();
  });

  it('two instances start at once while users are created, renamed and deleted: exactly one builds, and the lists hold every profile once', async () => {
    await forgetIndex();
    expect(await conn.collection('user_search_heads').countDocuments()).toBe(0);
    expect(await conn.collection('users').countDocuments()).toBe(60);
    const existing = await conn.collection<{ _id: string; organizationId: string }>('users').find({}).toArray();
    let writes = 0;
    const writer = (async () => {
      for (let n = 0; n < 60; n++) {
        const org = orgs[n % 2]!;
        if (n % 3 === 0) await users.createProfile(profile(org, 100 + n));
        else if (n % 3 === 1) await users.updateProfile(existing[n]!.organizationId, existing[n]!._id, { lastName: `Renamed${n}x` });
        else await users.deleteProfile(existing[n]!.organizationId, existing[n]!._id);
        writes++;
      }
    })();
    while (writes < 3) await new Promise((resolve) => setTimeout(resolve, 10));
    const writesBefore = writes;
    const [first, second] = await Promise.all([startInstance(), startInstance()]);
    expect(writes).toBeGreaterThan(writesBefore); // the writes went on during the starts
    await writer;
    expect([first, second].filter((s) => s.messages.includes(BUILT))).toHaveLength(1);
    expect([first.outcome.outcome, second.outcome.outcome].sort()).toEqual(['built', 'done']);
    for (const o of await check()) {
      expect(o.verify).toEqual({ buckets: 0, heads: 0, skipped: 0 });
      expect(o.listed).toBe(o.profiles);
    }
    const renamed = existing[1]!;
    const found = await createSearchIndex(conn).page(renamed.organizationId, 'renamed1x', { first: 5 });
    expect(found.ids).toEqual([renamed._id]);
  });

  it('an instance killed midway through the build: its lease expires and a starting instance finishes it', async () => {
    await forgetIndex();
    const holder = await spawnLeaseHolder({
      uri: store.uri,
      dbName,
      name: 'org-users:search-index',
      ttlMs: 1_000,
      // Half a build: one organization's org-wide list, with an entry too many.
      then: `await conn.collection('user_search_buckets').insertOne({ _id: ${JSON.stringify(`${orgs[0]}:0:`)}, e: ['ghost'] });
             await conn.collection('user_search_heads').insertOne({ _id: ${JSON.stringify(`${orgs[0]}:`)}, n: 1, c: { b0: 1 }, v: { b0: 1 } });`,
    });
    children.push(holder);
    let finished = false;
    const starting = startInstance().finally(() => (finished = true));
    await new Promise((resolve) => setTimeout(resolve, 2_500));
    expect(finished).toBe(false); // waits while the holder lives (its lease is renewed)
    holder.kill('SIGKILL');
    await once(holder, 'exit');
    const { messages } = await starting;
    expect(messages).toContain(BUILT);
    for (const o of await check()) {
      expect(o.verify).toEqual({ buckets: 0, heads: 0, skipped: 0 });
      expect(o.listed).toBe(o.profiles);
    }
  });
});
