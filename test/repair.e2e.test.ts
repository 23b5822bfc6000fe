/**
 * A service is killed between the two writes of each crash window that
 * leaves a count wrong (issue 13); then `usergraph repair` recounts:
 * - licensing, a seat taken and the process killed before the assignment write;
 * - licensing, an assignment written and the process killed before the group's `$inc`;
 * - org-users, a search bucket written and the process killed before its head.
 */
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Connection } from 'mongoose';
import type { RunningStack, BootstrapResult } from '@usergraph/cli';
import { licensingCommands, orgUsersCommands } from '@usergraph/contracts';
import type { LicenseType } from '@usergraph/validation';
import { createInternalClient } from '@usergraph/service-kit';
import { bootstrapOrganization, cli, crash, openDatabase, removeDir, startTestStack, uniqueEmail } from './support/stack.js';

describe('usergraph repair after a crash between two writes', () => {
  let stack: RunningStack;
  let dataDir: string;
  let acme: BootstrapResult;
  let dbs: Record<'orgusers' | 'licensing', Connection>;
  const repair = async () => JSON.parse(await cli(dataDir, 'repair', '--json'));

  beforeAll(async () => {
    const started = await startTestStack();
    ({ stack, dataDir } = started);
    const prefix = started.options.databasePrefix ?? '';
    dbs = { orgusers: await openDatabase(stack, prefix, 'orgusers'), licensing: await openDatabase(stack, prefix, 'licensing') };
    acme = await bootstrapOrganization(dataDir, 'acme');
  });

  afterAll(async () => {
    for (const db of Object.values(dbs ?? {})) await db.close();
    await stack?.stop();
    if (!process.env.MONGODB_URI) removeDir(dataDir);
  });

  it('recounts group members, seats and search heads, reports each change, and a second run changes nothing', async () => {
    const org = acme.organization.id;
    const secret = stack.secrets.INTERNAL_SERVICE_SECRET;
    const licensing = () => createInternalClient({ from: 'org-users', to: 'licensing', baseUrl: stack.urls.licensing, secret });
    const orgUsers = () => createInternalClient({ from: 'identity', to: 'org-users', baseUrl: stack.urls['org-users'], secret });
    const assign = async (userId: string, licenses: LicenseType[]) => {
      const client = licensing();
      try {
        return await client.call(licensingCommands.assignLicenses, {
          organizationId: org,
          userId,
          requestedLicenses: licenses,
          requestedGroups: ['DEFAULT'],
        });
      } finally {
        await client.close();
      }
    };
    const state = async () =>
      (await dbs.licensing.collection<{ _id: string; used: Record<string, number> }>('license_state').findOne({ _id: org }))!.used;
    const members = async () =>
      (await dbs.licensing.collection('groups').findOne({ organizationId: org, name: 'DEFAULT' }))!.memberCount as number;
    const head = async () =>
      (await dbs.orgusers.collection<{ _id: string; n: number }>('user_search_heads').findOne({ _id: `${org}:` }))!.n;

    const defaultMembers = await members();
    const analysts = (await state()).ANALYST ?? 0;
    const authors = (await state()).AUTHOR ?? 0;
    const profiles = await dbs.orgusers.collection('users').countDocuments({ organizationId: org });
    expect(await head()).toBe(profiles);

    // Seat taken, killed before the assignment write: one ANALYST seat used by nobody.
    await crash(stack, 'licensing', 'assign:after-seats', async () => {
      await expect(assign(randomBytes(12).toString('hex'), ['ANALYST'])).rejects.toThrow();
    });
    expect((await state()).ANALYST).toBe(analysts + 1);
    // Assignment written, killed before the group's $inc: DEFAULT one member short.
    await crash(stack, 'licensing', 'assign:after-assignment', async () => {
      await expect(assign(randomBytes(12).toString('hex'), ['AUTHOR'])).rejects.toThrow();
    });
    expect(await members()).toBe(defaultMembers);
    expect((await state()).AUTHOR).toBe(authors + 1);
    // Search buckets written, killed before their heads: the organization's list one short.
    await crash(stack, 'org-users', 'search:after-buckets', async () => {
      const client = orgUsers();
      try {
        await expect(
          client.call(orgUsersCommands.createProfile, {
            userId: randomBytes(12).toString('hex'),
            organizationId: org,
            email: uniqueEmail('repair'),
            firstName: 'Grace',
            lastName: 'Hopper',
            status: 'ACTIVE',
          }),
        ).rejects.toThrow();
      } finally {
        await client.close();
      }
    });
    expect(await dbs.orgusers.collection('users').countDocuments({ organizationId: org })).toBe(profiles + 1);
    expect(await head()).toBe(profiles);

    const report = await repair();
    expect(report.licensing.groups).toEqual([{ organizationId: org, name: 'DEFAULT', from: defaultMembers, to: defaultMembers + 1 }]);
    expect(report.licensing.seats).toEqual([{ organizationId: org, license: 'ANALYST', from: analysts + 1, to: analysts }]);
    expect(report.orgUsers.changed).toEqual([{ organizationId: org, buckets: 0, heads: expect.any(Number) }]);
    expect(report.orgUsers.changed[0].heads).toBeGreaterThan(0);
    expect(await members()).toBe(defaultMembers + 1);
    expect((await state()).ANALYST).toBe(analysts);
    expect(await head()).toBe(profiles + 1);

    const again = await repair();
    expect(again).toMatchObject({
      licensing: { groups: [], seats: [], skipped: 0 },
      orgUsers: { bucketsRewritten: 0, headsRecounted: 0, skipped: 0, changed: [] },
    });
  });
});
