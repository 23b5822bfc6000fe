/** Uniqueness under contention: the claims pattern lets exactly one registration win. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Connection } from 'mongoose';
import type { RunningStack } from '@usergraph/cli';
import { B_REGISTER, realisticRegisterVariables } from './support/seed-operations.js';
import {
  applicationToken,
  bearer,
  bootstrapOrganization,
  gql,
  openDatabase,
  removeDir,
  startTestStack,
  uniqueEmail,
} from './support/stack.js';

describe('concurrent registrations', () => {
  let stack: RunningStack;
  let dataDir: string;
  let orgUsersDb: Connection;
  let identityDb: Connection;

  beforeAll(async () => {
    // 50 at once would overflow the bounded hash queue (HASH_QUEUE_MAX, shed with RATE_LIMITED);
    // this suite is about the uniqueness race, so every register must reach it.
    const started = await startTestStack({ serviceEnv: { identity: { HASH_QUEUE_MAX: '100' } } });
    stack = started.stack;
    dataDir = started.dataDir;
    orgUsersDb = await openDatabase(stack, started.options.databasePrefix ?? '', 'orgusers');
    identityDb = await openDatabase(stack, started.options.databasePrefix ?? '', 'identity');
  });

  afterAll(async () => {
    await orgUsersDb?.close();
    await identityDb?.close();
    await stack?.stop();
    if (!process.env.MONGODB_URI) removeDir(dataDir);
  });

  it('50 concurrent registers with one email create exactly one user', async () => {
    const email = uniqueEmail('race');
    const credentialsBefore = await identityDb.collection('credentials').countDocuments();
    const results = await Promise.all(
      Array.from({ length: 50 }, (_, i) =>
        // Distinct phones, so only the email collides.
        gql(stack.gatewayUrl, B_REGISTER, {
          ...realisticRegisterVariables(email),
          telephone: `+1 514 555 01${String(i).padStart(2, '0')}`,
        }),
      ),
    );
    const winners = results.filter((r) => !r.errors);
    const losers = results.filter((r) => r.errors);
    expect(winners).toHaveLength(1);
    expect(losers).toHaveLength(49);
    for (const l of losers) expect(l.errors![0]!.extensions?.code).toBe('CONFLICT');
    expect(await orgUsersDb.collection('users').countDocuments({ emailNormalized: email })).toBe(1);
    // Losers leave no orphan credentials behind.
    expect(await identityDb.collection('credentials').countDocuments()).toBe(credentialsBefore + 1);
  });

  it('50 concurrent registers with one phone number create exactly one user', async () => {
    const phone = '+1 514 555 0199';
    const emails = Array.from({ length: 50 }, (_, i) => uniqueEmail(`phone${i}`));
    const results = await Promise.all(
      emails.map((email) => gql(stack.gatewayUrl, B_REGISTER, { ...realisticRegisterVariables(email), telephone: phone })),
    );
    expect(results.filter((r) => !r.errors)).toHaveLength(1);
    for (const l of results.filter((r) => r.errors))
      expect(l.errors![0]!.extensions?.fields).toEqual([{ path: 'phoneNumber', message: 'is already in use' }]);
    expect(await orgUsersDb.collection('users').countDocuments({ phoneNumber: '+15145550199' })).toBe(1);
  });

  it('50 concurrent createUser calls with one username create exactly one user, and leave no orphan profile', async () => {
    const acme = await bootstrapOrganization(dataDir, 'racers');
    const token = await applicationToken(stack.gatewayUrl, acme.application.clientId, acme.application.clientSecret);
    const CREATE = 'mutation($input: CreateUserInput!) { createUser(input: $input) { errors { path message } user { id } } }';
    const results = await Promise.all(
      Array.from({ length: 50 }, (_, i) =>
        gql(
          stack.gatewayUrl,
          CREATE,
          {
            input: {
              user: {
                firstName: 'Wedge',
                lastName: 'Antilles',
                email: uniqueEmail(`wedge${i}`),
                credentials: { username: 'red_two', password: 'Rogue-Squadron-22' },
              },
            },
          },
          bearer(token),
        ),
      ),
    );
    const created = results.filter((r) => r.data?.createUser.user);
    expect(created).toHaveLength(1);
    for (const r of results.filter((r) => !r.data?.createUser.user)) {
      expect(r.data!.createUser.errors).toEqual([{ path: ['user', 'credentials', 'username'], message: 'is already in use' }]);
    }
    expect(await identityDb.collection('credentials').countDocuments({ username: 'red_two' })).toBe(1);
    // Every loser's profile was undone.
    expect(await orgUsersDb.collection('users').countDocuments({ organizationId: acme.organization.id, firstName: 'Wedge' })).toBe(1);
  });
});
