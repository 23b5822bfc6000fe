/** Uniqueness under contention: the claims pattern lets exactly one registration win. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Connection } from 'mongoose';
import type { RunningStack } from '@usergraph/cli';
import { B_REGISTER, realisticRegisterVariables } from './support/seed-operations.js';
import { gql, openDatabase, removeDir, startTestStack, uniqueEmail } from './support/stack.js';

describe('concurrent registrations', () => {
  let stack: RunningStack;
  let dataDir: string;
  let orgUsersDb: Connection;
  let identityDb: Connection;

  beforeAll(async () => {
    const started = await startTestStack();
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

  it('20 concurrent registers with one email create exactly one user', async () => {
    const email = uniqueEmail('race');
    const credentialsBefore = await identityDb.collection('credentials').countDocuments();
    const results = await Promise.all(
      Array.from({ length: 20 }, (_, i) =>
        // Distinct phones, so only the email collides.
        gql(stack.gatewayUrl, B_REGISTER, { ...realisticRegisterVariables(email), telephone: `+1 514 555 01${String(i).padStart(2, '0')}` }),
      ),
    );
    const winners = results.filter((r) => !r.errors);
    const losers = results.filter((r) => r.errors);
    expect(winners).toHaveLength(1);
    expect(losers).toHaveLength(19);
    for (const l of losers) expect(l.errors![0]!.extensions?.code).toBe('CONFLICT');
    expect(await orgUsersDb.collection('users').countDocuments({ emailNormalized: email })).toBe(1);
    // Losers leave no orphan credentials behind.
    expect(await identityDb.collection('credentials').countDocuments()).toBe(credentialsBefore + 1);
  });
});
