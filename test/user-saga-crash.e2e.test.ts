/**
 * The user sagas (@usergraph/user-lifecycle) are crash-safe at every step.
 * For each point between two writes, the service hosting the saga is killed
 * there (FAULT_INJECTION), restarted, and `usergraph reconcile` run; then no
 * orphan is left in any service, the seats are back, and the same email and
 * username can be used again:
 * - D's createUser (hosted by org-users): after the profile, the credentials,
 *   the licenses, and before activate;
 * - B's register (hosted by identity): after the profile, the credentials,
 *   and before activate;
 * - bootstrap's first admin (hosted by identity): after the licenses;
 * - D's deleteUsers (hosted by org-users): after the mark, the licenses and
 *   the credentials; reconcile finishes the deletion.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Connection } from 'mongoose';
import type { RunningStack, BootstrapResult } from '@usergraph/cli';
import {
  ADMIN_PASSWORD,
  bearer,
  bootstrapOrganization,
  crash,
  gql,
  login,
  openDatabase,
  reconcile,
  removeDir,
  startTestStack,
  uniqueEmail,
} from './support/stack.js';

const CREATE = `mutation($input: CreateUserInput!) { createUser(input: $input) { errors { path message } user { id } } }`;
const DELETE = `mutation($ids: [ID!]!) { deleteUsers(input: { ids: $ids }) { errors { path message } deletedIds } }`;
const REGISTER = `mutation($email: String!) {
  register(email: $email, password: "Rogue-Squadron-22", firstName: "Wedge", lastName: "Antilles") { user { id } }
}`;
const PASSWORD = 'Kessel-Run-12-Parsecs';

describe('user sagas: a crash at any step is repaired by reconcile', () => {
  let stack: RunningStack;
  let dataDir: string;
  let acme: BootstrapResult;
  let adminJwt: string;
  let dbs: Record<'identity' | 'orgusers' | 'licensing', Connection>;
  const seats = async (org: string) =>
    (await dbs.licensing.collection<{ _id: string; used: Record<string, number> }>('license_state').findOne({ _id: org }))?.used ?? {};
  const profileOf = (email: string) => dbs.orgusers.collection('users').findOne({ emailNormalized: email });

  /** Nothing of the user is left anywhere: profile, credentials, assignment, claims. */
  async function expectNoTrace(userId: string, email: string) {
    expect(await dbs.orgusers.collection('users').countDocuments({ emailNormalized: email })).toBe(0);
    expect(await dbs.orgusers.collection('claims').countDocuments({ ownerId: userId })).toBe(0);
    expect(await dbs.identity.collection<{ _id: string }>('credentials').countDocuments({ _id: userId })).toBe(0);
    expect(await dbs.identity.collection('claims').countDocuments({ ownerId: userId })).toBe(0);
    expect(await dbs.licensing.collection('assignments').countDocuments({ userId })).toBe(0);
  }

  beforeAll(async () => {
    const started = await startTestStack();
    ({ stack, dataDir } = started);
    const prefix = started.options.databasePrefix ?? '';
    dbs = {
      identity: await openDatabase(stack, prefix, 'identity'),
      orgusers: await openDatabase(stack, prefix, 'orgusers'),
      licensing: await openDatabase(stack, prefix, 'licensing'),
    };
    acme = await bootstrapOrganization(dataDir, 'acme', ['--self-signup']);
    adminJwt = (await login(stack.gatewayUrl, 'acme', 'admin', ADMIN_PASSWORD)).jwt;
  });

  afterAll(async () => {
    for (const db of Object.values(dbs ?? {})) await db.close();
    await stack?.stop();
    if (!process.env.MONGODB_URI) removeDir(dataDir);
  });

  const createInput = (email: string, username: string) => ({
    user: { firstName: 'Han', lastName: 'Solo', email, credentials: { username, password: PASSWORD } },
    requestedLicenses: ['AUTHOR'],
    requestedGroups: ['DEFAULT'],
    requestedOriginGroup: 'DEFAULT',
  });
  const createUser = async (email: string, username: string) => {
    // A new login each time: the admin's session lives in identity, which some cases restart.
    adminJwt = (await login(stack.gatewayUrl, 'acme', 'admin', ADMIN_PASSWORD)).jwt;
    return gql(stack.gatewayUrl, CREATE, { input: createInput(email, username) }, bearer(adminJwt));
  };

  describe("D's createUser (org-users hosts the saga)", () => {
    for (const point of [
      'provision:after-profile',
      'provision:after-credentials',
      'provision:after-licenses',
      'provision:before-activate',
    ]) {
      it(`${point}: reconcile removes the marked profile and what it left; the email and username are free again; seats are back`, async () => {
        const org = acme.organization.id;
        const seatsBefore = await seats(org);
        const email = uniqueEmail('dcrash');
        const username = `d_${point.split(':')[1]!.replace('-', '_')}`;
        await crash(stack, 'org-users', point, async () => {
          const res = await createUser(email, username);
          expect(res.errors?.length, 'the client gets an error, not a hang').toBeGreaterThan(0);
        });
        const profile = await profileOf(email);
        expect(profile?.provisioningSince).toBeInstanceOf(Date);
        expect(profile?.sagaId).toMatch(/^[0-9a-f-]{36}$/);
        const userId = String(profile!._id);

        const report = await reconcile(dataDir);
        expect(report.orgUsers).toMatchObject({ removedProfiles: 1 });
        await expectNoTrace(userId, email);
        expect(await seats(org)).toEqual(seatsBefore);

        const again = await createUser(email, username);
        expect(again.errors).toBeUndefined();
        expect(again.data!.createUser.errors).toEqual([]);
        expect((await seats(org)).AUTHOR).toBe((seatsBefore.AUTHOR ?? 0) + 1);
      });
    }
  });

  describe("B's register (identity hosts the saga)", () => {
    for (const point of ['provision:after-profile', 'provision:after-credentials', 'provision:before-activate']) {
      it(`${point}: no session was issued, reconcile removes everything, and the email registers again`, async () => {
        const email = uniqueEmail('bcrash');
        await crash(stack, 'identity', point, async () => {
          const res = await gql(stack.gatewayUrl, REGISTER, { email }, { 'x-organization-slug': 'acme' });
          expect(res.errors?.length).toBeGreaterThan(0);
        });
        const profile = await profileOf(email);
        expect(profile?.provisioningSince).toBeInstanceOf(Date);
        const userId = String(profile!._id);
        // A half-created user cannot sign in (identity issues no session to a profile a saga holds).
        if (point !== 'provision:after-profile') {
          const res = await gql(
            stack.gatewayUrl,
            'mutation($email: String!) { login(organizationSlug: "acme", identifier: $email, password: "Rogue-Squadron-22") { jwt } }',
            { email },
          );
          expect(res.errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
          expect(res.data?.login ?? null).toBeNull();
        }

        await reconcile(dataDir);
        await expectNoTrace(userId, email);
        const again = await gql(stack.gatewayUrl, REGISTER, { email }, { 'x-organization-slug': 'acme' });
        expect(again.errors).toBeUndefined();
      });
    }
  });

  it("bootstrap's first admin (identity hosts the saga), provision:after-licenses: reconcile gives the ADMIN seat back and bootstrap runs again", async () => {
    await crash(stack, 'identity', 'provision:after-licenses', async () => {
      await expect(bootstrapOrganization(dataDir, 'crashco')).rejects.toThrow();
    });
    const profile = await profileOf('admin@crashco.test');
    expect(profile?.provisioningSince).toBeInstanceOf(Date);
    const org = String(profile!.organizationId);
    expect((await seats(org)).ADMIN).toBe(1);

    await reconcile(dataDir);
    await expectNoTrace(String(profile!._id), 'admin@crashco.test');
    expect((await seats(org)).ADMIN ?? 0).toBe(0);
    const again = await bootstrapOrganization(dataDir, 'crashco');
    expect(again.organization.id).toBe(org);
    expect((await seats(org)).ADMIN).toBe(1);
    expect((await login(stack.gatewayUrl, 'crashco', 'admin', ADMIN_PASSWORD)).jwt).toBeTruthy();
  });

  describe('a user a saga holds is listed by no search and edited by no one, until reconcile removes it', () => {
    const UPDATE = `mutation($input: UpdateUserInput!) { updateUser(input: $input) { errors { path message } user { id } } }`;
    const SEARCH = `query($q: String) { users(fullText: $q, first: 10) { totalCount nodes { id } } }`;
    const search = async (q: string) => (await gql(stack.gatewayUrl, SEARCH, { q }, bearer(adminJwt))).data!.users;

    for (const point of ['provision:before-activate', 'deprovision:after-licenses']) {
      it(`${point}: not in users(fullText), updateUser refused, no licenses given; reconcile removes it`, async () => {
        const email = uniqueEmail('pending');
        const username = `pend_${point.split(':')[0]!}`;
        let userId: string | undefined;
        if (point.startsWith('deprovision')) {
          const created = await createUser(email, username);
          userId = created.data!.createUser.user.id as string;
          expect(await search(email)).toEqual({ totalCount: 1, nodes: [{ id: userId }] });
        }
        await crash(stack, 'org-users', point, async () => {
          const res = userId ? await gql(stack.gatewayUrl, DELETE, { ids: [userId] }, bearer(adminJwt)) : await createUser(email, username);
          expect(res.errors?.length).toBeGreaterThan(0);
        });
        adminJwt = (await login(stack.gatewayUrl, 'acme', 'admin', ADMIN_PASSWORD)).jwt;
        const profile = await profileOf(email);
        expect(profile?.provisioningSince ?? profile?.deletingSince).toBeInstanceOf(Date);
        userId = String(profile!._id);

        // Neither by its email nor in the whole listing, and the count agrees with the nodes.
        expect(await search(email)).toEqual({ totalCount: 0, nodes: [] });
        const all = await search('');
        expect(all.nodes.map((n: { id: string }) => n.id)).not.toContain(userId);
        expect(all.totalCount).toBe(all.nodes.length);

        const update = await gql(
          stack.gatewayUrl,
          UPDATE,
          { input: { id: userId, user: { firstName: 'Lando' }, requestedLicenses: ['ANALYST'] } },
          bearer(adminJwt),
        );
        expect(update.errors).toBeUndefined();
        expect(update.data!.updateUser).toEqual({
          errors: [{ path: ['id'], message: 'is being changed concurrently: retry' }],
          user: null,
        });
        expect((await profileOf(email))?.firstName).toBe('Han');
        expect(await dbs.licensing.collection('assignments').countDocuments({ userId, licenses: 'ANALYST' })).toBe(0);

        await reconcile(dataDir);
        await expectNoTrace(userId, email);
      });
    }
  });

  describe("D's deleteUsers (org-users hosts the deletion saga)", () => {
    for (const point of ['deprovision:after-mark', 'deprovision:after-licenses', 'deprovision:after-credentials']) {
      it(`${point}: reconcile finishes the deletion; seats are back and the email and username are free`, async () => {
        const org = acme.organization.id;
        const seatsBefore = await seats(org);
        const email = uniqueEmail('delcrash');
        const username = `del_${point.split(':')[1]!.replace('-', '_')}`;
        const created = await createUser(email, username);
        const userId = created.data!.createUser.user.id as string;

        await crash(stack, 'org-users', point, async () => {
          const res = await gql(stack.gatewayUrl, DELETE, { ids: [userId] }, bearer(adminJwt));
          expect(res.errors?.length).toBeGreaterThan(0);
        });
        expect((await profileOf(email))?.deletingSince).toBeInstanceOf(Date);

        const report = await reconcile(dataDir);
        expect(report.orgUsers).toMatchObject({ deletedProfiles: 1, keptProfiles: 0 });
        await expectNoTrace(userId, email);
        expect(await seats(org)).toEqual(seatsBefore);
        const again = await createUser(email, username);
        expect(again.data!.createUser.errors).toEqual([]);
      });
    }
  });
});
