import type mongoose from 'mongoose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectDatabase, type EmbeddedStore } from '@usergraph/mongo';
import { recordFilters, startTestStore, uniqueDatabaseName } from '@usergraph/mongo/testing';
import { createSessionRepository, type SessionRepository } from './session-repository.js';

describe('session repository', () => {
  let store: EmbeddedStore;
  let conn: mongoose.Connection;
  let sessions: SessionRepository;
  let n = 0;
  const newSession = () => {
    const id = `s${Date.now().toString(16)}${(n++).toString(16)}`;
    const hour = new Date(Date.now() + 3_600_000);
    return sessions.insert({ _id: id, organizationId: 'org1', userId: 'u1', familyId: id, refreshTokenHash: 'h', refreshExpiresAt: hour, accessExpiresAt: hour });
  };

  beforeAll(async () => {
    store = await startTestStore();
    conn = await connectDatabase({ uri: store.uri, dbName: uniqueDatabaseName('sessions'), appName: 'identity-test' });
    sessions = createSessionRepository(conn);
  });
  afterAll(async () => {
    await conn?.close();
    await store?.stop();
  });

  it('markRotated: of 20 concurrent calls exactly one wins, by _id only', async () => {
    const { _id } = await newSession();
    const recorder = recordFilters(conn, ['sessions']);
    const results = await Promise.all(Array.from({ length: 20 }, () => sessions.markRotated(_id, new Date())));
    recorder.stop();
    expect(results.filter(Boolean)).toHaveLength(1);
    expect(recorder.scans()).toEqual([]);
    expect((await sessions.findById(_id))?.rotatedAt).toBeInstanceOf(Date);
  });

  it('markRotated: a revoked or unknown session does not rotate', async () => {
    const { _id } = await newSession();
    expect(await sessions.revokeOne('org1', 'u1', _id, new Date())).toBe(true);
    expect(await sessions.markRotated(_id, new Date())).toBe(false);
    expect(await sessions.markRotated('no-such-session', new Date())).toBe(false);
  });

  it('revokeOne: exactly one of 20 concurrent calls revokes; another user or tenant gets false', async () => {
    const { _id } = await newSession();
    expect(await sessions.revokeOne('org2', 'u1', _id, new Date())).toBe(false);
    expect(await sessions.revokeOne('org1', 'u2', _id, new Date())).toBe(false);
    expect((await sessions.findById(_id))?.revokedAt).toBeUndefined();
    const recorder = recordFilters(conn, ['sessions']);
    const results = await Promise.all(Array.from({ length: 20 }, () => sessions.revokeOne('org1', 'u1', _id, new Date())));
    recorder.stop();
    expect(results.filter(Boolean)).toHaveLength(1);
    expect(recorder.scans()).toEqual([]);
  });
});
