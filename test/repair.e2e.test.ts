/**
 * A service is killed between the two writes of each crash window that
 * leaves a count wrong (issue 13); then `usergraph repair` recounts:
 * - licensing, a seat taken and the process killed before the assignment write;
 * - licensing, an assignment written and the process killed before the group's `$inc`;
 * - org-users, a search bucket written and the process killed before its head.
 */
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Connection } from 'mongoose';
import type { RunningStack, BootstrapResult } from '@usergraph/cli';
import { licensingCommands, orgUsersCommands } from '@usergraph/contracts';
import type { LicenseType } from '@usergraph/validation';
import { createInternalClient } from '@usergraph/service-kit';
import { repoRoot } from '@usergraph/embedded-store';
import { bootstrapOrganization, openDatabase, removeDir, startTestStack, uniqueEmail } from './support/stack.js';

describe('usergraph repair after a crash between two writes', () => {
  let stack: RunningStack;
  let dataDir: string;
  let acme: BootstrapResult;
  let dbs: Record<'orgusers' | 'licensing', Connection>;
  // The stack reads these at each (re)start: a test sets a fault point, then restarts the service.
  const serviceEnv: Record<'licensing' | 'org-users', Record<string, string>> = { licensing: {}, 'org-users': {} };

  const repair = async () =>
    JSON.parse(
      (
        await promisify(execFile)(process.execPath, [join(repoRoot(), 'apps/cli/dist/main.js'), 'repair', '--json'], {
          env: { ...process.env, USERGRAPH_DATA_DIR: dataDir },
        })
      ).stdout,
    );
  /** Restarts `name` with the fault point, runs `write` (which the crash fails), waits for the process to be gone, restarts it clean. */
  const crash = async (name: 'licensing' | 'org-users', point: string, write: () => Promise<unknown>) => {
    serviceEnv[name].FAULT_INJECTION = point;
    await stack.restart(name);
    await expect(write()).rejects.toThrow();
    for (let i = 0; i < 100 && stack.pid(name) !== undefined; i++) await new Promise((r) => setTimeout(r, 50));
    expect(stack.pid(name)).toBeUndefined();
    delete serviceEnv[name].FAULT_INJECTION;
    await stack.restart(name);
  };

  beforeAll(async () => {
    const started = await startTestStack({ serviceEnv });
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
    const assign = (userId: string, licenses: LicenseType[]) => async () => {
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
    await crash('licensing', 'assign:after-seats', assign(randomBytes(12).toString('hex'), ['ANALYST']));
    expect((await state()).ANALYST).toBe(analysts + 1);
    // Assignment written, killed before the group's $inc: DEFAULT one member short.
    await crash('licensing', 'assign:after-assignment', assign(randomBytes(12).toString('hex'), ['AUTHOR']));
    expect(await members()).toBe(defaultMembers);
    expect((await state()).AUTHOR).toBe(authors + 1);
    // Search buckets written, killed before their heads: the organization's list one short.
    await crash('org-users', 'search:after-buckets', async () => {
      const client = orgUsers();
      try {
        return await client.call(orgUsersCommands.createProfile, {
          userId: randomBytes(12).toString('hex'),
          organizationId: org,
          email: uniqueEmail('repair'),
          firstName: 'Grace',
          lastName: 'Hopper',
          status: 'ACTIVE',
        });
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
