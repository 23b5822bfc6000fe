/**
 * Issue 12, findings 3, 6 (pending users) and 7: the access policy of
 * apps/org-users/src/access-policy.ts and apps/licensing/src/access-policy.ts,
 * proved through the gateway as an attacker would try it, then as a matrix:
 * every caller kind × every User field × every operation that reaches a user.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { BootstrapResult, RunningStack } from '@usergraph/cli';
import { B_REGISTER, realisticRegisterVariables } from './support/seed-operations.js';
import {
  ADMIN_PASSWORD,
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

const MEMBER_PASSWORD = 'Rogue-Squadron-22';

/**
 * Every User field a client can select, with its class in the policy:
 * directory fields go to licensed colleagues, personal fields only to the
 * user, ADMINs and applications holding organization-users:read or :write.
 */
const USER_FIELDS: Record<string, { select: string; cls: 'directory' | 'personal' }> = {
  id: { select: 'id', cls: 'directory' },
  _id: { select: '_id', cls: 'directory' },
  email: { select: 'email', cls: 'directory' },
  firstName: { select: 'firstName', cls: 'directory' },
  lastName: { select: 'lastName', cls: 'directory' },
  name: { select: 'name', cls: 'directory' },
  username: { select: 'username', cls: 'directory' },
  jobTitle: { select: 'jobTitle', cls: 'directory' },
  status: { select: 'status', cls: 'directory' },
  organization: { select: 'organization { slug }', cls: 'directory' },
  createdAt: { select: 'createdAt', cls: 'directory' },
  updatedAt: { select: 'updatedAt', cls: 'directory' },
  licenses: { select: 'licenses', cls: 'directory' },
  groups: { select: 'groups', cls: 'directory' },
  originGroup: { select: 'originGroup', cls: 'directory' },
  phoneNumber: { select: 'phoneNumber', cls: 'personal' },
  telephone: { select: 'telephone', cls: 'personal' },
  organisation: { select: 'organisation', cls: 'personal' },
  taxNumber: { select: 'taxNumber', cls: 'personal' },
  isSubscribed: { select: 'isSubscribed', cls: 'personal' },
  dateOfBirth: { select: 'dateOfBirth', cls: 'personal' },
  addresses: { select: 'addresses { city }', cls: 'personal' },
  address: { select: 'address { addressLine1 postCode }', cls: 'personal' },
  syncedAt: { select: 'syncedAt', cls: 'personal' },
  closedAt: { select: 'closedAt', cls: 'personal' },
  legalName: { select: 'legalName { first middle last }', cls: 'personal' },
  nationalIdLast4: { select: 'nationalIdLast4', cls: 'personal' },
  visitorId: { select: 'visitorId', cls: 'personal' },
  notificationPreferences: { select: 'notificationPreferences { email sms push }', cls: 'personal' },
  legalAgreementVersions: { select: 'legalAgreementVersions { version }', cls: 'personal' },
  connections: { select: 'connections(input: { first: 5 }) { totalCount }', cls: 'personal' },
  connection: { select: 'connection(input: { first: 5 }) { totalCount }', cls: 'personal' },
  tradelines: { select: 'tradelines(input: { first: 5 }) { totalCount }', cls: 'personal' },
};
const ALL_FIELDS = Object.values(USER_FIELDS)
  .map((f) => f.select)
  .join('\n');

/** The victim's personal data: what a stranger must never read. */
const VICTIM_PERSONAL = {
  dateOfBirth: '1988-04-17',
  nationalIdLast4: '8841',
  phoneNumber: '+14155550177',
  address: { addressLine1: '500 Howard Street', postCode: '94105' },
};

const REGISTER_A = `mutation($input: RegisterOrganizationUserInput!) { registerOrganizationUser(input: $input) { user { id } } }`;
const CREATE = `mutation($input: CreateUserInput!) { createUser(input: $input) { errors { path message } user { id licenses } } }`;
const UPDATE = `mutation($input: UpdateUserInput!) { updateUser(input: $input) { errors { path message } user { id email licenses } } }`;
const DELETE = `mutation($ids: [ID!]!) { deleteUsers(input: { ids: $ids }) { errors { path message } deletedIds } }`;
const CREATE_APP =
  `mutation($name: String!, $permissions: [String!]!) { createApplication(name: $name, permissions: ` +
  `$permissions) { application { clientId permissions } clientSecret } }`;

const codeOf = (res: GraphQLResponse) => res.errors?.[0]?.extensions?.code;
const errorAt = (res: GraphQLResponse, path: Array<string | number>) =>
  res.errors?.find((e) => JSON.stringify(e.path) === JSON.stringify(path));

describe('issue 12: one access policy for users, licenses and groups', () => {
  let stack: RunningStack;
  let dataDir: string;
  let shop: BootstrapResult;
  let support: BootstrapResult;
  const jwt: Record<string, string> = {};
  const ids: Record<string, string> = {};

  const url = () => stack.gatewayUrl;
  const as = (who: string | undefined, query: string, variables: Record<string, unknown> = {}, headers: Record<string, string> = {}) =>
    gql(url(), query, variables, { ...(who ? bearer(jwt[who]!) : {}), ...headers });

  async function newApp(name: string, permissions: string[]) {
    const res = await as('admin', CREATE_APP, { name, permissions });
    expect(res.errors).toBeUndefined();
    const { application, clientSecret } = res.data!.createApplication;
    return applicationToken(url(), application.clientId, clientSecret);
  }

  async function createMember(label: string, licenses: string[], by = 'admin') {
    const username = `${label}_${Math.random().toString(36).slice(2, 8)}`;
    const res = await as(by, CREATE, {
      input: {
        user: { firstName: 'Wedge', lastName: 'Antilles', email: uniqueEmail(label), credentials: { username, password: MEMBER_PASSWORD } },
        requestedLicenses: licenses,
        requestedGroups: ['DEFAULT'],
      },
    });
    return { res, username };
  }

  beforeAll(async () => {
    const started = await startTestStack();
    ({ stack, dataDir } = started);
    // An organization that asked for self-signup, so B's customers can register themselves.
    shop = await bootstrapOrganization(dataDir, 'shop', ['--self-signup']);
    support = await bootstrapOrganization(dataDir, 'shop', [
      '--admin-email',
      'support@platform.test',
      '--admin-username',
      'support',
      '--support-admin',
    ]);
    ids.admin = shop.admin.id;
    ids.support = support.admin.id;
    jwt.admin = (await login(url(), 'shop', 'admin', ADMIN_PASSWORD)).jwt;
    jwt.support = (await login(url(), 'shop', 'support', ADMIN_PASSWORD)).jwt;
    jwt.app = await applicationToken(url(), shop.application.clientId, shop.application.clientSecret);
    jwt.readApp = await newApp('Reader', ['organization-users:read']);
    jwt.writeApp = await newApp('Writer', ['organization-users:write']);
    jwt.registerApp = await newApp('Signup', ['users:register']);
    // Given organization-users:admin explicitly by an ADMIN user.
    jwt.adminApp = await newApp('Administrator', ['organization-users:write', 'organization-users:admin']);

    // A licensed member (VIEWER), created by the admin.
    const member = await createMember('member', ['VIEWER']);
    expect(member.res.data!.createUser.errors).toEqual([]);
    ids.member = member.res.data!.createUser.user.id;
    jwt.member = (await login(url(), 'shop', member.username, MEMBER_PASSWORD)).jwt;

    // B's customer: anonymous self-signup, no license.
    const customer = await gql(
      url(),
      B_REGISTER,
      { ...realisticRegisterVariables(uniqueEmail('customer')), telephone: null },
      { 'x-organization-slug': 'shop' },
    );
    expect(customer.errors).toBeUndefined();
    ids.consumer = customer.data!.register.user.id;
    jwt.consumer = customer.data!.register.session.jwt;

    // A pending user (withVerificationCode), then given a license: still no member access until verified.
    const pending = await gql(
      url(),
      B_REGISTER,
      { ...realisticRegisterVariables(uniqueEmail('pending')), telephone: null, withVerificationCode: true },
      { 'x-organization-slug': 'shop' },
    );
    expect(pending.errors).toBeUndefined();
    ids.pending = pending.data!.register.user.id;
    jwt.pending = pending.data!.register.session.jwt;
    const licensed = await as('admin', UPDATE, { input: { id: ids.pending, requestedLicenses: ['VIEWER'] } });
    expect(licensed.data!.updateUser.errors).toEqual([]);

    // The victim: A's consumer with the whole personal profile and a connection.
    const victim = await as('app', REGISTER_A, {
      input: {
        organizationSlug: 'shop',
        email: uniqueEmail('victim'),
        phoneNumber: VICTIM_PERSONAL.phoneNumber,
        name: { first: 'María', middle: 'Elena', last: 'García' },
        address: { addressLine1: '500 Howard Street', city: 'San Francisco', stateCode: 'CA', postCode: '94105', alpha2: 'US' },
        dateOfBirth: { year: 1988, month: 4, day: 17 },
        nationalId: '536-22-8841',
      },
    });
    expect(victim.errors).toBeUndefined();
    ids.victim = victim.data!.registerOrganizationUser.user.id;
    const connection = await as('app', `mutation($input: RecordConnectionInput!) { recordConnection(input: $input) { id } }`, {
      input: { userId: ids.victim, institutionName: 'First Bank' },
    });
    expect(connection.errors).toBeUndefined();
  });

  afterAll(async () => {
    await stack?.stop();
    if (!process.env.MONGODB_URI) removeDir(dataDir);
  });

  describe('finding 3: strangers and the directory', () => {
    it('finding 3: an organization bootstrapped with the defaults refuses anonymous self-signup', async () => {
      await bootstrapOrganization(dataDir, 'closed-by-default');
      const res = await gql(
        url(),
        B_REGISTER,
        { ...realisticRegisterVariables(uniqueEmail('stranger')), telephone: null },
        { 'x-organization-slug': 'closed-by-default' },
      );
      // Answered as an unknown organization would be (second pass, finding 2: no existence oracle).
      expect(codeOf(res)).toBe('BAD_USER_INPUT');
      expect(res.data?.register ?? null).toBeNull();
      // The development `public` organization keeps self-signup on.
      const open = await gql(url(), B_REGISTER, { ...realisticRegisterVariables(uniqueEmail('public')), telephone: null });
      expect(open.errors).toBeUndefined();
    });

    it("finding 3: a self-signed-up customer lists only themselves, and reads no one's personal data", async () => {
      const list = await as(
        'consumer',
        `{ users(first: 50) { totalCount nodes { id email phoneNumber dateOfBirth address { addressLine1 } licenses } } }`,
      );
      expect(list.errors).toBeUndefined();
      expect(list.data!.users.totalCount).toBe(1);
      expect(list.data!.users.nodes.map((n: { id: string }) => n.id)).toEqual([ids.consumer]);
      const members = await as(
        'consumer',
        `{ viewer { currentOrganization { members(first: 50) { totalCount nodes { id email phoneNumber } } } } }`,
      );
      expect(members.data!.viewer.currentOrganization.members.nodes.map((n: { id: string }) => n.id)).toEqual([ids.consumer]);
      expect(members.data!.viewer.currentOrganization.members.totalCount).toBe(1);
      const direct = await as('consumer', `query($id: ID!) { organizationUser(id: $id) { id email dateOfBirth } }`, { id: ids.victim });
      expect(direct.data?.organizationUser ?? null).toBeNull();
      expect(codeOf(direct)).toBe('FORBIDDEN');
      // Searching a victim's name or email finds nothing either.
      const search = await as('consumer', `{ users(fullText: "garcía", first: 50) { totalCount nodes { id } } }`);
      expect(search.data!.users).toEqual({ totalCount: 0, nodes: [] });
      expect(JSON.stringify([list, members, direct, search])).not.toContain('1988-04-17');
    });

    it('finding 3: a licensed member sees colleagues\u2019 directory fields, never their personal data', async () => {
      const res = await as(
        'member',
        `{ users(first: 50) { nodes { id email firstName phoneNumber dateOfBirth nationalIdLast4 address { postCode } } } }`,
      );
      const nodes = res.data!.users.nodes as Array<Record<string, unknown>>;
      const i = nodes.findIndex((n) => n.id === ids.victim);
      expect(i).toBeGreaterThanOrEqual(0);
      expect(nodes[i]).toEqual({
        id: ids.victim,
        email: expect.any(String),
        firstName: 'María',
        phoneNumber: null,
        dateOfBirth: null,
        nationalIdLast4: null,
        address: null,
      });
      for (const field of ['phoneNumber', 'dateOfBirth', 'nationalIdLast4', 'address'])
        expect(errorAt(res, ['users', 'nodes', i, field])?.extensions?.code).toBe('FORBIDDEN');
      expect(JSON.stringify(res)).not.toContain('1988-04-17');
    });

    it('finding 3: fullText only searches directory fields, so a phone number or birth date probes nothing', async () => {
      for (const probe of ['+1415555', '14155550177', '1988', '8841', '94105']) {
        const res = await as('member', `query($q: String) { users(fullText: $q, first: 5) { totalCount } }`, { q: probe });
        expect(res.data!.users.totalCount).toBe(0);
      }
    });

    it('finding 3: an application without organization-users:read or :write reads no user', async () => {
      const list = await as('registerApp', `{ users(first: 5) { totalCount } }`);
      expect(codeOf(list)).toBe('FORBIDDEN');
      const one = await as('registerApp', `query($id: ID!) { organizationUser(id: $id) { id } }`, { id: ids.victim });
      expect(codeOf(one)).toBe('FORBIDDEN');
    });

    it('finding 3: a customer cannot read the groups and seat usage of the organization', async () => {
      const groups = await as('consumer', `{ groups { name memberCount } }`);
      expect(codeOf(groups)).toBe('FORBIDDEN');
      const seats = await as('consumer', `{ currentOrganization { seatUsage { license used } groups { name } } }`);
      expect(codeOf(seats)).toBe('FORBIDDEN');
      const asMember = await as('member', `{ groups { name } }`);
      expect(asMember.errors).toBeUndefined();
    });
  });

  describe('finding 6: a pending user (PENDING_VERIFICATION) is kept to themselves', () => {
    it('finding 6: even with a license, a pending user lists only themselves and reads no colleague', async () => {
      const list = await as('pending', `{ users(first: 50) { totalCount nodes { id } } }`);
      expect(list.data!.users).toEqual({ totalCount: 1, nodes: [{ id: ids.pending }] });
      const other = await as('pending', `query($id: ID!) { organizationUser(id: $id) { id email } }`, { id: ids.member });
      expect(codeOf(other)).toBe('FORBIDDEN');
      const groups = await as('pending', `{ groups { name } }`);
      expect(codeOf(groups)).toBe('FORBIDDEN');
    });

    it('finding 6: a pending user reads and updates themselves', async () => {
      const me = await as('pending', `{ me { id status email phoneNumber addresses { city } licenses } }`);
      expect(me.errors).toBeUndefined();
      expect(me.data!.me).toMatchObject({ id: ids.pending, status: 'PENDING_VERIFICATION', licenses: ['VIEWER'] });
      const prefs = await as(
        'pending',
        `mutation { updateNotificationPreferences(input: { email: true }) { notificationPreferences { email } } }`,
      );
      expect(prefs.errors).toBeUndefined();
      expect(prefs.data!.updateNotificationPreferences.notificationPreferences.email).toBe(true);
      const agreement = await as('pending', `mutation { acceptLegalAgreement(version: "2024-01") { legalAgreementVersions { version } } }`);
      expect(agreement.errors).toBeUndefined();
    });

    it('finding 6: a pending ADMIN has no admin power until verified', async () => {
      const res = await as('admin', UPDATE, { input: { id: ids.pending, requestedLicenses: ['ADMIN'], requestedGroups: ['DEFAULT'] } });
      expect(res.data!.updateUser.errors).toEqual([]);
      try {
        const created = await createMember('by_pending', ['VIEWER'], 'pending');
        expect(codeOf(created.res)).toBe('FORBIDDEN');
        const cap = await as('pending', `mutation { setSeatCap(license: VIEWER, cap: 100) { license } }`);
        expect(codeOf(cap)).toBe('FORBIDDEN');
        const apps = await as('pending', `{ applications { clientId } }`);
        expect(codeOf(apps)).toBe('FORBIDDEN');
      } finally {
        const back = await as('admin', UPDATE, { input: { id: ids.pending, requestedLicenses: ['VIEWER'], requestedGroups: ['DEFAULT'] } });
        expect(back.data!.updateUser.errors).toEqual([]);
      }
    });
  });

  describe('finding 7a: granting ADMIN needs organization-users:admin', () => {
    it('finding 7a: an application with organization-users:write cannot create an ADMIN with a password it chose', async () => {
      const { res, username } = await createMember('planted', ['ADMIN'], 'app');
      expect(codeOf(res)).toBe('FORBIDDEN');
      expect(res.data?.createUser ?? null).toBeNull();
      const loginAttempt = await gql(
        url(),
        `mutation($i: String!, $p: String!) { login(organizationSlug: "shop", identifier: $i, password: $p) { jwt } }`,
        { i: username, p: MEMBER_PASSWORD },
      );
      expect(loginAttempt.data?.login ?? null).toBeNull();
    });

    it('finding 7a: nor promote a user to ADMIN, nor touch an ADMIN\u2019s email, account or seat', async () => {
      const promote = await as('app', UPDATE, { input: { id: ids.member, requestedLicenses: ['ADMIN'], requestedGroups: ['DEFAULT'] } });
      expect(codeOf(promote)).toBe('FORBIDDEN');
      const email = await as('app', UPDATE, { input: { id: ids.admin, user: { email: uniqueEmail('hijack') } } });
      expect(codeOf(email)).toBe('FORBIDDEN');
      const remove = await as('app', DELETE, { ids: [ids.admin] });
      expect(remove.data!.deleteUsers.deletedIds).toEqual([]);
      expect(remove.data!.deleteUsers.errors).toEqual([
        { path: ['ids', '0'], message: expect.stringContaining('organization-users:admin') },
      ]);
      const close = await as('app', `mutation($id: ID) { closeAccount(userId: $id) { status } }`, { id: ids.admin });
      expect(codeOf(close)).toBe('FORBIDDEN');
      const groups = await as('app', `mutation($ids: [ID!]!) { removeGroupMembers(name: "DEFAULT", userIds: $ids) { name } }`, {
        ids: [ids.admin],
      });
      expect(codeOf(groups)).toBe('FORBIDDEN');
      const me = await as('admin', `{ me { email status licenses } }`);
      expect(me.data!.me).toEqual({ email: 'admin@shop.test', status: 'ACTIVE', licenses: ['ADMIN'] });
    });

    it('finding 7a: an ADMIN user holds organization-users:admin, and may hand it to an application explicitly', async () => {
      const { res } = await createMember('second_admin', ['ADMIN']);
      expect(res.data!.createUser.errors).toEqual([]);
      const { res: byApp } = await createMember('third_admin', ['ADMIN'], 'adminApp');
      expect(byApp.data!.createUser.errors).toEqual([]);
      expect(byApp.data!.createUser.user.licenses).toEqual(['ADMIN']);
    });

    it('finding 7a: bootstrap gives its application no organization-users:admin, and an application cannot manage applications', async () => {
      const apps = await as('admin', `{ applications { clientId permissions } }`);
      const bootstrapped = (apps.data!.applications as Array<{ clientId: string; permissions: string[] }>).find(
        (a) => a.clientId === shop.application.clientId,
      )!;
      expect(bootstrapped.permissions).not.toContain('organization-users:admin');
      const mint = await as('app', CREATE_APP, {
        name: 'All',
        permissions: ['users:register', 'organization-users:write', 'organization-users:read', 'organization-users:admin'],
      });
      expect(codeOf(mint)).toBe('FORBIDDEN');
      const widen = await as(
        'app',
        `mutation($id: ID!) { setApplicationPermissions(clientId: $id, permissions: ["organization-users:admin"]) { permissions } }`,
        { id: shop.application.clientId },
      );
      expect(codeOf(widen)).toBe('FORBIDDEN');
      // Nor can its client credentials ask for a scope it was not given.
      await expect(
        applicationToken(url(), shop.application.clientId, shop.application.clientSecret, 'organization-users:admin'),
      ).rejects.toThrow(/invalid_scope/);
    });
  });

  describe("finding 7b: a support admin's account is immutable to the organization", () => {
    it("finding 7b: the organization's ADMIN cannot change a support admin's email (the first step of the takeover)", async () => {
      const res = await as('admin', UPDATE, { input: { id: ids.support, user: { email: uniqueEmail('takeover') } } });
      expect(codeOf(res)).toBe('FORBIDDEN');
      const me = await as('support', `{ me { email } }`);
      expect(me.data!.me.email).toBe('support@platform.test');
    });

    it('finding 7b: nor any other write that names the support admin', async () => {
      const attempts: Array<[string, string, Record<string, unknown>]> = [
        ['admin', UPDATE, { input: { id: ids.support, user: { firstName: 'Mallory' } } }],
        ['adminApp', UPDATE, { input: { id: ids.support, user: { phone: '+14155550100' } } }],
        ['admin', `mutation($id: ID) { closeAccount(userId: $id) { status } }`, { id: ids.support }],
        ['admin', `mutation($id: ID) { acceptLegalAgreement(version: "evil", userId: $id) { id } }`, { id: ids.support }],
        ['admin', `mutation($id: ID) { updateNotificationPreferences(input: { sms: true }, userId: $id) { id } }`, { id: ids.support }],
        ['adminApp', `mutation($id: ID!) { markUserSynced(userId: $id) { id } }`, { id: ids.support }],
        [
          'adminApp',
          `mutation($input: RecordConnectionInput!) { recordConnection(input: $input) { id } }`,
          { input: { userId: ids.support, institutionName: 'Evil Bank' } },
        ],
        ['admin', `mutation($ids: [ID!]!) { addGroupMembers(name: "DEFAULT", userIds: $ids) { name } }`, { ids: [ids.support] }],
        ['admin', `mutation($ids: [ID!]!) { removeGroupMembers(name: "DEFAULT", userIds: $ids) { name } }`, { ids: [ids.support] }],
      ];
      for (const [who, query, variables] of attempts) {
        const res = await as(who, query, variables);
        expect(codeOf(res), query).toBe('FORBIDDEN');
      }
      const me = await as(
        'support',
        `{ me { firstName phoneNumber status syncedAt legalAgreementVersions { version } ` +
          `notificationPreferences { sms } connections(input: { first: 1 }) { totalCount } groups } }`,
      );
      expect(me.data!.me).toEqual({
        firstName: 'Organization',
        phoneNumber: null,
        status: 'ACTIVE',
        syncedAt: null,
        legalAgreementVersions: [],
        notificationPreferences: { sms: false },
        connections: { totalCount: 0 },
        groups: ['DEFAULT'],
      });
    });

    it('finding 7b: the support admin still manages their own account', async () => {
      const res = await as(
        'support',
        `mutation { updateNotificationPreferences(input: { push: true }) { notificationPreferences { push } } }`,
      );
      expect(res.errors).toBeUndefined();
      const back = await as(
        'support',
        `mutation { updateNotificationPreferences(input: { push: false }) { notificationPreferences { push } } }`,
      );
      expect(back.errors).toBeUndefined();
    });
  });

  describe('cross-tenant ids', () => {
    it("another organization's admin and application reach none of this organization's users", async () => {
      const other = await bootstrapOrganization(dataDir, 'rival');
      jwt.rivalAdmin = (await login(url(), 'rival', 'admin', ADMIN_PASSWORD)).jwt;
      jwt.rivalApp = await applicationToken(url(), other.application.clientId, other.application.clientSecret);
      for (const who of ['rivalAdmin', 'rivalApp']) {
        const read = await as(who, `query($id: ID!) { organizationUser(id: $id) { id } }`, { id: ids.victim });
        expect(read.data?.organizationUser ?? null).toBeNull();
        const write = await as(who, UPDATE, { input: { id: ids.member, user: { firstName: 'X' } } });
        expect(write.data!.updateUser.errors).toEqual([{ path: ['id'], message: 'does not name a user of your organization' }]);
        const group = await as(who, `mutation($ids: [ID!]!) { addGroupMembers(name: "DEFAULT", userIds: $ids) { name } }`, {
          ids: [ids.member],
        });
        expect(codeOf(group)).toBe('BAD_USER_INPUT');
        const sync = await as(who, `mutation($id: ID!) { markUserSynced(userId: $id) { id } }`, { id: ids.victim });
        expect(codeOf(sync)).toBe('NOT_FOUND');
      }
    });
  });

  describe('list arguments', () => {
    it('issue 12 review: deleteUsers and group membership take at most 100 ids per call', async () => {
      const many = Array.from({ length: 101 }, (_, i) => i.toString(16).padStart(24, '0'));
      const removal = await as('admin', DELETE, { ids: many });
      expect(removal.data!.deleteUsers).toEqual({ deletedIds: [], errors: [{ path: ['ids'], message: 'must hold at most 100 ids' }] });
      const added = await as('admin', `mutation($ids: [ID!]!) { addGroupMembers(name: "DEFAULT", userIds: $ids) { name } }`, { ids: many });
      expect(codeOf(added)).toBe('BAD_USER_INPUT');
      expect(added.errors?.[0]?.extensions?.fields).toEqual([{ path: 'userIds', message: 'must hold at most 100 ids' }]);
    });
  });

  describe('the matrix: every caller × every User field × every operation', () => {
    type Expect = 'all' | 'directory' | 'none' | 'unauthenticated' | 'forbidden';
    /** What each caller may read of the victim (another user of the organization). */
    const CALLERS: Record<string, Expect> = {
      anonymous: 'unauthenticated',
      consumer: 'none',
      pending: 'none',
      member: 'directory',
      admin: 'all',
      support: 'all',
      app: 'all',
      readApp: 'all',
      writeApp: 'all',
      registerApp: 'forbidden',
    };
    const OPERATIONS: Record<string, { query: string; nodes: (data: any) => any[] | null; path: (i: number) => Array<string | number> }> = {
      users: {
        query: `{ users(first: 100) { totalCount nodes { ${ALL_FIELDS} } } }`,
        nodes: (d) => d?.users?.nodes ?? null,
        path: (i) => ['users', 'nodes', i],
      },
      members: {
        query: `{ viewer { currentOrganization { members(first: 100) { totalCount nodes { ${ALL_FIELDS} } } } } }`,
        nodes: (d) => d?.viewer?.currentOrganization?.members?.nodes ?? null,
        path: (i) => ['viewer', 'currentOrganization', 'members', 'nodes', i],
      },
      organizationUser: {
        query: `query($id: ID!) { organizationUser(id: $id) { ${ALL_FIELDS} } }`,
        nodes: (d) => (d?.organizationUser ? [d.organizationUser] : null),
        path: () => ['organizationUser'],
      },
    };

    for (const [caller, expected] of Object.entries(CALLERS)) {
      for (const [operation, op] of Object.entries(OPERATIONS)) {
        it(`${caller} × ${operation} × every field of another user: ${expected}`, async () => {
          const res = await as(caller === 'anonymous' ? undefined : caller, op.query, { id: ids.victim });
          if (expected === 'unauthenticated' || expected === 'forbidden') {
            expect(codeOf(res)).toBe(expected === 'unauthenticated' ? 'UNAUTHENTICATED' : 'FORBIDDEN');
            expect(JSON.stringify(res.data ?? null)).not.toContain(ids.victim);
            return;
          }
          const nodes = op.nodes(res.data);
          if (expected === 'none') {
            // Lists hold only the caller; a direct read is refused.
            if (operation === 'organizationUser') expect(codeOf(res)).toBe('FORBIDDEN');
            else expect(nodes!.map((n: { id: string }) => n.id)).toEqual([ids[caller]]);
            expect(JSON.stringify(res.data ?? null)).not.toContain(ids.victim);
            return;
          }
          const i = nodes!.findIndex((n: { id: string }) => n.id === ids.victim);
          expect(i, 'the victim is listed').toBeGreaterThanOrEqual(0);
          const node = nodes![i];
          for (const [field, { cls }] of Object.entries(USER_FIELDS)) {
            const error = errorAt(res, [...op.path(i), field]);
            if (expected === 'all' || cls === 'directory') {
              expect(error, `${caller} reads ${field}`).toBeUndefined();
            } else {
              expect(node[field], `${caller} must not read ${field}`).toBeNull();
              expect(error?.extensions?.code, `${caller} is refused ${field}`).toBe('FORBIDDEN');
            }
          }
          if (expected === 'all') expect(node).toMatchObject(VICTIM_PERSONAL);
          else expect(JSON.stringify(res)).not.toMatch(/1988-04-17|8841|Howard|\+14155550177/);
        });
      }
    }

    for (const caller of ['consumer', 'pending', 'member', 'admin', 'support']) {
      it(`${caller} × me × every field of themselves: all`, async () => {
        const res = await as(caller, `{ me { ${ALL_FIELDS} } }`);
        expect(res.errors).toBeUndefined();
        expect(res.data!.me.id).toBe(ids[caller]);
      });
    }

    // Second pass, finding 5: identity answers `username` (a directory field) by the same rule
    // when called directly, without the gateway and org-users' policy in front.
    const USERNAME_READERS: Record<string, 'username' | 'forbidden' | 'unauthenticated'> = {
      anonymous: 'unauthenticated',
      consumer: 'forbidden',
      pending: 'forbidden',
      registerApp: 'forbidden',
      member: 'username',
      admin: 'username',
      support: 'username',
      app: 'username',
      readApp: 'username',
      writeApp: 'username',
    };
    for (const [caller, expected] of Object.entries(USERNAME_READERS)) {
      it(`${caller} × identity's _entities(User) { username } of a colleague, called directly: ${expected}`, async () => {
        const target = caller === 'admin' ? ids.member! : ids.admin!;
        const res = await gql(
          `${stack.urls.identity}/graphql`,
          `query($r: [_Any!]!) { _entities(representations: $r) { ... on User { id username } } }`,
          { r: [{ __typename: 'User', id: target }] },
          caller === 'anonymous' ? {} : bearer(jwt[caller]!),
        );
        if (expected === 'username') {
          expect(res.errors).toBeUndefined();
          expect(res.data!._entities[0]).toEqual({ id: target, username: expect.any(String) });
        } else {
          expect(codeOf(res)).toBe(expected === 'forbidden' ? 'FORBIDDEN' : 'UNAUTHENTICATED');
          expect(res.data?._entities?.[0] ?? null).toBeNull();
        }
      });
    }

    for (const caller of ['consumer', 'pending']) {
      it(`${caller} × identity's _entities(User) { username } of themselves: allowed`, async () => {
        const res = await gql(
          `${stack.urls.identity}/graphql`,
          `query($r: [_Any!]!) { _entities(representations: $r) { ... on User { id username } } }`,
          { r: [{ __typename: 'User', id: ids[caller] }] },
          bearer(jwt[caller]!),
        );
        expect(res.errors).toBeUndefined();
        expect(res.data!._entities).toEqual([{ id: ids[caller], username: null }]);
      });
    }

    it('applications have no `me`; anonymous callers are UNAUTHENTICATED', async () => {
      expect((await as('app', `{ me { id } }`)).data!.me).toBeNull();
      expect(codeOf(await as(undefined, `{ me { id } }`))).toBe('UNAUTHENTICATED');
    });

    it('totalCount agrees with the list: self-only callers count 1, others the whole organization', async () => {
      const count = async (who: string) => (await as(who, `{ users(first: 0) { totalCount } }`)).data!.users.totalCount as number;
      const all = await count('admin');
      expect(all).toBeGreaterThanOrEqual(6);
      expect(await count('member')).toBe(all);
      expect(await count('readApp')).toBe(all);
      expect(await count('consumer')).toBe(1);
      expect(await count('pending')).toBe(1);
    });
  });
});
