import mongoose from 'mongoose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLocalJWKSet, decodeProtectedHeader, jwtVerify } from 'jose';
import { startTestStore, uniqueDatabaseName } from '@usergraph/mongo/testing';
import { createSecretBox, generateEncryptionKey } from '@usergraph/service-kit';
import type { EmbeddedStore } from '@usergraph/mongo/testing';
import { createSigningKeys } from './signing-keys.js';

describe('signing key rotation', () => {
  let store: EmbeddedStore;
  let conn: mongoose.Connection;
  const HOUR = 3_600_000;

  beforeAll(async () => {
    store = await startTestStore();
    conn = await mongoose.createConnection(store.uri, { dbName: uniqueDatabaseName('keys') }).asPromise();
  });
  afterAll(async () => {
    await conn?.close();
    await store?.stop();
  });

  it('publishes the current and the previous key, so a token signed before a rotation still verifies', async () => {
    // Five minutes before a period boundary, so the first token is still live after the rotation.
    let clock = Date.UTC(2026, 10, 23, 10, 55);
    const keys = createSigningKeys({
      conn,
      box: createSecretBox(generateEncryptionKey()),
      rotationHours: 1,
      issuer: 'usergraph',
      audience: 'usergraph',
      now: () => clock,
    });
    const before = await keys.sign({ sub: 'u1', org: 'o1', typ: 'user', sid: 's1' }, 900);
    expect((await keys.jwks()).keys).toHaveLength(1);

    clock += 10 * 60_000; // 11:05, the next period: a new current key
    const after = await keys.sign({ sub: 'u1', org: 'o1', typ: 'user', sid: 's2' }, 900);
    const jwks = await keys.jwks();
    expect(jwks.keys).toHaveLength(2);
    expect(decodeProtectedHeader(after.token).kid).not.toBe(decodeProtectedHeader(before.token).kid);
    expect(jwks.keys.map((k) => k.kid)).toEqual([decodeProtectedHeader(after.token).kid, decodeProtectedHeader(before.token).kid]);
    // Public keys only.
    for (const k of jwks.keys) expect(k).not.toHaveProperty('d');

    const set = createLocalJWKSet(jwks);
    const options = { issuer: 'usergraph', audience: 'usergraph', currentDate: new Date(clock) };
    await expect(jwtVerify(before.token, set, options)).resolves.toBeTruthy();
    await expect(jwtVerify(after.token, set, options)).resolves.toBeTruthy();

    clock += HOUR; // two periods on: the first key leaves the JWKS
    await keys.sign({ sub: 'u1', org: 'o1', typ: 'user', sid: 's3' }, 900);
    expect((await keys.jwks()).keys.map((k) => k.kid)).not.toContain(decodeProtectedHeader(before.token).kid);
  });

  it('stores private keys sealed, never in the clear', async () => {
    const docs = await conn.collection('signing_keys').find().toArray();
    expect(docs.length).toBeGreaterThan(0);
    for (const d of docs) {
      expect(JSON.stringify(d)).not.toMatch(/"d":/);
      expect(d.sealedPrivateJwk).toMatch(/^v1\./);
    }
  });
});
