import { randomBytes } from 'node:crypto';
import type { Connection } from 'mongoose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectDatabase } from '@usergraph/mongo';
import { recordFilters, startTestStore, uniqueDatabaseName } from '@usergraph/mongo/testing';
import { licensingCommands } from '@usergraph/contracts';
import type { LicenseType } from '@usergraph/validation';
import { createInternalClient, createLogger, DomainError, type RunningService } from '@usergraph/service-kit';
import { postCommand, postGraphQL, runCommand, startTestIssuer, type TestIssuer } from '@usergraph/service-kit/testing';
import { startLicensing } from './app.js';
import { licensingEnvSchema } from './env.js';
import type { GroupDoc } from './modules/groups/group-repository.js';
import type { AssignmentDoc } from './modules/licenses/assignment-repository.js';
import type { LicenseStateDoc } from './modules/licenses/license-state-repository.js';

const SECRET = `licensing-test-secret-${randomBytes(16).toString('hex')}`;
const SERVICE = 'licensing';

const ENTITIES = `query($r: [_Any!]!) {
  _entities(representations: $r) { ... on User { id licenses groups originGroup } }
}`;

const userRef = (id: string) => ({ __typename: 'User', id });
const newId = () => randomBytes(12).toString('hex');

describe('licensing subgraph', () => {
  let store: Awaited<ReturnType<typeof startTestStore>>;
  let conn: Connection;
  let issuer: TestIssuer;
  let service: RunningService;
  let url: string;
  const orgA = newId();
  const orgB = newId();
  const alice = newId();
  const carol = newId();

  const command = <R = any>(name: string, input: unknown) =>
    runCommand<R>(url, name, input, {
      secret: SECRET,
      service: SERVICE,
      from: name === 'reconcile' || name === 'repair' ? 'cli' : 'org-users',
    });
  const userToken = (sub: string, org: string) => issuer.sign({ sub, org, sid: `s-${sub}` });
  /** An application that reads users: the policy lets it read everything, with no answer needed from org-users (not run here). */
  const readerToken = (org: string) => issuer.sign({ typ: 'application', sub: 'app_reader', org, scope: 'organization-users:read' });
  const assignment = (
    organizationId: string,
    userId: string,
    requestedLicenses: unknown,
    requestedGroups: unknown,
    requestedOriginGroup?: unknown,
  ) => ({
    organizationId,
    userId,
    requestedLicenses,
    requestedGroups,
    ...(requestedOriginGroup === undefined ? {} : { requestedOriginGroup }),
  });

  beforeAll(async () => {
    store = await startTestStore();
    conn = await connectDatabase({ uri: store.uri, dbName: uniqueDatabaseName('licensing_app'), appName: 'licensing-test' });
    issuer = await startTestIssuer();
    const env = licensingEnvSchema.parse({
      NODE_ENV: 'test',
      LOG_LEVEL: 'silent',
      HOST: '127.0.0.1',
      PORT: '0',
      APOLLO_TELEMETRY_DISABLED: '1',
      INTERNAL_SERVICE_SECRET: SECRET,
      JWKS_URL: issuer.jwksUrl,
      MONGODB_URI: store.uri,
      // Only group membership changes ask org-users; none happen here.
      ORG_USERS_URL: 'http://127.0.0.1:9',
      // The test issuer answers identity's callerStatus (is a token's session still live?).
      IDENTITY_URL: issuer.url,
    });
    service = await startLicensing(env, createLogger({ service: SERVICE, level: 'silent' }), conn);
    url = `http://127.0.0.1:${service.port}`;
    // Groups are created by an organization admin (here an application with organization-users:write).
    const admin = await issuer.sign({ typ: 'application', sub: 'app_admin', org: orgA, scope: 'organization-users:write' });
    for (const name of ['SALES', 'EMEA', 'OPS']) {
      const res = await postGraphQL(url, 'mutation($n: String!) { createGroup(name: $n) { name } }', { n: name }, { token: admin });
      expect(res.body.errors).toBeUndefined();
    }
    await command('assignLicenses', assignment(orgA, alice, ['AUTHOR', 'ADMIN'], ['SALES', 'EMEA'], 'SALES'));
  });

  afterAll(async () => {
    await service?.close();
    await issuer?.close();
    await conn?.close();
    await store?.stop();
  });

  describe('_entities(User)', () => {
    it("returns the licenses of a user of the caller's organization", async () => {
      const res = await postGraphQL(url, ENTITIES, { r: [userRef(alice)] }, { token: await userToken(alice, orgA) });
      expect(res.status).toBe(200);
      expect(res.body).toEqual({
        data: { _entities: [{ id: alice, licenses: ['AUTHOR', 'ADMIN'], groups: ['SALES', 'EMEA'], originGroup: 'SALES' }] },
      });
    });

    it('a user of the organization without an assignment holds nothing', async () => {
      const res = await postGraphQL(url, ENTITIES, { r: [userRef(carol)] }, { token: await readerToken(orgA) });
      expect(res.body).toEqual({ data: { _entities: [{ id: carol, licenses: [], groups: [], originGroup: null }] } });
    });

    it("never returns another organization's assignment", async () => {
      // Licensing keeps no user registry, so it cannot tell "another tenant's
      // user" from "a user without licenses": it answers the latter, and the
      // assignment of the other tenant never leaves the service. (The owner
      // of User, org-users, is what nulls foreign entities in a query plan.)
      const res = await postGraphQL(url, ENTITIES, { r: [userRef(alice)] }, { token: await readerToken(orgB) });
      expect(res.body.data?._entities).toEqual([{ id: alice, licenses: [], groups: [], originGroup: null }]);
      expect(JSON.stringify(res.body)).not.toContain('SALES');
      expect(JSON.stringify(res.body)).not.toContain('AUTHOR');
    });

    it('issue 12, finding 3: a user without a license reads only their own licenses (access-policy.ts)', async () => {
      const res = await postGraphQL(url, ENTITIES, { r: [userRef(alice)] }, { token: await userToken(newId(), orgA) });
      expect(res.body.data?._entities).toEqual([null]);
      expect(res.body.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
      const groups = await postGraphQL(url, '{ groups { name } }', {}, { token: await userToken(newId(), orgA) });
      expect(groups.body.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
      expect(JSON.stringify(res.body)).not.toContain('SALES');
      expect(JSON.stringify(res.body)).not.toContain('AUTHOR');
    });

    it('answers UNAUTHENTICATED without a token', async () => {
      const res = await postGraphQL(url, ENTITIES, { r: [userRef(alice)] });
      expect(res.body.data?._entities).toEqual([null]);
      expect(res.body.errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
      expect(JSON.stringify(res.body)).not.toContain('SALES');
    });

    it('answers HTTP 401 for a forged token', async () => {
      const forged = (await userToken(alice, orgA)).replace(/\.[^.]+$/, `.${randomBytes(64).toString('base64url')}`);
      const res = await postGraphQL(url, ENTITIES, { r: [userRef(alice)] }, { token: forged });
      expect(res.status).toBe(401);
      expect(res.body.errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
    });
  });

  describe('assignLicenses', () => {
    it('replaces the assignment; setting it twice is a no-op; no origin group clears it', async () => {
      const user = newId();
      const input = assignment(orgA, user, ['VIEWER'], ['OPS']);
      const expected = { id: user, licenses: ['VIEWER'], groups: ['OPS'], originGroup: null };
      expect(await command('assignLicenses', input)).toMatchObject(expected);
      expect(await command('assignLicenses', input)).toMatchObject(expected);
      expect(await conn.collection('assignments').countDocuments({ userId: user })).toBe(1);
      await command('assignLicenses', assignment(orgA, user, ['AUTHOR'], ['OPS', 'SALES'], 'OPS'));
      const withOrigin = await postGraphQL(url, ENTITIES, { r: [userRef(user)] }, { token: await readerToken(orgA) });
      expect(withOrigin.body.data?._entities).toEqual([{ id: user, licenses: ['AUTHOR'], groups: ['OPS', 'SALES'], originGroup: 'OPS' }]);
      await command('assignLicenses', assignment(orgA, user, ['ANALYST'], []));
      const res = await postGraphQL(url, ENTITIES, { r: [userRef(user)] }, { token: await readerToken(orgA) });
      expect(res.body.data?._entities).toEqual([{ id: user, licenses: ['ANALYST'], groups: [], originGroup: null }]);
    });

    it('keeps assignments of one user id apart per organization', async () => {
      const shared = newId();
      await command('assignLicenses', assignment(orgA, shared, ['ANALYST'], []));
      await command('assignLicenses', assignment(orgB, shared, ['VIEWER'], []));
      const a = await postGraphQL(url, ENTITIES, { r: [userRef(shared)] }, { token: await readerToken(orgA) });
      const b = await postGraphQL(url, ENTITIES, { r: [userRef(shared)] }, { token: await readerToken(orgB) });
      expect(a.body.data?._entities[0].licenses).toEqual(['ANALYST']);
      expect(b.body.data?._entities[0].licenses).toEqual(['VIEWER']);
    });

    it('refuses invalid licenses and groups with BAD_USER_INPUT and field paths', async () => {
      const cases: Array<[Record<string, unknown>, string]> = [
        [assignment(orgA, newId(), ['AUTHOR', 'VIEWER'], []), 'requestedLicenses'],
        [assignment(orgA, newId(), ['ANALYST', 'ANALYST'], []), 'requestedLicenses'],
        [assignment(orgA, newId(), ['OWNER'], []), 'requestedLicenses.0'],
        [assignment(orgA, newId(), [], ['sales']), 'requestedGroups.0'],
        [assignment(orgA, newId(), 'ADMIN', []), 'requestedLicenses'],
        [assignment(orgA, newId(), ['VIEWER'], ['SALES'], 'SALES'), 'requestedOriginGroup'],
        [assignment(orgA, newId(), ['AUTHOR'], ['SALES'], 'EMEA'), 'requestedOriginGroup'],
      ];
      for (const [body, path] of cases) {
        const res = await postCommand(url, 'assignLicenses', body, { secret: SECRET, service: SERVICE, from: 'org-users' });
        expect(res.status, JSON.stringify(body)).toBe(422);
        expect(res.body.error.code).toBe('BAD_USER_INPUT');
        expect((res.body.error.fields as Array<{ path: string[] }>).map((f) => f.path.join('.'))).toContain(path);
      }
    });

    it('issue 13: validateAssignment reports every broken rule at once, each at its path, and writes nothing', async () => {
      const user = newId();
      const issue = (path: string[], message: string) => ({ path, message });
      // A repeat and AUTHOR with VIEWER; a malformed name beside an unknown one; an origin group allowed (AUTHOR) but not requested.
      expect(
        await command('validateAssignment', assignment(orgA, user, ['AUTHOR', 'VIEWER', 'AUTHOR'], ['SALES', 'sales', 'NOPE'], 'OPS')),
      ).toEqual({
        ok: false,
        errors: [
          issue(['requestedLicenses'], 'must not contain the same license twice'),
          issue(['requestedLicenses'], 'cannot combine AUTHOR and VIEWER'),
          issue(['requestedGroups', '1'], 'must be UPPERCASE'),
          issue(['requestedGroups', '2'], 'names no group of your organization'),
          issue(['requestedOriginGroup'], 'must be one of the requested groups'),
        ],
      });
      // Both origin-group rules at once.
      expect(await command('validateAssignment', assignment(orgA, user, ['VIEWER'], ['SALES'], 'EMEA'))).toEqual({
        ok: false,
        errors: [
          issue(['requestedOriginGroup'], 'is only allowed with an ADMIN or AUTHOR license'),
          issue(['requestedOriginGroup'], 'must be one of the requested groups'),
        ],
      });
      expect(await command('getUserLicenses', { organizationId: orgA, userId: user })).toMatchObject({ licenses: [], groups: [] });
    });

    it("issue 13: validateAssignment judges a support admin's ADMIN on a read, with the other rules", async () => {
      const support = newId();
      await command('assignLicenses', { ...assignment(orgA, support, ['ADMIN'], []), supportAdmin: true });
      expect(await command('validateAssignment', assignment(orgA, support, ['VIEWER'], ['NOPE']))).toEqual({
        ok: false,
        errors: [
          { path: ['requestedLicenses'], message: 'would remove the ADMIN license of a support admin' },
          { path: ['requestedGroups', '0'], message: 'names no group of your organization' },
        ],
      });
      expect(await command('getUserLicenses', { organizationId: orgA, userId: support })).toMatchObject({
        licenses: ['ADMIN'],
        supportAdmin: true,
      });
    });

    it('refuses a group of another organization', async () => {
      // SALES exists in orgA only.
      const res = await postCommand(url, 'assignLicenses', assignment(orgB, newId(), ['VIEWER'], ['SALES']), {
        secret: SECRET,
        service: SERVICE,
        from: 'org-users',
      });
      expect(res.status).toBeGreaterThanOrEqual(400);
      expect(res.body.ok).toBe(false);
      expect(JSON.stringify(res.body.error.fields)).toContain('requestedGroups');
    });
  });

  describe('issue 12 review: the ADMIN rule is decided again at write time', () => {
    // org-users checks its caller first; a promotion can land between that check and
    // the write. Licensing's write is conditioned on the assignment it read, and refuses
    // a user holding ADMIN unless org-users says its caller may act on one.
    it('assignLicenses, revokeLicenses and releaseUser refuse a user who holds ADMIN by now, unless callerMayActOnAdmin', async () => {
      const [first, promoted] = [newId(), newId()];
      const org = newId();
      await command('assignLicenses', assignment(org, first, ['ADMIN'], []));
      await command('assignLicenses', assignment(org, promoted, ['VIEWER'], []));
      // The check in org-users saw a VIEWER; then an ADMIN promoted them.
      await command('assignLicenses', { ...assignment(org, promoted, ['ADMIN'], []), callerMayActOnAdmin: true });
      const attempts: Array<[string, Record<string, unknown>]> = [
        ['assignLicenses', assignment(org, promoted, ['VIEWER'], [])],
        ['revokeLicenses', { organizationId: org, userId: promoted, licenses: ['ADMIN'] }],
        ['releaseUser', { organizationId: org, userId: promoted }],
        ['releaseUser', { organizationId: org, userId: promoted, callerMayActOnAdmin: false }],
      ];
      for (const [name, body] of attempts) {
        // As org-users, the one caller of all three: a FORBIDDEN for the caller's service would prove nothing (issue 13: the reason says which).
        const res = await postCommand(url, name, body, { secret: SECRET, service: SERVICE, from: 'org-users' });
        expect(res.status, name).toBe(403);
        expect(res.body.error, name).toMatchObject({ code: 'FORBIDDEN', reason: 'COMPANY_ADMIN' });
      }
      expect(await command('getUserLicenses', { organizationId: org, userId: promoted })).toMatchObject({ licenses: ['ADMIN'] });
      // A command retried after its answer was lost changes nothing, and still answers (commands are idempotent).
      expect(await command('assignLicenses', assignment(org, promoted, ['ADMIN'], []))).toMatchObject({ licenses: ['ADMIN'] });
      // With organization-users:admin (or acting on oneself) the same write goes through.
      expect(await command('releaseUser', { organizationId: org, userId: promoted, callerMayActOnAdmin: true })).toEqual({
        released: true,
      });
      // A user without ADMIN needs nothing more.
      const viewer = newId();
      await command('assignLicenses', assignment(org, viewer, ['VIEWER'], []));
      expect(await command('releaseUser', { organizationId: org, userId: viewer })).toEqual({ released: true });
    });
  });

  describe('issue 13: refusals carry a reason through the internal command', () => {
    it('support admin vs last company admin: releaseUser refuses both with CONFLICT, and the reason tells them apart', async () => {
      const org = newId();
      const [support, admin] = [newId(), newId()];
      await command('assignLicenses', { ...assignment(org, support, ['ADMIN'], []), supportAdmin: true });
      await command('assignLicenses', assignment(org, admin, ['ADMIN'], []));
      // The client org-users uses: the error is rebuilt from the answer on the calling side.
      const licensing = createInternalClient({ from: 'org-users', to: SERVICE, baseUrl: url, secret: SECRET, timeoutMs: 5000 });
      try {
        const release = (userId: string) =>
          licensing.call(licensingCommands.releaseUser, { organizationId: org, userId, callerMayActOnAdmin: true }).then(
            () => undefined,
            (e: unknown) => e,
          );
        const [supportRefusal, lastRefusal] = [await release(support), await release(admin)];
        expect(supportRefusal).toBeInstanceOf(DomainError);
        expect(lastRefusal).toBeInstanceOf(DomainError);
        expect([(supportRefusal as DomainError).code, (supportRefusal as DomainError).reason]).toEqual(['CONFLICT', 'SUPPORT_ADMIN']);
        expect([(lastRefusal as DomainError).code, (lastRefusal as DomainError).reason]).toEqual(['CONFLICT', 'LAST_COMPANY_ADMIN']);
        // Both still hold ADMIN: nothing was released.
        for (const userId of [support, admin])
          expect(await command('getUserLicenses', { organizationId: org, userId })).toMatchObject({ licenses: ['ADMIN'] });
      } finally {
        await licensing.close();
      }
    });

    it('acting on a company admin without organization-users:admin is FORBIDDEN with reason COMPANY_ADMIN, on the wire', async () => {
      const org = newId();
      const [admin, second] = [newId(), newId()];
      await command('assignLicenses', assignment(org, admin, ['ADMIN'], []));
      await command('assignLicenses', assignment(org, second, ['ADMIN'], []));
      const refused = await postCommand(
        url,
        'releaseUser',
        { organizationId: org, userId: admin, callerMayActOnAdmin: false },
        { secret: SECRET, service: SERVICE, from: 'org-users' },
      );
      expect(refused.status).toBe(403);
      expect(refused.body.error).toMatchObject({ code: 'FORBIDDEN', reason: 'COMPANY_ADMIN' });
    });
  });

  describe('internal command guard', () => {
    const target = newId();
    const input = () => assignment(orgA, target, ['VIEWER'], ['OPS']);

    it('refuses a request without a service token, and changes nothing', async () => {
      const res = await postCommand(url, 'assignLicenses', input(), {
        secret: SECRET,
        service: SERVICE,
        from: 'org-users',
        authorization: null,
      });
      expect(res.status).toBe(401);
      expect(res.body.error.code).toBe('UNAUTHENTICATED');
      const after = await postGraphQL(url, ENTITIES, { r: [userRef(target)] }, { token: await readerToken(orgA) });
      expect(after.body.data?._entities).toEqual([{ id: target, licenses: [], groups: [], originGroup: null }]);
    });

    it('refuses a client access token', async () => {
      const authorization = `Bearer ${await userToken(alice, orgA)}`;
      const res = await postCommand(url, 'assignLicenses', input(), { secret: SECRET, service: SERVICE, from: 'org-users', authorization });
      expect(res.status).toBe(401);
    });

    it('refuses a service token for another service or under another secret', async () => {
      expect((await postCommand(url, 'assignLicenses', input(), { secret: SECRET, service: 'org-users' })).status).toBe(401);
      expect(
        (await postCommand(url, 'assignLicenses', input(), { secret: `${SECRET}x`, service: SERVICE, from: 'org-users' })).status,
      ).toBe(401);
      // The same input with a proper credential goes through.
      expect((await postCommand(url, 'assignLicenses', input(), { secret: SECRET, service: SERVICE, from: 'org-users' })).status).toBe(200);
    });
  });
  describe('hot paths read and write the growing collections by _id', () => {
    // The embedded store answers a filter from its key only when it holds `_id`;
    // any other filter decodes every document of the collection.
    const GROWING = ['assignments', 'groups'];

    it("a first assignment, validateAssignment, getUserLicenses, users' licenses and groups, and the admin check", async () => {
      const user = newId();
      const recorder = recordFilters(conn, GROWING);
      try {
        expect(await command('assignLicenses', assignment(orgA, user, ['AUTHOR'], ['SALES', 'OPS'], 'OPS'))).toMatchObject({
          licenses: ['AUTHOR'],
          groups: ['SALES', 'OPS'],
          originGroup: 'OPS',
        });
        expect(await command('validateAssignment', assignment(orgA, newId(), ['VIEWER'], ['EMEA', 'NO_SUCH_GROUP']))).toMatchObject({
          ok: false,
          errors: [{ path: ['requestedGroups', '1'] }],
        });
        expect(await command('getUserLicenses', { organizationId: orgA, userId: alice })).toMatchObject({ licenses: ['AUTHOR', 'ADMIN'] });
        const self = await postGraphQL(url, ENTITIES, { r: [userRef(alice)] }, { token: await userToken(alice, orgA) });
        expect(self.body.data?._entities).toEqual([
          { id: alice, licenses: ['AUTHOR', 'ADMIN'], groups: ['SALES', 'EMEA'], originGroup: 'SALES' },
        ]);
        const res = await postGraphQL(
          url,
          ENTITIES,
          { r: [userRef(alice), userRef(user), userRef(carol)] },
          { token: await readerToken(orgA) },
        );
        expect(res.body.data?._entities).toEqual([
          { id: alice, licenses: ['AUTHOR', 'ADMIN'], groups: ['SALES', 'EMEA'], originGroup: 'SALES' },
          { id: user, licenses: ['AUTHOR'], groups: ['SALES', 'OPS'], originGroup: 'OPS' },
          { id: carol, licenses: [], groups: [], originGroup: null },
        ]);
        // Another tenant's assignment is "not found", read by _id all the same.
        const foreign = await postGraphQL(url, ENTITIES, { r: [userRef(user)] }, { token: await readerToken(orgB) });
        expect(foreign.body.data?._entities).toEqual([{ id: user, licenses: [], groups: [], originGroup: null }]);
        // The access policy reads the caller's assignment (an unlicensed user needs nothing more).
        const unlicensed = await postGraphQL(url, ENTITIES, { r: [userRef(user)] }, { token: await userToken(carol, orgA) });
        expect(unlicensed.body.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
        const cap = await postGraphQL(
          url,
          'mutation { setSeatCap(license: VIEWER, cap: null) { license } }',
          {},
          { token: await issuer.sign({ typ: 'application', sub: 'app_admin', org: orgA, scope: 'organization-users:write' }) },
        );
        expect(cap.body.errors).toBeUndefined();

        expect(new Set(recorder.operations.map((o) => o.collection))).toEqual(new Set(GROWING));
        expect(recorder.scans()).toEqual([]);
      } finally {
        recorder.stop();
      }
    });

    it('changing an assignment: the revision-checked write is keyed by _id too', async () => {
      const user = newId();
      await command('assignLicenses', assignment(orgA, user, ['VIEWER'], []));
      const recorder = recordFilters(conn, GROWING);
      try {
        expect(await command('assignLicenses', assignment(orgA, user, ['ANALYST'], ['OPS']))).toMatchObject({
          licenses: ['ANALYST'],
          groups: ['OPS'],
        });
        expect(recorder.operations).toContainEqual(
          expect.objectContaining({ collection: 'assignments', method: 'updateOne', filter: expect.objectContaining({ rev: 1 }) }),
        );
        expect(recorder.scans()).toEqual([]);
      } finally {
        recorder.stop();
      }
    });
  });

  describe('group member counts', () => {
    const admin = () => issuer.sign({ typ: 'application', sub: 'app_admin', org: orgA, scope: 'organization-users:write' });
    const listed = async () => {
      const res = await postGraphQL(url, '{ groups { name memberCount } }', {}, { token: await admin() });
      return Object.fromEntries(
        (res.body.data!.groups as Array<{ name: string; memberCount: number }>).map((g) => [g.name, g.memberCount]),
      );
    };

    it('follow every assignment change, concurrent ones included, and forgetting a user', async () => {
      const before = await listed();
      const users = Array.from({ length: 6 }, () => newId());
      await Promise.all(users.map((u) => command('assignLicenses', assignment(orgA, u, ['VIEWER'], ['OPS']))));
      expect((await listed()).OPS).toBe(before.OPS! + 6);
      await command('assignLicenses', assignment(orgA, users[0]!, ['VIEWER'], ['EMEA']));
      await command('assignLicenses', assignment(orgA, users[0]!, ['VIEWER'], ['EMEA'])); // the same again: no change
      await command('releaseUser', { organizationId: orgA, userId: users[1] });
      await command('forgetUser', { organizationId: orgA, userId: users[2] });
      const after = await listed();
      expect(after.OPS).toBe(before.OPS! + 3);
      expect(after.EMEA).toBe(before.EMEA! + 1);
      expect(after.SALES).toBe(before.SALES);
    });

    it('are set once from the assignments for groups from before the counts existed', async () => {
      const groupsCol = conn.collection<GroupDoc>('groups');
      const expected = await listed();
      await groupsCol.updateMany({}, { $unset: { memberCount: 1 } });
      await groupsCol.deleteOne({ _id: 'member-counts-built' });
      expect(Object.values(await listed()).every((n) => n === 0)).toBe(true);
      const { buildMemberCountsAtStart } = await import('./startup-build.js');
      const startup = { STARTUP_LEASE_SECONDS: 30, STARTUP_BUILD_WAIT_SECONDS: 30 };
      const logger = createLogger({ service: SERVICE, level: 'silent' });
      const first = await buildMemberCountsAtStart(conn, startup, logger);
      expect(first.outcome === 'built' && first.result.set).toBeGreaterThan(0);
      expect(await listed()).toEqual(expected);
      expect((await buildMemberCountsAtStart(conn, startup, logger)).outcome).toBe('done');
    });
  });

  describe('usergraph repair (issue 13: crash windows)', () => {
    const groups = () => conn.collection<GroupDoc>('groups');
    const licenseState = () => conn.collection<LicenseStateDoc>('license_state');
    const groupId = async (name: string) => (await groups().findOne({ organizationId: orgA, name }))!._id;
    const memberCount = async (name: string) => (await groups().findOne({ organizationId: orgA, name }))!.memberCount!;
    const used = async (license: LicenseType) => (await licenseState().findOne({ _id: orgA }))!.used[license]!;

    it(
      'recounts a group left one short (assignment written, crash before its $inc) and a seat left taken ' +
        '(crash before the assignment write), and reports them',
      async () => {
        await command('repair', {}); // whatever earlier tests left: from here on the counts are right
        const ops = await groupId('OPS');
        const opsBefore = await memberCount('OPS');
        const viewersBefore = await used('VIEWER');
        const analystsBefore = await used('ANALYST');
        const user = newId();
        // Window 1: the seat is taken and the assignment written; the process dies before the group's $inc.
        await licenseState().updateOne({ _id: orgA }, { $inc: { 'used.VIEWER': 1 } });
        const now = new Date();
        await conn.collection<AssignmentDoc>('assignments').insertOne({
          _id: `${orgA}:${user}`,
          organizationId: orgA,
          userId: user,
          licenses: ['VIEWER'],
          groupIds: [ops],
          supportAdmin: false,
          rev: 1,
          createdAt: now,
          updatedAt: now,
        });
        // Window 2: an ANALYST seat is taken; the process dies before the assignment write.
        await licenseState().updateOne({ _id: orgA }, { $inc: { 'used.ANALYST': 1 } });
        expect(await memberCount('OPS')).toBe(opsBefore);

        const report = await command('repair', {});
        expect(report.groups).toEqual([{ organizationId: orgA, name: 'OPS', from: opsBefore, to: opsBefore + 1 }]);
        expect(report.seats).toEqual([{ organizationId: orgA, license: 'ANALYST', from: analystsBefore + 1, to: analystsBefore }]);
        expect(await memberCount('OPS')).toBe(opsBefore + 1);
        expect(await used('VIEWER')).toBe(viewersBefore + 1);
        expect(await used('ANALYST')).toBe(analystsBefore);
        expect(report.checked.groups).toBeGreaterThanOrEqual(3);

        // A second run finds nothing to change.
        expect(await command('repair', {})).toMatchObject({ groups: [], seats: [], skipped: 0 });
        expect(await memberCount('OPS')).toBe(opsBefore + 1);
      },
    );

    it('keeps free seats in step with a capped license it recounts', async () => {
      const admin = await issuer.sign({ typ: 'application', sub: 'app_admin', org: orgA, scope: 'organization-users:write' });
      const cap = (await used('AUTHOR')) + 5;
      const res = await postGraphQL(
        url,
        'mutation($c: Int) { setSeatCap(license: AUTHOR, cap: $c) { license } }',
        { c: cap },
        { token: admin },
      );
      expect(res.body.errors).toBeUndefined();
      const authors = await used('AUTHOR');
      await licenseState().updateOne({ _id: orgA }, { $inc: { 'used.AUTHOR': 1, 'free.AUTHOR': -1 } });
      const report = await command('repair', {});
      expect(report.seats).toEqual([{ organizationId: orgA, license: 'AUTHOR', from: authors + 1, to: authors }]);
      const state = (await licenseState().findOne({ _id: orgA }))!;
      expect(state.used.AUTHOR).toBe(authors);
      expect(state.free.AUTHOR).toBe(cap - authors);
      await postGraphQL(url, 'mutation { setSeatCap(license: AUTHOR, cap: null) { license } }', {}, { token: admin });
    });

    it('never overwrites a count that moved after it was read (a live change wins)', async () => {
      const { createGroupRepository } = await import('./modules/groups/group-repository.js');
      const { createLicenseStateRepository } = await import('./modules/licenses/license-state-repository.js');
      const ops = await groupId('OPS');
      const count = await memberCount('OPS');
      // Repair read `count - 1`; a live $inc since then makes its fix a no-op.
      expect(await createGroupRepository(conn).setMemberCountIf(orgA, ops, count - 1, 0)).toBe(false);
      expect(await memberCount('OPS')).toBe(count);
      const states = createLicenseStateRepository(conn);
      const read = await states.get(orgA);
      await licenseState().updateOne({ _id: orgA }, { $inc: { 'used.VIEWER': 1 } });
      expect(await states.setUsedIf(orgA, 'VIEWER', read, 0)).toBe(false);
      expect(await used('VIEWER')).toBe((read.used.VIEWER ?? 0) + 1);
      await licenseState().updateOne({ _id: orgA }, { $inc: { 'used.VIEWER': -1 } });
    });

    it('is refused to any caller but the CLI', async () => {
      const res = await postCommand(url, 'repair', {}, { secret: SECRET, service: SERVICE, from: 'org-users' });
      expect(res.status).toBe(403);
    });
  });
});
