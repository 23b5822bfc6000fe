/**
 * Issue 13, "Expiry that deletes": identity and org-users delete what has
 * expired, on the embedded store by their sweepers (a short
 * EXPIRY_SWEEP_INTERVAL_SECONDS here), on MongoDB by TTL indexes.
 */
import type { Connection } from 'mongoose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningStack } from '@usergraph/cli';
import { ADMIN_PASSWORD, bootstrapOrganization, gql, login, openDatabase, removeDir, startTestStack } from './support/stack.js';

const REFRESH = `mutation($t: String!) { refreshSession(refreshToken: $t) { _id jwt refreshToken } }`;
const EMBEDDED = !process.env.MONGODB_URI;
/** Sessions' refresh tokens live 3 seconds in this stack, access tokens 1 (a session is kept until both have expired). */
const REFRESH_SECONDS = 3;

describe("the services' sweepers delete expired records", () => {
  let stack: RunningStack;
  let dataDir: string;
  let prefix: string;
  let identityDb: Connection;
  let orgUsersDb: Connection;

  beforeAll(async () => {
    let options;
    ({ stack, dataDir, options } = await startTestStack({
      env: {
        LOG_LEVEL: 'info',
        EXPIRY_SWEEP_INTERVAL_SECONDS: '0.5',
        REFRESH_TOKEN_TTL_DAYS: String(REFRESH_SECONDS / 86_400),
        ACCESS_TOKEN_TTL_SECONDS: '1',
      },
    }));
    prefix = options.databasePrefix ?? '';
    await bootstrapOrganization(dataDir, 'expiry');
    identityDb = await openDatabase(stack, prefix, 'identity');
    orgUsersDb = await openDatabase(stack, prefix, 'orgusers');
  });

  afterAll(async () => {
    await identityDb?.close();
    await orgUsersDb?.close();
    await stack?.stop();
    if (!process.env.MONGODB_URI) removeDir(dataDir);
  });

  const title =
    'identity deletes a session once its tokens have expired; org-users deletes an expired Idempotency-Key record and keeps a live one';
  it.skipIf(!EMBEDDED)(title, async () => {
    const session = await login(stack.gatewayUrl, 'expiry', 'admin', ADMIN_PASSWORD);
    const sessions = identityDb.collection<{ _id: string }>('sessions');
    expect(await sessions.countDocuments({ _id: session._id })).toBe(1);

    const keys = orgUsersDb.collection<{ _id: string; expiresAt: Date }>('idempotency_keys');
    await keys.insertMany([
      { _id: 'e2e:expired', expiresAt: new Date(Date.now() - 1000) },
      { _id: 'e2e:live', expiresAt: new Date(Date.now() + 3_600_000) },
    ]);

    await expect.poll(() => sessions.countDocuments({ _id: session._id }), { timeout: 25_000, interval: 250 }).toBe(0);
    // An idle collection is read every 17 passes at most (8.5 s here).
    await expect.poll(() => keys.countDocuments({ _id: 'e2e:expired' }), { timeout: 15_000, interval: 250 }).toBe(0);
    expect(await keys.countDocuments({ _id: 'e2e:live' })).toBe(1);
    // Its refresh token is refused, as it was before the deletion.
    const refreshed = await gql(stack.gatewayUrl, REFRESH, { t: session.refreshToken });
    expect(refreshed.data?.refreshSession ?? null).toBeNull();
    expect(refreshed.errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
    // And a new login still works.
    expect((await login(stack.gatewayUrl, 'expiry', 'admin', ADMIN_PASSWORD)).jwt).toBeTruthy();
  });

  it.skipIf(EMBEDDED)('on MongoDB: TTL indexes on the expiring fields', async () => {
    const ttl = async (db: Connection, collection: string, field: string) =>
      (await db.collection(collection).indexes()).find((i) => i.key[field] === 1)?.expireAfterSeconds;
    expect(await ttl(identityDb, 'sessions', 'refreshExpiresAt')).toBe(0);
    expect(await ttl(identityDb, 'rate_limits', 'expire')).toBe(0);
    expect(await ttl(identityDb, 'outbox', 'createdAt')).toBe(24 * 3600);
    expect(await ttl(orgUsersDb, 'idempotency_keys', 'expiresAt')).toBe(0);
  });
});
