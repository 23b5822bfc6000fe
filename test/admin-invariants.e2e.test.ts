/**
 * Issue 12, second review of org-users and licensing (the red team's holes in
 * the merged access policy): the last company admin through closeAccount, a
 * support admin's groups on every group write, the ADMIN check made at write
 * time, and the mutations reviewed again per caller kind.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningStack } from '@usergraph/cli';
import {
  ADMIN_PASSWORD,
  LOGIN,
  applicationToken,
  bearer,
  bootstrapOrganization,
  gql,
  login,
  removeDir,
  startTestStack,
  uniqueEmail,
  type GraphQLResponse,
} from './support/stack.js';

const PASSWORD = 'Rogue-Squadron-22';
const CREATE = `mutation($input: CreateUserInput!) { createUser(input: $input) { errors { path message } user { id licenses } } }`;
const UPDATE = `mutation($input: UpdateUserInput!) { updateUser(input: $input) { errors { path message } user { id licenses } } }`;
const CLOSE = `mutation($id: ID) { closeAccount(userId: $id) { id status } }`;
const SEATS = `{ currentOrganization { seatUsage { license used } } }`;
const CREATE_APP =
  `mutation($name: String!, $permissions: [String!]!) { createApplication(name: $name, permissions: ` +
  `$permissions) { application { clientId } clientSecret } }`;

const codeOf = (res: GraphQLResponse) => res.errors?.[0]?.extensions?.code;
const usedOf = (res: GraphQLResponse, license: string) =>
  (res.data!.currentOrganization.seatUsage as Array<{ license: string; used: number }>).find((s) => s.license === license)!.used;

describe('issue 12 review: company admins, support admins and group writes', () => {
  let stack: RunningStack;
  let dataDir: string;
  const url = () => stack.gatewayUrl;
  const as = (token: string, query: string, variables: Record<string, unknown> = {}) => gql(url(), query, variables, bearer(token));

  /** An organization with its bootstrap ADMIN signed in, and its application's token. */
  async function organization(slug: string, extra: string[] = []) {
    const boot = await bootstrapOrganization(dataDir, slug, extra);
    const admin = (await login(url(), slug, 'admin', ADMIN_PASSWORD)).jwt;
    const app = await applicationToken(url(), boot.application.clientId, boot.application.clientSecret);
    return { boot, admin, app, slug };
  }

  /** A user created by `by` with these licenses; signed in. */
  async function member(org: { admin: string; slug: string }, label: string, licenses: string[], groups = ['DEFAULT']) {
    const username = `${label}_${Math.random().toString(36).slice(2, 8)}`;
    const res = await as(org.admin, CREATE, {
      input: {
        user: { firstName: 'Wedge', lastName: 'Antilles', email: uniqueEmail(label), credentials: { username, password: PASSWORD } },
        requestedLicenses: licenses,
        requestedGroups: groups,
      },
    });
    expect(res.data!.createUser.errors).toEqual([]);
    const id = res.data!.createUser.user.id as string;
    return { id, username, jwt: (await login(url(), org.slug, username, PASSWORD)).jwt };
  }

  beforeAll(async () => {
    ({ stack, dataDir } = await startTestStack());
  });

  afterAll(async () => {
    await stack?.stop();
    if (!process.env.MONGODB_URI) removeDir(dataDir);
  });

  describe('the last company admin through closeAccount', () => {
    it('issue 12 review: the only ADMIN cannot close their own account, and can still sign in', async () => {
      const solo = await organization('solo');
      const res = await as(solo.admin, CLOSE, {});
      expect(codeOf(res)).toBe('CONFLICT');
      // Issue 13: the reason, not the words, says which refusal this is.
      expect(res.errors![0]!.extensions!.reason).toBe('LAST_COMPANY_ADMIN');
      expect(res.data?.closeAccount ?? null).toBeNull();
      const again = await login(url(), 'solo', 'admin', ADMIN_PASSWORD);
      const me = await as(again.jwt, `{ me { status licenses } }`);
      expect(me.data!.me).toEqual({ status: 'ACTIVE', licenses: ['ADMIN'] });
    });

    it('issue 12 review: nor can a second ADMIN close the only other one by id once they are the last (CONFLICT naming userId)', async () => {
      const org = await organization('duo');
      const second = await member(org, 'second', ['ADMIN']);
      const first = await as(second.jwt, CLOSE, { id: org.boot.admin.id });
      expect(first.errors).toBeUndefined();
      expect(first.data!.closeAccount.status).toBe('CLOSED');
      // The second ADMIN is now the last: closing themselves is refused.
      const self = await as(second.jwt, CLOSE, { id: second.id });
      expect(codeOf(self)).toBe('CONFLICT');
      expect(self.errors![0]!.extensions!.fields).toEqual([{ path: 'userId', message: expect.stringContaining('last') }]);
      expect(self.errors![0]!.extensions!.reason).toBe('LAST_COMPANY_ADMIN');
      expect(usedOf(await as(second.jwt, SEATS), 'ADMIN')).toBe(1);
    });

    it('issue 12 review: two ADMINs closing each other at once: at most one succeeds, and an ADMIN who can sign in remains', async () => {
      for (let round = 0; round < 3; round++) {
        const slug = `pair${round}`;
        const org = await organization(slug);
        const other = await member(org, 'other', ['ADMIN']);
        const [a, b] = await Promise.all([as(org.admin, CLOSE, { id: other.id }), as(other.jwt, CLOSE, { id: org.boot.admin.id })]);
        const closed = [a, b].filter((r) => r.data?.closeAccount?.status === 'CLOSED');
        expect(closed.length, `round ${round}`).toBeLessThanOrEqual(1);
        for (const r of [a, b]) if (!r.data?.closeAccount) expect(['CONFLICT', 'FORBIDDEN', 'UNAUTHENTICATED']).toContain(codeOf(r));
        // Whoever is left can still sign in and holds ADMIN.
        const survivors: string[] = [];
        for (const username of ['admin', other.username]) {
          const res = await gql(url(), LOGIN, {
            organizationSlug: slug,
            identifier: username,
            password: username === 'admin' ? ADMIN_PASSWORD : PASSWORD,
          });
          if (res.data?.login?.jwt) survivors.push(res.data.login.jwt);
        }
        expect(survivors.length, `round ${round}`).toBeGreaterThanOrEqual(1);
        const me = await as(survivors[0]!, `{ me { status licenses } }`);
        expect(me.data!.me).toEqual({ status: 'ACTIVE', licenses: ['ADMIN'] });
      }
    });

    it('issue 12 review: closing gives the seats back (licenses go, groups stay), and a CLOSED user gets no license again', async () => {
      const org = await organization('seats');
      const viewer = await member(org, 'viewer', ['VIEWER', 'ANALYST']);
      const before = await as(org.admin, SEATS);
      const closed = await as(org.app, CLOSE, { id: viewer.id });
      expect(closed.errors).toBeUndefined();
      const after = await as(org.admin, SEATS);
      expect(usedOf(after, 'VIEWER')).toBe(usedOf(before, 'VIEWER') - 1);
      expect(usedOf(after, 'ANALYST')).toBe(usedOf(before, 'ANALYST') - 1);
      const user = await as(org.admin, `query($id: ID!) { organizationUser(id: $id) { status licenses groups } }`, { id: viewer.id });
      expect(user.data!.organizationUser).toEqual({ status: 'CLOSED', licenses: [], groups: ['DEFAULT'] });
      // Licensing a closed account again would count an admin (or a seat) nobody can use.
      const relicense = await as(org.admin, UPDATE, { input: { id: viewer.id, requestedLicenses: ['ADMIN'] } });
      expect(relicense.data!.updateUser.errors).toEqual([{ path: ['id'], message: expect.stringContaining('closed') }]);
      expect(usedOf(await as(org.admin, SEATS), 'ADMIN')).toBe(1);
    });
  });

  describe("a support admin's groups are immutable to the organization", () => {
    let org: Awaited<ReturnType<typeof organization>>;
    let support: { id: string; jwt: string };

    beforeAll(async () => {
      org = await organization('ops');
      const boot = await bootstrapOrganization(dataDir, 'ops', [
        '--admin-email',
        'support@platform.test',
        '--admin-username',
        'support',
        '--support-admin',
      ]);
      support = { id: boot.admin.id, jwt: (await login(url(), 'ops', 'support', ADMIN_PASSWORD)).jwt };
      expect((await as(org.admin, `mutation { createGroup(name: "OPS") { name } }`)).errors).toBeUndefined();
      // The support admin (the operator) joins a group of their own accord.
      const joined = await as(support.jwt, `mutation($ids: [ID!]!) { addGroupMembers(name: "OPS", userIds: $ids) { memberCount } }`, {
        ids: [support.id],
      });
      expect(joined.errors).toBeUndefined();
    });

    it('issue 12 review: deleteGroup is refused while a support admin is a member (it would change their groups)', async () => {
      for (const token of [org.admin, org.app]) {
        const res = await as(token, `mutation { deleteGroup(name: "OPS") }`);
        expect(codeOf(res)).toBe('FORBIDDEN');
        expect(res.errors![0]!.extensions!.fields).toEqual([{ path: 'name', message: expect.stringContaining('support admin') }]);
        expect(res.errors![0]!.extensions!.reason).toBe('SUPPORT_ADMIN');
      }
      const me = await as(support.jwt, `{ me { groups } }`);
      expect(me.data!.me.groups).toEqual(['DEFAULT', 'OPS']);
      const groups = await as(org.admin, `{ groups { name memberCount } }`);
      expect(groups.data!.groups).toContainEqual({ name: 'OPS', memberCount: 1 });
    });

    it('issue 12 review: a support admin does not close their own account through the API (the operator removes it); it stays usable', async () => {
      const res = await as(support.jwt, CLOSE, { id: support.id });
      expect(codeOf(res)).toBe('CONFLICT');
      expect(res.errors![0]!.extensions!.fields).toEqual([{ path: 'userId', message: expect.stringContaining('support admin') }]);
      expect(res.errors![0]!.extensions!.reason).toBe('SUPPORT_ADMIN');
      expect((await as(support.jwt, `{ me { status licenses } }`)).data!.me).toEqual({ status: 'ACTIVE', licenses: ['ADMIN'] });
    });

    it('issue 12 review: renaming a group changes its name, not anyone\u2019s membership (allowed)', async () => {
      const res = await as(org.admin, `mutation { renameGroup(name: "OPS", newName: "OPERATIONS") { name memberCount } }`);
      expect(res.data!.renameGroup).toEqual({ name: 'OPERATIONS', memberCount: 1 });
      expect((await as(support.jwt, `{ me { groups } }`)).data!.me.groups).toEqual(['DEFAULT', 'OPERATIONS']);
      await as(org.admin, `mutation { renameGroup(name: "OPERATIONS", newName: "OPS") { name } }`);
    });

    it('issue 12 review: deleteGroup by an application without organization-users:admin is refused when an ADMIN is a member', async () => {
      await as(org.admin, `mutation { createGroup(name: "BOARD") { name } }`);
      const added = await as(org.admin, `mutation($ids: [ID!]!) { addGroupMembers(name: "BOARD", userIds: $ids) { memberCount } }`, {
        ids: [org.boot.admin.id],
      });
      expect(added.errors).toBeUndefined();
      const res = await as(org.app, `mutation { deleteGroup(name: "BOARD") }`);
      expect(codeOf(res)).toBe('FORBIDDEN');
      expect((await as(org.admin, `{ me { groups } }`)).data!.me.groups).toContain('BOARD');
      // An ADMIN may.
      const byAdmin = await as(org.admin, `mutation { deleteGroup(name: "BOARD") }`);
      expect(byAdmin.data!.deleteGroup).toBe(true);
      expect((await as(org.admin, `{ me { groups } }`)).data!.me.groups).not.toContain('BOARD');
    });
  });

  describe('the mutations again, per caller kind', () => {
    it('issue 12 review: capping ADMIN seats needs organization-users:admin (an application with :write could freeze who may be made ADMIN)', async () => {
      const org = await organization('caps');
      const res = await as(org.app, `mutation { setSeatCap(license: ADMIN, cap: 1) { license cap } }`);
      expect(codeOf(res)).toBe('FORBIDDEN');
      const capped = await as(org.app, `mutation { setSeatCap(license: VIEWER, cap: 5) { license cap } }`);
      expect(capped.errors).toBeUndefined();
      const admins = await as(org.admin, CREATE_APP, {
        name: 'Administrator',
        permissions: ['organization-users:write', 'organization-users:admin'],
      });
      const adminApp = await applicationToken(
        url(),
        admins.data!.createApplication.application.clientId,
        admins.data!.createApplication.clientSecret,
      );
      for (const token of [org.admin, adminApp]) {
        const ok = await as(token, `mutation { setSeatCap(license: ADMIN, cap: null) { license cap } }`);
        expect(ok.errors).toBeUndefined();
      }
    });

    it('issue 12 review: a member cannot change their own job title or email through updateUser (D: admin operations only)', async () => {
      const org = await organization('selfedit');
      const m = await member(org, 'member', ['VIEWER']);
      for (const user of [{ jobTitle: 'Chief Executive' }, { email: uniqueEmail('mine') }]) {
        const res = await as(m.jwt, UPDATE, { input: { id: m.id, user } });
        expect(codeOf(res)).toBe('FORBIDDEN');
      }
    });
  });
});
