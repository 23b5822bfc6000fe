import type mongoose from 'mongoose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectDatabase, startExpiry, withIdempotencyKey } from '@usergraph/mongo';
import { startTestStore, uniqueDatabaseName, type EmbeddedStore } from '@usergraph/mongo/testing';
import { createLogger, createSecretBox, generateEncryptionKey } from '@usergraph/service-kit';
import { createSessionRepository, type NewSession } from './sessions/session-repository.js';
import { codeId, createVerificationCodeRepository } from './verification/verification-code-repository.js';
import { createOutbox } from './verification/notifier.js';
import { createRateLimiterFactory } from './limits/rate-limits.js';
import { createSigningKeys } from './keys/signing-keys.js';
import { identityExpiringCollections } from './expiring-collections.js';

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const silent = createLogger({ service: 'identity-test', level: 'silent' });

describe.skipIf(!!process.env.MONGODB_URI)("identity's expired records are deleted by the sweeper (embedded store)", () => {
  let store: EmbeddedStore;
  let conn: mongoose.Connection;
  beforeAll(async () => {
    store = await startTestStore();
    conn = await connectDatabase({ uri: store.uri, dbName: uniqueDatabaseName('expiring'), appName: 'identity-test' });
  });
  afterAll(async () => {
    await conn?.close();
    await store?.stop();
  });

  const ids = async (collection: string) =>
    (
      await conn
        .db!.collection<{ _id: string }>(collection)
        .find({}, { projection: { _id: 1 } })
        .toArray()
    )
      .map((d) => d._id)
      .sort();

  it('each kind: what expired is gone after a pass, what has not stays (sessions, codes, limits, outbox, idempotency keys, signing keys)', async () => {
    const start = Date.now();
    // Sessions: one whose refresh expires in 5 minutes (revoked or not, it goes), one in an hour.
    const sessions = createSessionRepository(conn);
    const session = (id: string, refreshInMs: number): NewSession => ({
      _id: id,
      organizationId: 'org1',
      userId: `user-${id}`,
      familyId: id,
      refreshTokenHash: 'h',
      refreshExpiresAt: new Date(start + refreshInMs),
      accessExpiresAt: new Date(start + MINUTE),
    });
    await sessions.insertLogin(session('short', 5 * MINUTE), new Date(start));
    await sessions.insertLogin(session('short-revoked', 5 * MINUTE), new Date(start));
    await sessions.revokeForUser('org1', 'user-short-revoked', new Date(start));
    await sessions.insertLogin(session('long', HOUR), new Date(start));
    // Its refresh token expires 30 s before the sweep, but an access token issued with it may live a minute more.
    await sessions.insertLogin(session('grace', 10 * MINUTE - 30_000), new Date(start));
    // Codes: 5 minutes and an hour to live.
    const codes = createVerificationCodeRepository(conn);
    const code = (userId: string, inMs: number) =>
      codes.put({
        _id: codeId('email-verification', 'org1', userId),
        organizationId: 'org1',
        userId,
        purpose: 'email-verification',
        codeHash: 'h',
        attempts: 0,
        expiresAt: new Date(start + inMs),
        createdAt: new Date(start),
      });
    await code('u-short', 5 * MINUTE);
    await code('u-long', HOUR);
    // Limits: a one-minute window and a one-hour window.
    const limits = createRateLimiterFactory(conn);
    await limits.limiter('minute', { points: 5, windowSeconds: 60 }).consume('k', 'too many');
    await limits.limiter('hour', { points: 5, windowSeconds: 3600 }).consume('k', 'too many');
    // Outbox (retention 15 minutes here): a message from 20 minutes ago and one sent now.
    const outbox = createOutbox(conn, { deliver: false });
    const old = {
      _id: 'old-message',
      organizationId: '',
      to: 'a@example.ca',
      subject: 's',
      text: 't',
      createdAt: new Date(start - 20 * MINUTE),
    };
    await outbox.Outbox.create(old);
    await outbox.send({ to: 'b@example.ca', subject: 's', text: 't' });
    // An Idempotency-Key record (24 h) and the first signing key (1-hour periods: kept 3 hours).
    await withIdempotencyKey(
      conn,
      { key: 'k1', scope: 'register', caller: 'anonymous', fingerprint: () => 'f', logger: silent },
      async () => 'done',
    );
    await createSigningKeys({ conn, box: createSecretBox(generateEncryptionKey()), rotationHours: 1, issuer: 'i', audience: 'a' }).jwks();

    const collections = identityExpiringCollections({
      ACCESS_TOKEN_TTL_SECONDS: 60,
      OUTBOX_RETENTION_SECONDS: 15 * 60,
      SIGNING_KEY_ROTATION_HOURS: 1,
    });
    const sweepAt = async (at: number) => {
      const expiry = await startExpiry(conn, collections, { intervalMs: 24 * HOUR, logger: silent, now: () => new Date(at) });
      try {
        return await expiry.sweepOnce();
      } finally {
        await expiry.stop();
      }
    };

    const before = {
      sessions: await ids('sessions'),
      verification_codes: await ids('verification_codes'),
      rate_limits: await ids('rate_limits'),
      outbox: (await ids('outbox')).length,
      idempotency_keys: await ids('idempotency_keys'),
      signing_keys: await ids('signing_keys'),
    };
    expect(before.sessions).toEqual(['grace', 'long', 'short', 'short-revoked']);
    expect(before.outbox).toBe(2);

    // Ten minutes on: the short-lived ones are gone.
    expect(await sweepAt(start + 10 * MINUTE)).toEqual({
      sessions: 2,
      verification_codes: 1,
      outbox: 1,
      rate_limits: 1,
      idempotency_keys: 0,
      signing_keys: 0,
    });
    expect(await ids('sessions')).toEqual(['grace', 'long']);
    expect(await ids('verification_codes')).toEqual([codeId('email-verification', 'org1', 'u-long')]);
    expect(await ids('rate_limits')).toEqual(['hour:k']);
    expect(await ids('outbox')).not.toContain('old-message');
    expect((await ids('outbox')).length).toBe(1);
    expect(await ids('idempotency_keys')).toEqual(before.idempotency_keys);
    expect(await ids('signing_keys')).toEqual(before.signing_keys);
    // The live session still works for its user.
    expect((await sessions.listActiveForUser('org1', 'user-long', new Date())).map((s) => s._id)).toEqual(['long']);

    // A day and more on: everything here has expired.
    expect(await sweepAt(start + 25 * HOUR)).toEqual({
      sessions: 2,
      verification_codes: 1,
      outbox: 1,
      rate_limits: 1,
      idempotency_keys: 1,
      signing_keys: 1,
    });
    for (const collection of Object.keys(before)) expect(await ids(collection)).toEqual([]);
  });
});
