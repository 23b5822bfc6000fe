/**
 * Issue 4 (D) and issue 5 through the gateway: createUser, users, members,
 * updateUser and deleteUsers with their rules, tenancy, concurrency, and the
 * batched federation joins.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Connection } from 'mongoose';
import type { RunningStack, BootstrapResult } from '@usergraph/cli';
import { D_CREATE_USER_EXAMPLE, D_FETCH_MEMBERS, D_USERS } from './support/seed-operations-d.js';
import {
  ADMIN_PASSWORD,
  applicationToken,
  bearer,
  bootstrapOrganization,
  gql,
  login,
  openDatabase,
  removeDir,
  startTestStack,
  uniqueEmail,
} from './support/stack.js';

const CREATE =
  `mutation($input: CreateUserInput!) { createUser(input: $input) { errors { path message fullMessage ` +
  `} user { id username email licenses groups originGroup } } }`;
const UPDATE =
  `mutation($input: UpdateUserInput!) { updateUser(input: $input) { errors { path message fullMessage ` +
  `} user { id email firstName phoneNumber jobTitle licenses groups originGroup } } }`;
const DELETE = `mutation($ids: [ID!]!) { deleteUsers(input: { ids: $ids }) { errors { path message fullMessage } deletedIds } }`;

describe('D: user administration', () => {
  let stack: RunningStack;
  let dataDir: string;
  let prefix: string;
  let acme: BootstrapResult;
  let adminJwt: string;
  let otherAdminJwt: string;
  let identityDb: Connection;
  let licensingDb: Connection;

  beforeAll(async () => {
    const started = await startTestStack({ env: { LOG_LEVEL: 'debug' } });
    ({ stack, dataDir } = started);
    prefix = started.options.databasePrefix ?? '';
    acme = await bootstrapOrganization(dataDir, 'acme');
    await bootstrapOrganization(dataDir, 'other');
    adminJwt = (await login(stack.gatewayUrl, 'acme', 'admin', ADMIN_PASSWORD)).jwt;
    otherAdminJwt = (await login(stack.gatewayUrl, 'other', 'admin', ADMIN_PASSWORD)).jwt;
    identityDb = await openDatabase(stack, prefix, 'identity');
    licensingDb = await openDatabase(stack, prefix, 'licensing');
    for (const name of ['JEDI', 'REBEL'])
      await gql(stack.gatewayUrl, `mutation { createGroup(name: "${name}") { name } }`, {}, bearer(adminJwt));
  });

  afterAll(async () => {
    await identityDb?.close();
    await licensingDb?.close();
    await stack?.stop();
    if (!process.env.MONGODB_URI) removeDir(dataDir);
  });

  const q = (query: string, variables: Record<string, unknown> = {}, jwt = adminJwt) =>
    gql(stack.gatewayUrl, query, variables, bearer(jwt));
  const newUser = (label: string, extra: Record<string, unknown> = {}) => ({
    user: {
      firstName: 'Leia',
      lastName: 'Organa',
      email: uniqueEmail(label),
      credentials: { username: `${label}_${Math.random().toString(36).slice(2, 8)}`, password: 'Alderaan-Forever-77' },
    },
    requestedLicenses: ['VIEWER'],
    requestedGroups: ['DEFAULT'],
    ...extra,
  });

  it("creates a user with D's example (annotations removed): profile, credentials and licenses", async () => {
    const res = await q(D_CREATE_USER_EXAMPLE);
    expect(res.errors).toBeUndefined();
    const payload = res.data!.createUser;
    // VIEWER may not have an origin group: D's rule, reported at its path, and nothing is written.
    expect(payload.user).toBeNull();
    expect(payload.errors).toEqual([
      {
        path: ['requestedOriginGroup'],
        message: 'is only allowed with an ADMIN or AUTHOR license',
        fullMessage: 'Requested origin group is only allowed with an ADMIN or AUTHOR license',
      },
    ]);
    expect(await identityDb.collection('credentials').countDocuments({ username: 'luke_skywalker' })).toBe(0);

    // The same example with a license that allows an origin group succeeds.
    const ok = await q(D_CREATE_USER_EXAMPLE.replace('[VIEWER]', '[AUTHOR, ANALYST]'));
    expect(ok.data!.createUser.errors).toEqual([]);
    expect(ok.data!.createUser.user).toMatchObject({ username: 'luke_skywalker', email: 'luke.skywalker@jedi.org' });
    const luke = await login(stack.gatewayUrl, 'acme', 'luke_skywalker', 'womprats!1977');
    const me = await q('{ me { licenses groups originGroup } }', {}, luke.jwt);
    expect(me.data!.me).toEqual({ licenses: ['AUTHOR', 'ANALYST'], groups: ['DEFAULT', 'JEDI', 'REBEL'], originGroup: 'DEFAULT' });
  });

  it('checks every rule before writing, and reports D-style errors', async () => {
    const before = await identityDb.collection('credentials').countDocuments();
    const bad = await q(CREATE, {
      input: {
        user: { firstName: '', lastName: 'X', email: 'nope', credentials: { username: 'a', password: 'password' } },
        requestedLicenses: ['AUTHOR', 'VIEWER'],
        requestedGroups: ['NOPE'],
      },
    });
    const paths = bad.data!.createUser.errors.map((e: { path: string[] }) => e.path.join('.'));
    expect(paths).toEqual(
      expect.arrayContaining([
        'user.firstName',
        'user.email',
        'user.credentials.username',
        'user.credentials.password',
        'requestedLicenses',
      ]),
    );
    for (const e of bad.data!.createUser.errors) expect(e.fullMessage.toLowerCase()).toContain(e.message.toLowerCase());
    expect(bad.data!.createUser.user).toBeNull();
    expect(await identityDb.collection('credentials').countDocuments()).toBe(before);
  });

  it('undoes the profile and credentials when a later step fails (username taken)', async () => {
    const first = newUser('dup');
    expect((await q(CREATE, { input: first })).data!.createUser.errors).toEqual([]);
    const second = newUser('dup2');
    second.user.credentials.username = first.user.credentials.username;
    const res = await q(CREATE, { input: second });
    expect(res.data!.createUser.errors).toEqual([
      expect.objectContaining({ path: ['user', 'credentials', 'username'], message: 'is already in use' }),
    ]);
    // The profile written before the conflict was removed, so its email is free again.
    const retry = await q(CREATE, {
      input: {
        ...second,
        user: { ...second.user, credentials: { ...second.user.credentials, username: `${first.user.credentials.username}x` } },
      },
    });
    expect(retry.data!.createUser.errors).toEqual([]);
  });

  it("searches the viewer's organization only, case-insensitively, with pagination", async () => {
    const res = await q(D_FETCH_MEMBERS, { first: 1, fullText: 'LUKE.SKYWALKER@JEDI.ORG' });
    expect(res.data!.viewer.currentOrganization.members.nodes).toEqual([
      { firstName: 'Luke', lastName: 'Skywalker', username: 'luke_skywalker', email: 'luke.skywalker@jedi.org' },
    ]);
    const byPrefix = await q('{ users(fullText: "sky", first: 10) { totalCount nodes { username } } }');
    expect(byPrefix.data!.users.nodes.map((n: { username: string }) => n.username)).toContain('luke_skywalker');
    const seed = await q(D_USERS);
    expect(seed.errors).toBeUndefined();
    expect(seed.data!.users.errors).toEqual([]);
    // Another organization never sees acme's users.
    const foreign = await q('{ users(fullText: "skywalker", first: 10) { totalCount nodes { id } } }', {}, otherAdminJwt);
    expect(foreign.data!.users.totalCount).toBe(0);
    // Pages: cursor pagination over everyone, nodes and edges agree, totalCount is the whole set.
    const page1 = await q(
      '{ users(first: 2) { totalCount edges { cursor node { id } } nodes { id } pageInfo { hasNextPage endCursor } } }',
    );
    const { totalCount, edges, nodes, pageInfo } = page1.data!.users;
    expect(totalCount).toBeGreaterThan(2);
    expect(nodes.map((n: { id: string }) => n.id)).toEqual(edges.map((e: { node: { id: string } }) => e.node.id));
    expect(pageInfo.hasNextPage).toBe(true);
    const page2 = await q('query($a: String) { users(first: 2, after: $a) { edges { node { id } } } }', { a: pageInfo.endCursor });
    expect(page2.data!.users.edges[0].node.id).not.toBe(edges[1].node.id);
    const badCursor = await q('{ users(first: 2, after: "garbage") { errors { path message } } }');
    expect(badCursor.data!.users.errors[0].path).toEqual(['after']);
  });

  it('updates every field of the seed’s variables block, with the same validation', async () => {
    const created = (await q(CREATE, { input: newUser('upd') })).data!.createUser.user;
    const res = await q(UPDATE, {
      input: {
        id: created.id,
        requestedGroups: ['DEFAULT', 'JEDI'],
        requestedLicenses: ['AUTHOR'],
        requestedOriginGroup: 'JEDI',
        user: { email: uniqueEmail('updated'), firstName: 'Leia', lastName: 'Solo', phone: '+1 415 555 2671', jobTitle: 'General' },
      },
    });
    expect(res.data!.updateUser.errors).toEqual([]);
    expect(res.data!.updateUser.user).toMatchObject({
      firstName: 'Leia',
      phoneNumber: '+14155552671',
      jobTitle: 'General',
      licenses: ['AUTHOR'],
      groups: ['DEFAULT', 'JEDI'],
      originGroup: 'JEDI',
    });
    const bad = await q(UPDATE, { input: { id: created.id, user: { email: 'bad', phone: '555-123-4567' } } });
    expect(bad.data!.updateUser.errors.map((e: { path: string[] }) => e.path.join('.'))).toEqual(['user.email', 'user.phone']);
    const foreign = await q(UPDATE, { input: { id: created.id, user: { firstName: 'Hacked' } } }, otherAdminJwt);
    expect(foreign.data!.updateUser.errors[0]).toMatchObject({ path: ['id'], message: 'does not name a user of your organization' });
  });

  it('refuses removing the last ADMIN through updateUser', async () => {
    const res = await q(UPDATE, { input: { id: acme.admin.id, requestedLicenses: ['VIEWER'] } });
    expect(res.data!.updateUser.errors, JSON.stringify(res.data!.updateUser.errors)).toHaveLength(1);
    expect(res.data!.updateUser.errors[0]).toMatchObject({
      path: ['requestedLicenses'],
      message: 'would remove the last ADMIN of the organization',
    });
  });

  it('deleteUsers: skips the caller, unknown and foreign ids, and reports them; revokes sessions, credentials and licenses', async () => {
    const victim = (await q(CREATE, { input: newUser('victim') })).data!.createUser.user;
    const foreignUser = (await q(CREATE, { input: newUser('foreign') }, otherAdminJwt)).data!.createUser.user;
    const res = await q(DELETE, { ids: [acme.admin.id, victim.id, '000000000000000000000000', foreignUser.id, 'not-an-id'] });
    const { errors, deletedIds } = res.data!.deleteUsers;
    expect(deletedIds).toEqual([victim.id]);
    expect(errors.map((e: { path: string[] }) => e.path.join('.'))).toEqual(['ids.0', 'ids.2', 'ids.3', 'ids.4']);
    expect(errors[0].message).toMatch(/yourself|themselves/);
    expect(await identityDb.collection('credentials').countDocuments({ _id: victim.id })).toBe(0);
    expect(await licensingDb.collection('assignments').countDocuments({ userId: victim.id })).toBe(0);
    // The foreign user is untouched.
    expect(await identityDb.collection('credentials').countDocuments({ _id: foreignUser.id })).toBe(1);
  });

  it('only admins (or applications with organization-users:write) administer users', async () => {
    const viewer = newUser('plain');
    await q(CREATE, { input: viewer });
    const plain = await login(stack.gatewayUrl, 'acme', viewer.user.credentials.username, viewer.user.credentials.password);
    expect((await q(CREATE, { input: newUser('x') }, plain.jwt)).errors![0]!.extensions?.code).toBe('FORBIDDEN');
    expect((await q(DELETE, { ids: [acme.admin.id] }, plain.jwt)).errors![0]!.extensions?.code).toBe('FORBIDDEN');
    // Members may read their organization.
    expect((await q('{ users(first: 1) { totalCount } }', {}, plain.jwt)).data!.users.totalCount).toBeGreaterThan(0);
  });

  it('joins 50 users with username, licenses and groups in one batched call per subgraph', async () => {
    const token = await applicationToken(stack.gatewayUrl, acme.application.clientId, acme.application.clientSecret);
    for (let i = 0; i < 50; i++) await gql(stack.gatewayUrl, CREATE, { input: newUser(`bulk${i}`) }, bearer(token));
    const res = await gql(stack.gatewayUrl, '{ users(first: 50) { nodes { username licenses groups } } }', {}, bearer(adminJwt));
    expect(res.data!.users.nodes).toHaveLength(50);
    expect(res.requestId).toBeTruthy();
    // Each subgraph logs one line per GraphQL operation it serves (debug level):
    // count the operations the gateway sent for this query.
    const count = (service: string) =>
      readFileSync(join(stack.logDir, `${service}.log`), 'utf8')
        .split('\n')
        .filter((l) => l.includes('"graphql operation"') && l.includes(`"requestId":"${res.requestId}"`)).length;
    expect(count('licensing')).toBe(1);
    expect(count('identity')).toBe(1);
    expect(count('org-users')).toBe(1);
  });
  it('never removes or strips a support admin, who does not count as a company admin', async () => {
    const support = await bootstrapOrganization(dataDir, 'support-co', ['--support-admin']);
    const supportJwt = (await login(stack.gatewayUrl, 'support-co', 'admin', ADMIN_PASSWORD)).jwt;
    const companyAdmin = (await q(CREATE, { input: newUser('boss', { requestedLicenses: ['ADMIN'] }) }, supportJwt)).data!.createUser.user;
    const bossJwt = (await login(stack.gatewayUrl, 'support-co', companyAdmin.username, 'Alderaan-Forever-77')).jwt;

    const removal = await q(DELETE, { ids: [support.admin.id] }, bossJwt);
    expect(removal.data!.deleteUsers).toEqual({
      deletedIds: [],
      errors: [expect.objectContaining({ path: ['ids', '0'], message: 'is a support admin and cannot be removed' })],
    });
    // Issue 12, finding 7: a support admin's account is the operator's, so the organization may not even try.
    const strip = await q(UPDATE, { input: { id: support.admin.id, requestedLicenses: ['VIEWER'] } }, bossJwt);
    expect(strip.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
    // The support admin is no company admin: the only company admin cannot go.
    const last = await q(DELETE, { ids: [companyAdmin.id] }, supportJwt);
    expect(last.data!.deleteUsers.errors[0]).toMatchObject({
      path: ['ids', '0'],
      message: 'is the last company admin (ADMIN license) and cannot be removed',
    });
  });

  // Last: the survivor may be any admin, so later tests could not rely on acme's first admin.
  it('parallel deleteUsers against all the admins always leave at least one ADMIN', async () => {
    const admins = [];
    for (let i = 0; i < 6; i++)
      admins.push((await q(CREATE, { input: newUser(`adm${i}`, { requestedLicenses: ['ADMIN'] }) })).data!.createUser.user);
    // Removing a company admin needs organization-users:admin (issue 12, finding 7), which an ADMIN gives an application explicitly.
    const minted = await q(
      `mutation { createApplication(name: "Admins", permissions: ["organization-users:write", ` +
        `"organization-users:admin"]) { application { clientId } clientSecret } }`,
    );
    const token = await applicationToken(
      stack.gatewayUrl,
      minted.data!.createApplication.application.clientId,
      minted.data!.createApplication.clientSecret,
    );
    const everyone = [acme.admin.id, ...admins.map((a) => a.id)];
    // Several callers race, each trying to delete every admin.
    await Promise.all([0, 1, 2].map(() => gql(stack.gatewayUrl, DELETE, { ids: everyone }, bearer(token))));
    const left = await licensingDb.collection('assignments').countDocuments({ organizationId: acme.organization.id, licenses: 'ADMIN' });
    expect(left).toBeGreaterThanOrEqual(1);
    expect(left).toBeLessThan(everyone.length);
  });
});
