import type mongoose from 'mongoose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '@usergraph/service-kit';
import { claim, claimAll, claimKey, findClaimOwner, releaseClaim, releaseStaleClaims } from './claims.js';
import { connectDatabase } from './connection.js';
import type { EmbeddedStore } from './testing.js';
import { startTestStore, uniqueDatabaseName } from './testing.js';

const logger = createLogger({ service: 'mongo-test', level: 'silent' });

describe('claims', () => {
  let store: EmbeddedStore;
  let conn: mongoose.Connection;
  beforeAll(async () => {
    store = await startTestStore();
    conn = await connectDatabase({ uri: store.uri, dbName: uniqueDatabaseName('claims'), appName: 'mongo-test' });
  });
  afterAll(async () => {
    await conn?.close();
    await store?.stop();
  });

  it('builds keys', () => {
    expect(claimKey('email', 'org1', 'a@b.c')).toBe('email:org1:a@b.c');
  });

  it('lets exactly one of 20 concurrent owners claim a value', async () => {
    const results = await Promise.all(
      Array.from({ length: 20 }, (_, i) =>
        claim(conn, { kind: 'email', organizationId: 'org1', value: 'race@example.com', ownerId: `user${i}` }),
      ),
    );
    expect(results.filter((r) => r === 'claimed')).toHaveLength(1);
    const winner = `user${results.indexOf('claimed')}`;
    expect(await findClaimOwner(conn, 'email', 'org1', 'race@example.com')).toBe(winner);
  });

  it('is idempotent for the same owner and scoped by organization', async () => {
    const c = { kind: 'email', organizationId: 'org2', value: 'same@example.com', ownerId: 'u1' };
    expect(await claim(conn, c)).toBe('claimed');
    expect(await claim(conn, c)).toBe('claimed');
    expect(await claim(conn, { ...c, ownerId: 'u2' })).toBe('taken');
    expect(await claim(conn, { ...c, organizationId: 'org3', ownerId: 'u2' })).toBe('claimed');
  });

  it('releases only the owner’s claim', async () => {
    const c = { kind: 'username', organizationId: 'org1', value: 'neo', ownerId: 'u1' };
    expect(await claim(conn, c)).toBe('claimed');
    expect(await releaseClaim(conn, { ...c, ownerId: 'u2' })).toBe(false);
    expect(await findClaimOwner(conn, 'username', 'org1', 'neo')).toBe('u1');
    expect(await releaseClaim(conn, c)).toBe(true);
    expect(await findClaimOwner(conn, 'username', 'org1', 'neo')).toBeNull();
    expect(await claim(conn, { ...c, ownerId: 'u2' })).toBe('claimed');
  });

  it('claimAll rolls back what it claimed when one value is taken', async () => {
    await claim(conn, { kind: 'phone', organizationId: 'o', value: '+100', ownerId: 'other' });
    const res = await claimAll(
      conn,
      [
        { kind: 'email', organizationId: 'o', value: 'x@example.com', ownerId: 'me' },
        { kind: 'username', organizationId: 'o', value: 'me', ownerId: 'me' },
        { kind: 'phone', organizationId: 'o', value: '+100', ownerId: 'me' },
      ],
      logger,
    );
    expect(res).toEqual({ ok: false, takenKind: 'phone' });
    expect(await findClaimOwner(conn, 'email', 'o', 'x@example.com')).toBeNull();
    expect(await findClaimOwner(conn, 'username', 'o', 'me')).toBeNull();
    expect(await findClaimOwner(conn, 'phone', 'o', '+100')).toBe('other');

    const ok = await claimAll(
      conn,
      [
        { kind: 'email', organizationId: 'o', value: 'x@example.com', ownerId: 'me' },
        { kind: 'username', organizationId: 'o', value: 'me', ownerId: 'me' },
      ],
      logger,
    );
    expect(ok).toEqual({ ok: true });
    expect(await findClaimOwner(conn, 'username', 'o', 'me')).toBe('me');
  });

  it('finding 8f: reconcile releases stale claims their owner does not hold, and keeps held and recent ones', async () => {
    const held = { kind: 'email', organizationId: 'org-stale', value: 'held@example.com', ownerId: 'u-held' };
    const orphan = { kind: 'email', organizationId: 'org-stale', value: 'orphan@example.com', ownerId: 'u-gone' };
    for (const c of [held, orphan]) await claim(conn, c);
    const cutoff = new Date(Date.now() + 1000);
    const recent = { kind: 'email', organizationId: 'org-stale', value: 'recent@example.com', ownerId: 'u-in-flight' };
    await new Promise((r) => setTimeout(r, 1100));
    await claim(conn, recent);
    const released = await releaseStaleClaims(
      conn,
      ['email'],
      cutoff,
      async (org, claims) => new Set(claims.filter((c) => org !== 'org-stale' || c.ownerId === 'u-held')),
    );
    expect(released).toBe(1);
    expect(await findClaimOwner(conn, 'email', 'org-stale', 'orphan@example.com')).toBeNull();
    expect(await findClaimOwner(conn, 'email', 'org-stale', 'held@example.com')).toBe('u-held');
    expect(await findClaimOwner(conn, 'email', 'org-stale', 'recent@example.com')).toBe('u-in-flight');
  });
});
