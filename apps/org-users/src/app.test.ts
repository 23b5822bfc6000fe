import { randomBytes } from 'node:crypto';
import type { Connection } from 'mongoose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectDatabase } from '@usergraph/mongo';
import { recordFilters, startTestStore, uniqueDatabaseName } from '@usergraph/mongo/testing';
import { createLogger, type RunningService } from '@usergraph/service-kit';
import { postCommand, postGraphQL, runCommand, startTestIssuer, type TestIssuer } from '@usergraph/service-kit/testing';
import { startOrgUsers } from './app.js';
import { orgUsersEnvSchema } from './env.js';
import type { UserDoc } from './modules/users/user-repository.js';
import type { HeadDoc } from './modules/users/search-index.js';

const SECRET = `org-users-test-secret-${randomBytes(16).toString('hex')}`;
const SERVICE = 'org-users';

const ENTITIES = `query($r: [_Any!]!) {
  _entities(representations: $r) {
    ... on User { id email firstName lastName name status organization { id slug } }
  }
}`;

const userRef = (id: string) => ({ __typename: 'User', id });
const newUserId = () => randomBytes(12).toString('hex');
const suffix = () => randomBytes(3).toString('hex');

describe('org-users subgraph', () => {
  let store: Awaited<ReturnType<typeof startTestStore>>;
  let conn: Connection;
  let issuer: TestIssuer;
  let service: RunningService;
  let url: string;
  let orgA: { id: string; slug: string };
  let orgB: { id: string; slug: string };
  const alice = { id: newUserId(), email: `Alice.${suffix()}@Example.com` };
  const bob = { id: newUserId(), email: `bob.${suffix()}@example.com` };

  /** Each command accepts only its callers: identity's, or the CLI's for the operator's commands. */
  const callerOf = (name: string) => (name === 'ensureOrganization' || name === 'reconcile' || name === 'repair' ? 'cli' : 'identity');
  const command = <R = any>(name: string, input: unknown) =>
    runCommand<R>(url, name, input, { secret: SECRET, service: SERVICE, from: callerOf(name) });
  const tokenFor = (user: { id: string }, org: { id: string }) => issuer.sign({ sub: user.id, org: org.id, sid: `s-${user.id}` });
  const profile = (userId: string, organizationId: string, email: string) => ({
    userId,
    organizationId,
    email,
    firstName: 'Ada',
    lastName: 'Lovelace',
    status: 'ACTIVE',
  });

  beforeAll(async () => {
    store = await startTestStore();
    conn = await connectDatabase({ uri: store.uri, dbName: uniqueDatabaseName('orgusers_app'), appName: 'org-users-test' });
    issuer = await startTestIssuer();
    const env = orgUsersEnvSchema.parse({
      NODE_ENV: 'test',
      LOG_LEVEL: 'silent',
      HOST: '127.0.0.1',
      PORT: '0',
      APOLLO_TELEMETRY_DISABLED: '1',
      INTERNAL_SERVICE_SECRET: SECRET,
      JWKS_URL: issuer.jwksUrl,
      MONGODB_URI: store.uri,
      LICENSING_URL: 'http://127.0.0.1:9',
      // The test issuer answers identity's callerStatus; no other identity command is reached here.
      IDENTITY_URL: issuer.url,
      NATIONAL_ID_ENCRYPTION_KEY: randomBytes(32).toString('base64'),
    });
    service = await startOrgUsers(env, createLogger({ service: SERVICE, level: 'silent' }), conn);
    url = `http://127.0.0.1:${service.port}`;

    orgA = (await command('ensureOrganization', { slug: `acme-${suffix()}`, name: 'Acme', selfSignup: false })).organization;
    orgB = (await command('ensureOrganization', { slug: `globex-${suffix()}`, name: 'Globex', selfSignup: true })).organization;
    await command('createProfile', profile(alice.id, orgA.id, alice.email));
    await command('createProfile', { ...profile(bob.id, orgB.id, bob.email), firstName: 'Bob', lastName: 'Builder' });
  });

  afterAll(async () => {
    await service?.close();
    await issuer?.close();
    await conn?.close();
    await store?.stop();
  });

  describe('_entities(User)', () => {
    it("returns a user of the caller's organization", async () => {
      const res = await postGraphQL(url, ENTITIES, { r: [userRef(alice.id)] }, { token: await tokenFor(alice, orgA) });
      expect(res.status).toBe(200);
      expect(res.body.errors).toBeUndefined();
      expect(res.body.data?._entities).toEqual([
        {
          id: alice.id,
          email: alice.email,
          firstName: 'Ada',
          lastName: 'Lovelace',
          name: 'Ada Lovelace',
          status: 'ACTIVE',
          organization: { id: orgA.id, slug: orgA.slug },
        },
      ]);
    });

    it('returns nothing of a user of another organization: a null entity and an error', async () => {
      const res = await postGraphQL(url, ENTITIES, { r: [userRef(bob.id)] }, { token: await tokenFor(alice, orgA) });
      expect(res.body.data?._entities).toEqual([null]);
      expect(res.body.errors).toHaveLength(1);
      expect(res.body.errors![0]!.extensions?.code).toBe('FORBIDDEN');
      expect(JSON.stringify(res.body)).not.toContain(bob.email);
    });

    it('resolves a mixed batch entity by entity', async () => {
      const res = await postGraphQL(
        url,
        ENTITIES,
        { r: [userRef(bob.id), userRef(alice.id), userRef('no-such-user')] },
        { token: await tokenFor(bob, orgB) },
      );
      const entities = res.body.data?._entities as Array<{ id: string } | null>;
      expect(entities.map((e) => e?.id ?? null)).toEqual([bob.id, null, null]);
      expect(res.body.errors?.map((e) => e.path)).toEqual([
        ['_entities', 1],
        ['_entities', 2],
      ]);
      expect(JSON.stringify(res.body)).not.toContain(alice.email);
    });

    it('answers UNAUTHENTICATED without a token', async () => {
      const res = await postGraphQL(url, ENTITIES, { r: [userRef(alice.id)] });
      expect(res.body.data?._entities).toEqual([null]);
      expect(res.body.errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
      expect(JSON.stringify(res.body)).not.toContain(alice.email);
    });

    it('answers HTTP 401 for an invalid token', async () => {
      const now = Math.floor(Date.now() / 1000);
      for (const token of [
        await issuer.sign({ sub: alice.id, org: orgA.id, iat: now - 600, exp: now - 60 }),
        await issuer.sign({ sub: alice.id, org: orgA.id, audience: 'other' }),
      ]) {
        const res = await postGraphQL(url, ENTITIES, { r: [userRef(alice.id)] }, { token });
        expect(res.status).toBe(401);
        expect(res.body.errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
        expect(res.body.data ?? null).toBeNull();
      }
    });

    it("refuses a valid token whose session identity says was revoked, and an inactive application's, with HTTP 401", async () => {
      const sessionToken = await issuer.sign({ sub: alice.id, org: orgA.id, sid: `revoked-${alice.id}` });
      const appToken = await issuer.sign({ typ: 'application', sub: 'app_revoked', org: orgA.id, scope: 'organization-users:read' });
      for (const token of [sessionToken, appToken]) {
        expect((await postGraphQL(url, ENTITIES, { r: [userRef(alice.id)] }, { token })).status).toBe(200);
      }
      issuer.revoke(`revoked-${alice.id}`);
      issuer.revoke('app_revoked');
      // Verdicts are cached for REVOCATION_CHECK_TTL_MS (2 s by default): the revocation shows within it.
      for (const token of [sessionToken, appToken]) {
        await expect
          .poll(async () => (await postGraphQL(url, ENTITIES, { r: [userRef(alice.id)] }, { token })).status, {
            timeout: 5_000,
            interval: 250,
          })
          .toBe(401);
        const res = await postGraphQL(url, ENTITIES, { r: [userRef(alice.id)] }, { token });
        expect(res.body.errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
        expect(JSON.stringify(res.body)).not.toContain(alice.email);
      }
    });

    it('lets an application read users only with organization-users:read', async () => {
      const without = await issuer.sign({ typ: 'application', sub: 'app_x', org: orgA.id, scope: 'licenses:read' });
      const res1 = await postGraphQL(url, ENTITIES, { r: [userRef(alice.id)] }, { token: without });
      expect(res1.body.data?._entities).toEqual([null]);
      expect(res1.body.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
      const withRead = await issuer.sign({ typ: 'application', sub: 'app_x', org: orgA.id, scope: 'organization-users:read' });
      const res2 = await postGraphQL(url, ENTITIES, { r: [userRef(alice.id), userRef(bob.id)] }, { token: withRead });
      expect((res2.body.data?._entities as Array<{ id: string } | null>).map((e) => e?.id ?? null)).toEqual([alice.id, null]);
    });

    it("_entities(Organization): only the caller's own organization", async () => {
      const query = 'query($r:[_Any!]!){ _entities(representations:$r){ ... on Organization { id slug name selfSignup } } }';
      const r = [
        { __typename: 'Organization', id: orgA.id },
        { __typename: 'Organization', id: orgB.id },
      ];
      const res = await postGraphQL(url, query, { r }, { token: await tokenFor(alice, orgA) });
      expect(res.body.data?._entities).toEqual([{ id: orgA.id, slug: orgA.slug, name: 'Acme', selfSignup: false }, null]);
      expect(res.body.errors?.map((e) => e.extensions?.code)).toEqual(['FORBIDDEN']);
    });

    it('me returns the signed-in user', async () => {
      const res = await postGraphQL(url, '{ me { id email } currentOrganization { slug } }', {}, { token: await tokenFor(alice, orgA) });
      expect(res.body).toEqual({ data: { me: { id: alice.id, email: alice.email }, currentOrganization: { slug: orgA.slug } } });
    });
  });

  describe('internal command guard', () => {
    const input = () => ({ organizationId: orgA.id, kind: 'email', value: alice.email });

    it('accepts a service credential', async () => {
      const res = await postCommand(url, 'findUserIdByIdentifier', input(), {
        secret: SECRET,
        service: SERVICE,
        from: callerOf('findUserIdByIdentifier'),
      });
      expect(res.status).toBe(200);
      expect(res.body).toEqual({ ok: true, result: { userId: alice.id } });
    });

    it('refuses a request without a service token', async () => {
      const res = await postCommand(url, 'findUserIdByIdentifier', input(), {
        secret: SECRET,
        service: SERVICE,
        from: callerOf('findUserIdByIdentifier'),
        authorization: null,
      });
      expect(res.status).toBe(401);
      expect(res.body).toMatchObject({ ok: false, error: { code: 'UNAUTHENTICATED' } });
    });

    it('refuses a client access token', async () => {
      const authorization = `Bearer ${await tokenFor(alice, orgA)}`;
      const res = await postCommand(url, 'findUserIdByIdentifier', input(), {
        secret: SECRET,
        service: SERVICE,
        from: callerOf('findUserIdByIdentifier'),
        authorization,
      });
      expect(res.status).toBe(401);
      expect(res.body.error.code).toBe('UNAUTHENTICATED');
    });

    it('refuses a service token meant for another service', async () => {
      const res = await postCommand(url, 'findUserIdByIdentifier', input(), { secret: SECRET, service: 'licensing' });
      expect(res.status).toBe(401);
    });

    it('is not reachable through GraphQL', async () => {
      const res = await postGraphQL(url, '{ createProfile }', {}, { token: await tokenFor(alice, orgA) });
      expect(res.status).toBe(400);
      expect(res.body.errors?.[0]?.extensions?.code).toBe('GRAPHQL_VALIDATION_FAILED');
    });
  });

  describe('profiles', () => {
    it('refuses a second profile with the same email in one organization: CONFLICT on ["email"]', async () => {
      const email = `dup.${suffix()}@example.com`;
      const first = newUserId();
      await command('createProfile', profile(first, orgA.id, email));
      // Same address, different case: emails are unique case-insensitively.
      const res = await postCommand(url, 'createProfile', profile(newUserId(), orgA.id, email.toUpperCase()), {
        secret: SECRET,
        service: SERVICE,
        from: callerOf('createProfile'),
      });
      expect(res.status).toBe(409);
      expect(res.body.error).toMatchObject({ code: 'CONFLICT', fields: [{ path: ['email'], message: 'is already in use' }] });
      expect(await command('findUserIdByIdentifier', { organizationId: orgA.id, kind: 'email', value: email })).toEqual({ userId: first });
    });

    it('allows the same email in another organization', async () => {
      const email = `shared.${suffix()}@example.com`;
      await command('createProfile', profile(newUserId(), orgA.id, email));
      const res = await postCommand(url, 'createProfile', profile(newUserId(), orgB.id, email), {
        secret: SECRET,
        service: SERVICE,
        from: callerOf('createProfile'),
      });
      expect(res.status).toBe(200);
    });

    it('createProfile is idempotent for one user id', async () => {
      const id = newUserId();
      const email = `retry.${suffix()}@example.com`;
      const a = await command('createProfile', profile(id, orgA.id, email));
      const b = await command('createProfile', profile(id, orgA.id, email));
      expect(b).toEqual(a);
      expect(await conn.collection<UserDoc>('users').countDocuments({ _id: id })).toBe(1);
    });

    it('of 20 concurrent registrations of one email exactly one wins', async () => {
      const email = `race.${suffix()}@example.com`;
      const ids = Array.from({ length: 20 }, newUserId);
      const results = await Promise.all(
        ids.map((id) =>
          postCommand(url, 'createProfile', profile(id, orgA.id, email), {
            secret: SECRET,
            service: SERVICE,
            from: callerOf('createProfile'),
          }),
        ),
      );
      const winners = ids.filter((_, i) => results[i]!.status === 200);
      expect(winners).toHaveLength(1);
      for (const r of results.filter((r) => r.status !== 200)) {
        expect(r.status).toBe(409);
        expect(r.body.error.code).toBe('CONFLICT');
      }
      expect(await command('findUserIdByIdentifier', { organizationId: orgA.id, kind: 'email', value: email })).toEqual({
        userId: winners[0],
      });
      expect(await conn.collection('users').countDocuments({ emailNormalized: email })).toBe(1);
      expect(await conn.collection<UserDoc>('users').countDocuments({ _id: { $in: ids } })).toBe(1);
    });

    it('deleteProfile removes the user and frees the email; it is idempotent', async () => {
      const id = newUserId();
      const email = `gone.${suffix()}@example.com`;
      await command('createProfile', profile(id, orgA.id, email));
      expect(await command('deleteProfile', { organizationId: orgA.id, userId: id })).toEqual({ deleted: true });
      expect(await command('deleteProfile', { organizationId: orgA.id, userId: id })).toEqual({ deleted: false });
      expect(await command('findUserIdByIdentifier', { organizationId: orgA.id, kind: 'email', value: email })).toEqual({ userId: null });
      const res = await postGraphQL(url, ENTITIES, { r: [userRef(id)] }, { token: await tokenFor(alice, orgA) });
      expect(res.body.data?._entities).toEqual([null]);
      const again = newUserId();
      await command('createProfile', profile(again, orgA.id, email));
      expect(await command('findUserIdByIdentifier', { organizationId: orgA.id, kind: 'email', value: email })).toEqual({ userId: again });
    });

    it('deleteProfile cannot delete a user of another organization', async () => {
      expect(await command('deleteProfile', { organizationId: orgB.id, userId: alice.id })).toEqual({ deleted: false });
      expect(await command('findUserIdByIdentifier', { organizationId: orgA.id, kind: 'email', value: alice.email })).toEqual({
        userId: alice.id,
      });
    });

    it('reads and writes profiles and their search entries by _id alone: no scan on the embedded store', async () => {
      const recorder = recordFilters(conn, ['users', 'user_search_heads', 'user_search_buckets']);
      try {
        const id = newUserId();
        await command('createProfile', profile(id, orgA.id, `scanless.${suffix()}@example.com`));
        // An application that reads users: its access needs no answer from licensing, which this test does not run.
        const reader = await issuer.sign({ typ: 'application', sub: 'app_reader', org: orgA.id, scope: 'organization-users:read' });
        const res = await postGraphQL(url, ENTITIES, { r: [userRef(id), userRef(alice.id), userRef(bob.id)] }, { token: reader });
        expect(res.body.data?._entities.map((e: { id: string } | null) => e?.id ?? null)).toEqual([id, alice.id, null]);
        await command('setUserStatus', { organizationId: orgA.id, userId: id, status: 'SUSPENDED' });
        expect(await command('deleteProfile', { organizationId: orgA.id, userId: id })).toEqual({ deleted: true });
      } finally {
        recorder.stop();
      }
      expect(recorder.operations.length).toBeGreaterThan(5);
      expect(recorder.scans()).toEqual([]);
    });

    it('validates command input: BAD_USER_INPUT with paths', async () => {
      const res = await postCommand(
        url,
        'createProfile',
        { userId: '', organizationId: orgA.id, email: 'x@example.com', status: 'WHATEVER' },
        { secret: SECRET, service: SERVICE, from: callerOf('createProfile') },
      );
      expect(res.status).toBe(422);
      expect(res.body.error.code).toBe('BAD_USER_INPUT');
      const paths = (res.body.error.fields as Array<{ path: string[] }>).map((f) => f.path.join('.'));
      expect(paths).toEqual(expect.arrayContaining(['userId', 'status', 'firstName', 'lastName']));
    });

    it("the owner validates a profile whoever asks: org-users field rules, not the caller's", async () => {
      const bad = {
        ...profile(newUserId(), orgA.id, 'not-an-email'),
        firstName: 'R2-D2 <script>',
        phoneNumber: '12',
        dateOfBirth: '2024-02-30',
        extra: 'field',
      };
      const res = await postCommand(url, 'createProfile', bad, { secret: SECRET, service: SERVICE, from: callerOf('createProfile') });
      expect(res.status).toBe(422);
      const paths = (res.body.error.fields as Array<{ path: string[] }>).map((f) => f.path.join('.'));
      expect(paths).toEqual(expect.arrayContaining(['email', 'firstName', 'phoneNumber', 'dateOfBirth']));
      expect(await conn.collection<UserDoc>('users').countDocuments({ _id: bad.userId })).toBe(0);
    });
  });

  describe('organizations', () => {
    it('ensureOrganization is idempotent, and concurrent calls agree on one id', async () => {
      const slug = `initech-${suffix()}`;
      const results = await Promise.all(
        Array.from({ length: 8 }, () => command('ensureOrganization', { slug, name: 'Initech', selfSignup: false })),
      );
      expect(new Set(results.map((r) => r.organization.id)).size).toBe(1);
      expect(results.filter((r) => r.created)).toHaveLength(1);
      const again = await command('ensureOrganization', { slug, name: 'Initech', selfSignup: false });
      expect(again).toEqual({ organization: results[0].organization, created: false });
    });

    it('getOrganization finds by slug (through its claim, by key) and id, NOT_FOUND otherwise', async () => {
      const recorder = recordFilters(conn, ['organizations']);
      expect(await command('getOrganization', { slug: orgA.slug })).toMatchObject({ id: orgA.id, slug: orgA.slug });
      recorder.stop();
      expect(recorder.operations).toHaveLength(1);
      expect(recorder.scans()).toEqual([]);
      expect(await command('getOrganization', { id: orgB.id })).toMatchObject({ id: orgB.id, selfSignup: true });
      const res = await postCommand(
        url,
        'getOrganization',
        { slug: 'no-such-org' },
        { secret: SECRET, service: SERVICE, from: callerOf('getOrganization') },
      );
      expect(res.status).toBe(404);
      expect(res.body.error.code).toBe('NOT_FOUND');
    });

    it('refuses an invalid slug', async () => {
      const res = await postCommand(
        url,
        'ensureOrganization',
        { slug: 'Not A Slug!', name: 'X', selfSignup: false },
        { secret: SECRET, service: SERVICE, from: callerOf('ensureOrganization') },
      );
      expect(res.status).toBe(422);
      expect(res.body.error.fields[0].path).toEqual(['slug']);
    });
  });

  it('serves health and readiness probes', async () => {
    const health = await fetch(`${url}/healthz`);
    expect(health.status).toBe(200);
    const ready = await fetch(`${url}/readyz`);
    expect(ready.status).toBe(200);
    expect(await ready.json()).toEqual({ status: 'ready', service: 'org-users' });
  });

  describe('usergraph repair (issue 13: crash windows in the search index)', () => {
    it(
      'rebuilds the lists a crash left wrong (a bucket written without its head; a profile never indexed), ' +
        'reports them, and a second run changes nothing',
      async () => {
        await command('repair', {}); // whatever earlier tests left: from here on the index is right
        const org = (await command('ensureOrganization', { slug: `initech-${suffix()}`, name: 'Initech', selfSignup: false }))
          .organization as { id: string };
        const ids = [newUserId(), newUserId(), newUserId()];
        for (const [i, id] of ids.entries())
          await command('createProfile', {
            ...profile(id, org.id, `repair${i}.${suffix()}@example.com`),
            lastName: i === 1 ? 'Hopper' : 'Lovelace',
          });
        const { createSearchIndex, bucketOf } = await import('./modules/users/search-index.js');
        const search = (text: string) => createSearchIndex(conn).page(org.id, text, { first: 50 }); // a fresh process cache each time
        expect((await search('')).totalCount).toBe(3);
        // Window 1: the profile is written, the process dies before its index entries.
        const never = (await conn.collection<UserDoc>('users').findOne({ _id: ids[1]! }))!;
        await createSearchIndex(conn).remove(never);
        // Window 2: a bucket gained its entry, the process died before the head's $inc.
        const k = bucketOf(ids[0]!);
        await conn.collection<HeadDoc>('user_search_heads').updateOne({ _id: `${org.id}:` }, { $inc: { n: -1, [`c.b${k}`]: -1 } });
        expect((await search('')).totalCount).toBe(1);
        expect((await search('hopper')).ids).toEqual([]);

        const report = await command('repair', {});
        const changed = report.changed.find((c: { organizationId: string }) => c.organizationId === org.id);
        expect(changed).toBeDefined();
        expect(changed.buckets).toBeGreaterThan(0);
        expect(changed.heads).toBeGreaterThan(0);
        expect(report.changed).toHaveLength(1);
        expect(report.bucketsRewritten).toBe(changed.buckets);
        expect((await search('')).totalCount).toBe(3);
        expect((await search('')).ids.sort()).toEqual([...ids].sort());
        expect((await search('hopper')).ids).toEqual([ids[1]]);
        expect((await search('lovelace')).totalCount).toBe(2);

        expect(await command('repair', {})).toMatchObject({ bucketsRewritten: 0, headsRecounted: 0, skipped: 0, changed: [] });
      },
    );

    it('is refused to any caller but the CLI', async () => {
      const res = await postCommand(url, 'repair', {}, { secret: SECRET, service: SERVICE, from: 'identity' });
      expect(res.status).toBe(403);
    });
  });
});
